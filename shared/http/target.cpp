#include "shared/http/target.h"

#include "shared/http/field_rules.h"
#include "shared/http/http_chars.h"

namespace sitehost::http {

bool valid_authority(std::string_view authority) {
  for (char c : authority) {
    if (!chars::is(c, chars::kHost)) return false;
  }
  return true;
}

// Splits "path?query" (path may be empty).
static void split_query(std::string_view rest, TargetParts* out) {
  const size_t q = rest.find('?');
  out->path = rest.substr(0, q);
  out->query = q == std::string_view::npos ? std::string_view{} : rest.substr(q + 1);
}

const char* split_target(std::string_view method, std::string_view target, TargetParts* out) {
  *out = TargetParts{};
  if (target.empty()) return "empty request target";
  if (target == "*") {
    if (method != "OPTIONS") return "asterisk-form target is only allowed with OPTIONS";
    out->path = target;
    return nullptr;
  }
  if (target.front() == '/') {
    split_query(target, out);
    return nullptr;
  }
  // absolute-form: the scheme is case-insensitive; only what this server speaks is accepted.
  std::string_view rest;
  if (target.size() > 7 && iequals(target.substr(0, 7), "http://")) {
    rest = target.substr(7);
  } else if (target.size() > 8 && iequals(target.substr(0, 8), "https://")) {
    rest = target.substr(8);
  } else {
    return "request target is not origin-form, absolute-form or OPTIONS *";
  }
  const size_t end = rest.find_first_of("/?");
  out->authority = rest.substr(0, end);
  if (out->authority.empty()) return "absolute-form target without a host";
  if (out->authority.find('@') != std::string_view::npos) return "userinfo in request target";
  if (!valid_authority(out->authority)) return "invalid host in request target";
  if (end == std::string_view::npos) {
    out->path = "/";
    return nullptr;
  }
  split_query(rest.substr(end), out);
  if (out->path.empty()) out->path = "/";  // "http://host?q"
  return nullptr;
}

}  // namespace sitehost::http
