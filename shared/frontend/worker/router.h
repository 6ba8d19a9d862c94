// Routing: which site answers a request that arrived on a local address:port with a Host header.
// Host first (exact name, then an IP-literal binding on the local address, then `*`), then the
// longest `path` prefix on a segment boundary (case-insensitive, as IIS).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shared/config/config.h"
#include "shared/http/field_rules.h"
#include "shared/site/metrics.h"
#include "shared/site/site.h"

namespace sitehost {

struct Route {
  Binding binding;
  std::string path;  // "" for "/" (so "" + rest = full path)
  // Kept alive by the RoutingTable the router belongs to (routing_table.h).
  Site* site = nullptr;
  const SiteConfig* config = nullptr;
  SiteMetrics* metrics = nullptr;  // the site's counters (they outlive the route)
  in6_addr ip{};  // an IP-literal binding's address (IPv4 as v4-mapped), set by Router::add
};

struct RouteMatch {
  const Route* route = nullptr;
  std::string_view path_base;  // the request's text for the base path
  std::string_view path;       // the rest, starting with '/'
};

class Router {
 public:
  void add(Route route);
  // `local`: the address the connection arrived on (compared in binary, so routing formats no
  // address text per request); null when unknown.
  RouteMatch match(uint16_t port, const sockaddr* local, std::string_view host_header,
                   std::string_view request_path) const;

  // Whether a plain-HTTP connection on `port` / `local` may speak HTTP/2 with prior knowledge:
  // some site with an http binding that could answer on this address (a name or `*` on the port,
  // or an IP-literal binding of the local address) has h2c on. A request that then routes to a
  // site without h2c is the connection's to refuse (421).
  bool h2c_allowed(uint16_t port, const sockaddr* local) const;

 private:
  std::vector<Route> routes_;
  bool has_ip_bindings_ = false;
};

// Host header without port and brackets ("[::1]:80" → "::1", "a.b:8080" → "a.b").
std::string_view host_without_port(std::string_view host);

}  // namespace sitehost
