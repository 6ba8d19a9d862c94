// What an HTTP/1.1 connection and an HTTP/2 stream answer alike: the response headers a site
// adds, the front end's own answers (error pages, the health endpoint) and the access log line.
// Each works on the exchange's RequestContext; the transport then frames and writes the result.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string_view>

#include "shared/frontend/worker/request_context.h"

namespace sitehost {

class Worker;

// Adds a site's response header to c.site_headers ("Name: value\r\n" lines). Framing and
// connection headers are the transport's business and dropped (true: accepted and ignored);
// Content-Length is kept apart in c.content_length. `lowercase`: HTTP/2 field names (RFC 9113
// §8.2.1). False: the name or value is invalid, or the head was sent.
bool add_site_header(RequestContext& c, std::string_view name, std::string_view value,
                     bool lowercase);

// Turns `c` into the IIS-style error page for `error` (status, headers, body in c.error_body).
void fill_error_page(const Worker& worker, RequestContext& c, const HttpError& error);

// The health endpoint (`[server] health`): whether this request asks it, and its answer.
bool is_health_request(const Worker& worker, uint16_t local_port, const RequestInfo& info);
void fill_health_answer(Worker& worker, RequestContext& c);

// body_timeout passed with the site waiting for body bytes (c.site_reads_body()): logs it and
// tells the site of a 408 body error, like nginx's client_body_timeout. The site answers as to
// any body error (in process the read fails with SITEHOST_E_ABORTED; out of process the request
// fails): an error answer or finish() before the head is out becomes the 408 page, later the
// exchange is cut. The site, not this, ends the exchange: an in-process app may still read the
// request's views.
void end_stalled_body(Worker& worker, RequestContext& c);

// One access log line (and the site's request counters) for a finished exchange.
void log_access(Worker& worker, const RequestContext& c, const sockaddr* peer);

}  // namespace sitehost
