#include "shared/frontend/router.h"

namespace sitehost {

using http::iequals;

std::string_view host_without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(1, close - 1);
  }
  size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

void Router::add(Route route) {
  if (route.path == "/") route.path.clear();
  if (route.binding.host_is_ip) has_ip_bindings_ = true;
  routes_.push_back(std::move(route));
}

namespace {

// Length of the matched base path in `path`, or -1 when `base` is not a segment prefix.
long prefix_match(std::string_view base, std::string_view path) {
  if (base.empty()) return 0;
  if (path.size() < base.size() || !iequals(path.substr(0, base.size()), base)) return -1;
  if (path.size() > base.size() && path[base.size()] != '/') return -1;
  return static_cast<long>(base.size());
}

enum Tier { kExactName = 0, kIpLiteral = 1, kWildcard = 2, kNoTier = 3 };

Tier tier_of(const Binding& b, std::string_view local_ip, std::string_view host) {
  if (b.host == "*") return kWildcard;
  if (b.host_is_ip) {
    // An IP binding serves its own address; a Host naming it exactly counts as exact.
    if (!local_ip.empty() && b.host != local_ip) return kNoTier;
    return iequals(b.host, host) ? kExactName : kIpLiteral;
  }
  return iequals(b.host, host) ? kExactName : kNoTier;
}

}  // namespace

RouteMatch Router::match(uint16_t port, std::string_view local_ip, std::string_view host_header,
                         std::string_view request_path) const {
  std::string_view host = host_without_port(host_header);
  const Route* best[kNoTier] = {nullptr, nullptr, nullptr};
  long best_len[kNoTier] = {-1, -1, -1};
  for (const Route& r : routes_) {
    if (r.binding.port != port) continue;
    Tier t = tier_of(r.binding, local_ip, host);
    if (t == kNoTier) continue;
    long len = prefix_match(r.path, request_path);
    if (len > best_len[t]) {
      best_len[t] = len;
      best[t] = &r;
    }
  }
  for (int t = kExactName; t < kNoTier; ++t) {
    if (!best[t]) continue;
    auto n = static_cast<size_t>(best_len[t]);
    RouteMatch m{best[t], request_path.substr(0, n), request_path.substr(n)};
    if (m.path.empty()) m.path = "/";
    return m;
  }
  return {};
}

}  // namespace sitehost
