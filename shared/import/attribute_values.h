// The grammars of web.config attribute values, as IIS and ANCM read them, and their sitehost
// spellings. Pure functions; no XML involved.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sitehost::import_detail {

// "true" or "false", case-insensitive (IIS's booleans).
std::optional<bool> parse_bool(std::string_view text);

// Decimal digits only (no sign, no spaces), at most `max`.
std::optional<uint64_t> parse_count(std::string_view text, uint64_t max);

// A TimeSpan as IIS writes it: "[D.]H:MM:SS" ("00:02:00", "1.00:00:00"). No fractions.
std::optional<std::chrono::milliseconds> parse_timespan(std::string_view text);

// The first "%NAME%" in `text` (an environment-variable reference that IIS expands, or a
// Visual Studio placeholder such as %LAUNCHER_PATH%), or empty.
std::string_view find_placeholder(std::string_view text);

// A path from a web.config as a POSIX path: backslashes become slashes and a leading "./" goes
// (".\logs\stdout" → "logs/stdout"). nullopt for a Windows absolute path ("C:\app", "\\host\x",
// "\app"), which means nothing on Linux.
std::optional<std::string> posix_path(std::string_view text);

// "dotnet" or "dotnet.exe" in any case: the .NET host, which sitehost finds on PATH.
bool is_dotnet_host(std::string_view path);

// "app.dll" → "app", "App.EXE" → "App": the file name without its extension and folders.
std::string file_stem(std::string_view path);

}  // namespace sitehost::import_detail
