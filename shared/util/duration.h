// Parsing of the human-friendly duration and byte-size strings used in the config file.
// Grammar and units are documented in docs/configuration.md ("Durations and sizes").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sitehost {

// "250ms", "30s", "2m", "1h" (a non-negative integer and one unit), or ANCM's TimeSpan form
// "H:MM:SS" ("00:02:00", "360:00:00"; minutes and seconds below 60). No sign, no whitespace,
// no fractions, no bare numbers. nullopt when malformed or too large for milliseconds.
// (Returns the same type as sitehost::Duration; this header does not depend on config.h.)
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// The shortest exact spelling in the unit grammar above: 0 → "0s", 90s → "90s", 2min → "2m",
// 1500ms → "1500ms". Negative values get a leading "-".
std::string format_duration(std::chrono::milliseconds duration);

// A byte count: "100" or an integer followed by a unit, matched case-insensitively:
// "B" = 1; "k", "KiB" = 1024; "M", "MiB" = 1024²; "G", "GiB" = 1024³ (binary);
// "KB" = 1000; "MB" = 1000²; "GB" = 1000³ (SI). No whitespace, no fractions.
// nullopt when malformed or above UINT64_MAX.
std::optional<uint64_t> parse_size(std::string_view text);

}  // namespace sitehost
