// Routing one parsed request, for HTTP/1.1 connections and HTTP/2 streams alike: the health
// endpoint, the site (router), redirect_to_https, the TLS checks and request filtering
// (max_allowed_content_length), in that order.
#pragma once

#include <cstdint>
#include <string>

#include "shared/frontend/worker/request_context.h"

namespace sitehost {

class TlsSession;
class Worker;

struct RouteDecision {
  enum class Kind { kDispatch, kHealth, kRedirect, kError };
  Kind kind = Kind::kError;
  HttpError error;       // kError (detail points to static text)
  std::string location;  // kRedirect: the https URL
};

// On kDispatch (and kRedirect, kError after routing) `c` holds the route (Worker::begin_routed)
// and info.path_base / info.path are split. `tls`: the connection's session, null for plain
// HTTP. `http2`: the request came on an HTTP/2 stream (a site that turned HTTP/2 off answers
// 421, so the client retries over a new HTTP/1.1 connection).
RouteDecision route_request(Worker& worker, RequestContext& c, uint16_t local_port,
                            const TlsSession* tls, bool http2);

}  // namespace sitehost
