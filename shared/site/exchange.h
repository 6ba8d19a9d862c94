// The one small interface between the front end and a hosting model.
//
// The front end parses a request, routes it to a Site and calls Site::handle(Exchange&). The site
// answers through the Exchange. Lifetime: the Exchange is valid from handle() until the site calls
// finish() or respond_error() (after that it must not be touched; after respond_error_and_hold()
// until finish()), even if the client went away in between (then abort handlers fire and writes
// complete with an error). All Exchange calls must be made on the thread of the exchange's own
// event loop (loop_index()); hosting models that run code elsewhere marshal onto that loop first.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "shared/config/config.h"

namespace sitehost {

struct HeaderView {
  std::string_view name;
  std::string_view value;
};

// The parsed request. Every view points into the connection's buffer and stays valid until the
// exchange ends (the connection keeps the head bytes in place while the exchange lives).
struct RequestInfo {
  std::string_view method;
  std::string_view target;     // raw request-target as sent
  std::string_view path_base;  // the site's base path as matched ("" when the site is at "/")
  std::string_view path;       // the rest of the raw path, always starts with '/'
  std::string_view query;      // after '?', without it ("" when absent)
  std::string_view host;       // Host header value (without changes)
  int http_major = 1;
  int http_minor = 1;
  std::span<const HeaderView> headers;
  std::optional<uint64_t> content_length;
  bool chunked = false;
  bool has_body = false;  // content_length > 0 or chunked
  bool expect_continue = false;
  bool is_head = false;
  bool upgrade = false;  // carries Connection: upgrade + Upgrade (tunnel after a 101)
  bool tls = false;
  std::string_view client_certificate;  // DER of the verified TLS client certificate, or ""
  const sockaddr_storage* remote = nullptr;
  const sockaddr_storage* local = nullptr;

  // First value of a header, compared case-insensitively; nullopt when absent.
  std::optional<std::string_view> header(std::string_view name) const;
};

// What the site implements to receive the request body. Views are valid only during the call.
class BodyReader {
 public:
  virtual void on_body_data(std::string_view chunk) = 0;
  virtual void on_body_end() = 0;
  // The body cannot be completed: 413 (limit crossed mid-stream), 400 (bad framing) or 499 (the
  // client went away). The front end answers the client itself when the response has not started.
  virtual void on_body_error(int status) = 0;

 protected:
  ~BodyReader() = default;
};

// Completion of one write. Called on the loop thread; status 0 = flushed to the socket, <0 = the
// connection is gone (a libuv error code).
struct WriteDone {
  void (*fn)(void* ctx, int status) = nullptr;
  void* ctx = nullptr;
};

// Fires once when the client disconnects (or the exchange is cut) before finish().
struct AbortHandler {
  void (*fn)(void* ctx) = nullptr;
  void* ctx = nullptr;
};

// IIS-style error: status, sub-status (e.g. 502.5 → 502, 5), and a detail shown only when
// detailed_errors is on (and always written to the error log).
struct HttpError {
  int status = 500;
  int substatus = 0;
  std::string_view detail;
};

class Exchange {
 public:
  virtual const RequestInfo& request() const = 0;
  virtual const SiteConfig& site() const = 0;
  // The event loop the exchange belongs to (SiteContext::loops): every call on the exchange is
  // made on that loop's thread, and every callback from it runs there.
  virtual unsigned loop_index() const = 0;

  // --- request body ---
  // Starts delivering the body to `reader` (sends "100 Continue" when the client expects it).
  // A request without a body gets on_body_end() at once.
  virtual void read_body(BodyReader& reader) = 0;
  // Back-pressure: while paused, the connection stops reading from the socket.
  virtual void pause_body() = 0;
  virtual void resume_body() = 0;

  // --- response ---
  // Status and headers accumulate until the first write() or finish(). Header names and values
  // are validated (no CR/LF/NUL); false means rejected. Content-Length set here is used for
  // framing; Transfer-Encoding and Connection are the front end's business and are ignored.
  virtual void set_status(int status, std::string_view reason = {}) = 0;
  virtual bool add_header(std::string_view name, std::string_view value) = 0;
  virtual bool head_sent() const = 0;
  // Queues `data` (must stay valid until `done` fires). Sends the head first when not yet sent.
  virtual void write(std::string_view data, WriteDone done) = 0;
  // Bytes queued and not yet flushed to the socket (for write back-pressure).
  virtual size_t write_queue_bytes() const = 0;
  // Ends the response (and the exchange). For an upgraded exchange, closes the tunnel.
  virtual void finish() = 0;
  // Ends the exchange with an error page when the head was not sent, else cuts the connection.
  virtual void respond_error(const HttpError& error) = 0;
  // Answers like respond_error() (a page with Connection: close, or a cut connection) but does
  // not end the exchange: request() and every view in it stay valid until the site calls
  // finish(), which then ends it. Meanwhile the exchange is aborted (writes complete with an
  // error; the abort handler does not fire for this). For a site whose code may still read the
  // request after the server gave up on it (in-process: the hot-swap abort).
  virtual void respond_error_and_hold(const HttpError& error) = 0;

  // --- lifetime ---
  virtual void set_abort_handler(AbortHandler handler) = 0;
  virtual bool aborted() const = 0;

 protected:
  ~Exchange() = default;
};

}  // namespace sitehost
