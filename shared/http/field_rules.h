// Small pure helpers for the request rules: header names, Content-Length, Transfer-Encoding,
// methods. Kept apart from the parser so each rule can be tested on its own.
#pragma once

#include <cstdint>
#include <string_view>

namespace sitehost::http {

// ASCII case-insensitive equality (header names, tokens).
bool iequals(std::string_view a, std::string_view b);

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
