// Routing one parsed request (request_routing.h).
#include "shared/frontend/worker/request_routing.h"

#include "shared/frontend/worker/exchange_answers.h"
#include "shared/frontend/worker/router.h"
#include "shared/frontend/worker/worker.h"
#include "shared/net/tls_session.h"

namespace sitehost {

namespace {

RouteDecision error(int status, const char* detail) {
  RouteDecision d;
  d.kind = RouteDecision::Kind::kError;
  d.error = {status, 0, detail};
  return d;
}

std::string https_location(const SiteConfig& site, const RequestInfo& info) {
  uint16_t port = 443;
  std::string_view host = host_without_port(info.host);
  for (const Binding& b : site.bindings)
    if (b.scheme == "https") {
      port = b.port;
      if (host.empty() && b.host != "*") host = b.host;
      break;
    }
  std::string location = "https://";
  const bool v6 = host.find(':') != std::string_view::npos;
  location.append(v6 ? "[" : "").append(host).append(v6 ? "]" : "");
  if (port != 443) location.append(":").append(std::to_string(port));
  location.append(info.target.starts_with("/") ? info.target : std::string_view(info.path));
  return location;
}

// HTTP/2 is per site (h2c in plain), over TLS per host: a request is misdirected (421, and the
// client retries on a new connection) only when a new connection naming its host would not
// negotiate h2. Sites sharing one host share its TLS context, so asking the site itself could
// send a client round in 421s for ever (docs/http2.md).
bool http2_allowed(const SiteConfig& site, const RequestInfo& info, const TlsSession* tls) {
  if (!tls) return site.h2c;
  return tls->listener().select(host_without_port(info.host)).settings().http2;
}

}  // namespace

RouteDecision route_request(Worker& worker, RequestContext& c, uint16_t local_port,
                            const TlsSession* tls, bool http2) {
  RequestInfo& info = c.info;
  if (is_health_request(worker, local_port, info)) return {RouteDecision::Kind::kHealth, {}, {}};
  RouteMatch match = worker.router().match(local_port, reinterpret_cast<const sockaddr*>(&c.local),
                                           info.host, info.path);
  if (!match.route) return error(404, "no site answers this host and path");
  worker.begin_routed(c, *match.route);
  info.path_base = match.path_base;
  info.path = match.path;
  const SiteConfig& site = *c.site_config;
  if (http2 && !http2_allowed(site, info, tls))
    return error(421, "this site does not accept HTTP/2 (http2 / h2c is off)");
  if (site.redirect_to_https && !tls)
    return {RouteDecision::Kind::kRedirect, {}, https_location(site, info)};
  // SNI picked the certificate (and the client-certificate check) of another site than the
  // Host header names: do not let a lax site's handshake reach a strict site.
  if (tls && site.client_certificate != ClientCertificate::kOff &&
      tls->context().settings().site != site.name)
    return error(421, "the TLS handshake was made for another site");
  // Request filtering (IIS maxAllowedContentLength) comes before the application sees anything.
  if (info.content_length && *info.content_length > site.max_allowed_content_length)
    return error(413, "Content-Length exceeds max_allowed_content_length");
  return {RouteDecision::Kind::kDispatch, {}, {}};
}

}  // namespace sitehost
