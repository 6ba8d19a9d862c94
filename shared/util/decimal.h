// Number to text on the request path: no locale, no format-string machinery, no allocation
// beyond the output string's own growth.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>

namespace sitehost {

inline void append_decimal(std::string& out, uint64_t n) {
  char digits[20];
  char* end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, static_cast<size_t>(end - digits));
}

// Writes `n` at `out` (room for 20 digits) and returns the end.
inline char* write_decimal(char* out, uint64_t n) {
  return std::to_chars(out, out + 20, n).ptr;
}

}  // namespace sitehost
