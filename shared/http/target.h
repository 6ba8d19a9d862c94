// Request-target forms (RFC 9112 §3.2): which one a target is and its path / query.
#pragma once

#include <string_view>

namespace sitehost::http {

struct TargetParts {
  std::string_view path;       // "/..." ("*" for OPTIONS *; "/" for "http://host" alone)
  std::string_view query;      // after the first '?', without it
  std::string_view authority;  // absolute-form only: the host[:port] part
};

// Accepts origin-form ("/p?q"), absolute-form ("http[s]://authority/p?q", no userinfo) and
// asterisk-form ("*", OPTIONS only). Returns the reason on failure, nullptr on success. The
// bytes were already checked (visible ASCII, no '#'). Views point into `target`, except the
// "/" used for an absolute-form target without a path (a static string).
const char* split_target(std::string_view method, std::string_view target, TargetParts* out);

// uri-host [":" port] characters only (reg-name, IP literal, port); empty is allowed.
bool valid_authority(std::string_view authority);

}  // namespace sitehost::http
