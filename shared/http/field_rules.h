// Small pure helpers for the request rules: header names, Content-Length, Transfer-Encoding,
// methods. Kept apart from the parser so each rule can be tested on its own.
#pragma once

#include <cstdint>
#include <string_view>

#include "shared/http/http_chars.h"

namespace sitehost::http {

// ASCII case-insensitive equality (header names, tokens). Inline: most calls on the hot path
// compare against a name of another length and end at the size check.
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}

// A field name an application may send: one or more tchar.
inline bool valid_field_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!chars::is(c, chars::kToken)) return false;
  return true;
}

// A field value (or reason phrase) an application may send: nothing that could end the line or
// the C string it came from. The front end and the handler ABI check with this same rule.
inline bool valid_field_value(std::string_view value) {
  for (char c : value)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

// Content-Length = 1*DIGIT. No sign, no list ("5, 5"), no overflow. False when invalid.
bool parse_content_length(std::string_view value, uint64_t* out);

// One Transfer-Encoding field value, a comma-separated list of codings.
struct TransferCodings {
  int chunked = 0;     // how many elements are exactly "chunked" (case-insensitive)
  bool other = false;  // some other coding (gzip, identity, "chunked;x", ...)
  bool empty_element = false;
};
TransferCodings parse_transfer_encoding(std::string_view value);

// A method llhttp 8.1 parses for HTTP (its HTTP_METHOD_MAP; not RTSP's, not PRI).
bool is_known_method(std::string_view method);

}  // namespace sitehost::http
