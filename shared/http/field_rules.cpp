#include "shared/http/field_rules.h"

#include <llhttp.h>

namespace sitehost::http {

bool parse_content_length(std::string_view value, uint64_t* out) {
  if (value.empty()) return false;
  uint64_t v = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

static std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

TransferCodings parse_transfer_encoding(std::string_view value) {
  TransferCodings r;
  while (true) {
    const size_t comma = value.find(',');
    const std::string_view element = trim_ows(value.substr(0, comma));
    if (element.empty()) {
      r.empty_element = true;
    } else if (iequals(element, "chunked")) {
      ++r.chunked;
    } else {
      r.other = true;
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return r;
}

bool is_known_method(std::string_view method) {
  static constexpr std::string_view kMethods[] = {
#define SITEHOST_METHOD(num, name, string) #string,
      HTTP_METHOD_MAP(SITEHOST_METHOD)
#undef SITEHOST_METHOD
  };
  for (std::string_view m : kMethods) {
    if (m == method) return true;
  }
  return false;
}

}  // namespace sitehost::http
