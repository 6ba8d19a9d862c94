// Small string helpers shared by the config loader's parts: message quoting and key matching.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sitehost::config_detail {

// ASCII-only lower-casing; other bytes are kept as they are.
std::string lower_ascii(std::string_view text);

// A string as shown in messages: double-quoted, control bytes escaped, long values cut.
std::string quote(std::string_view text);

// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
size_t edit_distance(std::string_view a, std::string_view b);

// "processPath", "Process-Path" → "process_path": ANCM's camelCase attribute names map directly.
std::string snake_case(std::string_view key);

}  // namespace sitehost::config_detail
