#include "shared/frontend/worker/router.h"

#include <arpa/inet.h>

#include <cstring>

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

namespace {

// `text` as an IPv6 address, IPv4 literals as v4-mapped ("127.0.0.1" → ::ffff:127.0.0.1).
in6_addr parse_ip(const std::string& text) {
  in6_addr a{};
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    a.s6_addr[10] = a.s6_addr[11] = 0xff;
    std::memcpy(&a.s6_addr[12], &v4, 4);
  } else {
    inet_pton(AF_INET6, text.c_str(), &a);
  }
  return a;
}

// The connection's local address in the same form; false when it has none.
bool local_ip(const sockaddr* local, in6_addr& out) {
  if (!local) return false;
  if (local->sa_family == AF_INET6) {
    out = reinterpret_cast<const sockaddr_in6*>(local)->sin6_addr;
    return true;
  }
  if (local->sa_family != AF_INET) return false;
  out = in6_addr{};
  out.s6_addr[10] = out.s6_addr[11] = 0xff;
  std::memcpy(&out.s6_addr[12], &reinterpret_cast<const sockaddr_in*>(local)->sin_addr, 4);
  return true;
}

}  // namespace

void Router::add(Route route) {
  if (route.path == "/") route.path.clear();
  if (route.binding.host_is_ip) {
    has_ip_bindings_ = true;
    route.ip = parse_ip(route.binding.host);
  }
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

Tier tier_of(const Route& r, const in6_addr* local, std::string_view host) {
  const Binding& b = r.binding;
  if (b.host == "*") return kWildcard;
  if (b.host_is_ip) {
    // An IP binding serves its own address; a Host naming it exactly counts as exact.
    if (local && std::memcmp(&r.ip, local, sizeof r.ip) != 0) return kNoTier;
    return iequals(b.host, host) ? kExactName : kIpLiteral;
  }
  return iequals(b.host, host) ? kExactName : kNoTier;
}

}  // namespace

RouteMatch Router::match(uint16_t port, const sockaddr* local, std::string_view host_header,
                         std::string_view request_path) const {
  std::string_view host = host_without_port(host_header);
  in6_addr local_addr{};
  const in6_addr* local_known =
      has_ip_bindings_ && local_ip(local, local_addr) ? &local_addr : nullptr;
  const Route* best[kNoTier] = {nullptr, nullptr, nullptr};
  long best_len[kNoTier] = {-1, -1, -1};
  for (const Route& r : routes_) {
    if (r.binding.port != port) continue;
    Tier t = tier_of(r, local_known, host);
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

bool Router::h2c_allowed(uint16_t port, const sockaddr* local) const {
  in6_addr local_addr{};
  const in6_addr* local_known =
      has_ip_bindings_ && local_ip(local, local_addr) ? &local_addr : nullptr;
  for (const Route& r : routes_) {
    if (r.binding.port != port || r.binding.scheme != "http" || !r.config || !r.config->h2c)
      continue;
    // Any Host could name this binding, so a name counts; only an IP literal is tied to the
    // address, as in match().
    if (!r.binding.host_is_ip || !local_known || std::memcmp(&r.ip, local_known, sizeof r.ip) == 0)
      return true;
  }
  return false;
}

}  // namespace sitehost
