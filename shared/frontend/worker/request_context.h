// Per-request state, pooled by the worker and lent to a connection while it has a request to
// parse or answer: the parser, the RequestInfo the site sees, and the response under way.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "shared/http/request_parser.h"
#include "shared/site/exchange.h"
#include "shared/site/metrics.h"
#include "shared/site/site.h"

namespace sitehost {

struct RequestContext {
  http::RequestParser parser;
  RequestInfo info;
  sockaddr_storage remote{};
  sockaddr_storage local{};
  bool addresses_known = false;

  // Routing result, kept alive by the routing table the exchange pinned (Worker::pin_table;
  // released, and this reset to null, when the context goes back to the pool).
  void* pinned_table = nullptr;
  Site* site = nullptr;
  const SiteConfig* site_config = nullptr;
  SiteMetrics* metrics = nullptr;  // the routed site's counters (null: no site answered)

  // Response state.
  int status = 200;
  int substatus = 0;
  std::string reason;                      // empty = standard phrase
  std::string site_headers;                // "Name: value\r\n" lines added by the site
  std::string head;                        // the serialized head while its write is in flight
  std::string error_body;                  // front-end error page while its write is in flight
  std::optional<uint64_t> content_length;  // set by the site
  uint64_t body_sent = 0;
  bool head_sent = false;
  bool chunked = false;
  bool no_body = false;  // HEAD, 1xx, 204, 304
  bool site_set_date = false;
  bool site_set_server = false;

  // Body state.
  BodyReader* reader = nullptr;
  bool body_started = false;
  bool body_paused = false;
  bool body_done = false;
  int body_error = 0;
  bool continue_sent = false;

  // Lifetime state.
  bool dispatched = false;  // handed to a site (until finish/respond_error)
  bool finished = false;    // site ended it; the final write is in flight
  bool aborted = false;
  bool tunnel = false;  // 101 sent on an upgrade request
  AbortHandler abort_handler;
  std::chrono::steady_clock::time_point started;
  // Write completions owed without a socket write (HEAD bodies, writes after the peer left);
  // fired from the server's deferred pass so callbacks never re-enter the caller.
  std::vector<std::pair<WriteDone, int>> completions;

  // The site is reading the body and wants more: not paused, not ended, no error (body_timeout
  // runs only then; the transport adds what it alone knows, e.g. bytes it still holds).
  bool site_reads_body() const {
    return dispatched && !finished && !aborted && reader && body_started && !body_paused &&
           !body_done && !body_error;
  }

  void reset() {
    info = RequestInfo{};
    addresses_known = false;
    site = nullptr;
    metrics = nullptr;
    site_config = nullptr;
    completions.clear();
    status = 200;
    substatus = 0;
    reason.clear();
    site_headers.clear();
    head.clear();
    error_body.clear();
    content_length.reset();
    body_sent = 0;
    head_sent = chunked = no_body = site_set_date = site_set_server = false;
    reader = nullptr;
    body_started = body_paused = body_done = continue_sent = false;
    body_error = 0;
    dispatched = finished = aborted = tunnel = false;
    abort_handler = {};
  }
};

}  // namespace sitehost
