// `sitehost import`: an IIS web.config (as `dotnet publish` writes it) → a [[site]] table for
// sitehost's config file. The mapping, its warnings and its errors are documented in the
// README ("Importing a web.config").
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace sitehost {

// The bindings of an imported site when none is given.
inline constexpr std::string_view kImportDefaultBinding = "http://*:8080";

struct ImportOptions {
  std::string name;                   // empty: the app's name (its .dll's or program's stem)
  std::vector<std::string> bindings;  // empty: kImportDefaultBinding
};

// The diagnostics read "FILE:LINE: warning: MESSAGE" or "FILE:LINE: error: MESSAGE" (XML syntax
// errors "FILE:LINE:COL: error: ...", whole-file ones "FILE: error: ..."), in file order, FILE
// as given. `toml` is the table (a comment naming the file, then [[site]]), empty when any
// error was found.
struct ImportResult {
  std::string toml;
  std::vector<std::string> diagnostics;
  bool ok() const { return !toml.empty(); }
};

// Why `options` cannot be used ("--name ...: ..." or "--binding ...: ..."), or empty.
std::string check_import_options(const ImportOptions& options);

// Reads `file`. `options` must pass check_import_options.
ImportResult import_web_config(const std::filesystem::path& file, const ImportOptions& options);

}  // namespace sitehost
