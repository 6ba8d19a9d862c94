// Connection: read side, request dispatch, timeouts and closing. The response side (the Exchange
// methods) is in connection_exchange.cpp.
#include "shared/frontend/worker/connection.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "shared/frontend/worker/exchange_answers.h"
#include "shared/frontend/worker/http2/http2_session.h"
#include "shared/frontend/worker/request_routing.h"
#include "shared/frontend/worker/worker.h"

namespace sitehost {

namespace {
uv_stream_t* as_stream(uv_tcp_t* tcp) {
  return reinterpret_cast<uv_stream_t*>(tcp);
}
}  // namespace

Connection::Connection(Worker& worker, uint16_t local_port,
                       std::shared_ptr<const TlsListenerContext> tls)
    : worker_(worker), local_port_(local_port) {
  if (tls) tls_ = std::make_unique<TlsState>(std::move(tls));
  uv_tcp_init(worker.loop(), &tcp_);
  tcp_.data = this;
  deadline_.owner = this;
}

Connection::~Connection() = default;

bool Connection::accept(uv_stream_t* listener) {
  int r = uv_accept(listener, as_stream(&tcp_));
  if (r != 0) {
    worker_.log().warn("accept: {}", uv_strerror(r));
    begin_close();
    return false;
  }
  start();
  return true;
}

bool Connection::adopt(int fd) {
  int r = uv_tcp_open(&tcp_, fd);
  if (r != 0) {
    ::close(fd);
    worker_.log().warn("accept: {}", uv_strerror(r));
    begin_close();
    return false;
  }
  start();
  return true;
}

void Connection::start() {
  uv_tcp_nodelay(&tcp_, 1);
  sockaddr_storage addr{};
  int len = sizeof addr;
  if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    std::memcpy(&peer_, &addr, std::min(sizeof peer_, static_cast<size_t>(len)));
  len = sizeof addr;
  if (uv_tcp_getsockname(&tcp_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    std::memcpy(&local_, &addr, std::min(sizeof local_, static_cast<size_t>(len)));
  arm_deadline(kHeaderDeadline);
  update_reading();
}

// ---------------------------------------------------------------------------------------------
// Timeouts

void Connection::arm_deadline(int kind) {
  disarm_deadline();
  // A closed connection is freed after its close callback: a node left in a queue would dangle
  // (write completions cancelled by the close arrive after begin_close).
  if (handle_closed_) return;
  timer_kind_ = static_cast<int8_t>(kind);
  worker_.deadlines(kind).arm(deadline_);
}

void Connection::disarm_deadline() {
  if (timer_kind_ >= 0) worker_.deadlines(timer_kind_).disarm(deadline_);
  timer_kind_ = -1;
}

void Connection::on_deadline_expired(DeadlineNode* node, void* kind) {
  auto* self = static_cast<Deadline*>(node)->owner;
  self->timer_kind_ = -1;
  self->on_deadline(static_cast<int>(reinterpret_cast<intptr_t>(kind)));
}

void Connection::on_deadline(int kind) {
  if (h2_) {
    h2_->on_deadline(kind);
    after_http2();
    return;
  }
  if (kind == kSendDeadline) {  // the client does not read the response
    worker_.log().info("closing connection: no write progress within send_timeout");
    on_peer_gone();
    return;
  }
  if (kind == kBodyDeadline) {
    if (awaiting_body()) on_body_timeout();
    return;
  }
  if (kind == kHeaderDeadline && ctx_ && !ctx_->dispatched && !ctx_->finished && len_ > 0) {
    fail_request(408, 0, "request head not complete within header_timeout");
    return;
  }
  begin_close();  // idle keep-alive, silent first connection, or lingering close done
}

// The site reads the request body, every byte received went to it, and more is due: only the
// client can move the exchange on (body_timeout).
bool Connection::awaiting_body() const {
  if (!ctx_ || lingering_ || peer_gone_ || handle_closed_ || parsed_ != len_) return false;
  return ctx_->site_reads_body() && !ctx_->tunnel && ctx_->info.has_body;
}

// `progress`: bytes came from the client (the wait starts again). The send deadline, when armed,
// keeps the slot: a client that neither reads nor sends is cut by whichever expires.
void Connection::update_body_deadline(bool progress) {
  if (h2_) return;  // per stream (Http2Session::deadline_kind)
  if (awaiting_body()) {
    if (timer_kind_ < 0 || (progress && timer_kind_ == kBodyDeadline)) arm_deadline(kBodyDeadline);
  } else if (timer_kind_ == kBodyDeadline) {
    disarm_deadline();
  }
}

// The 408 (end_stalled_body); the connection closes after the answer (framing unknown).
void Connection::on_body_timeout() {
  keep_alive_ = false;
  end_stalled_body(worker_, *ctx_);
}

// ---------------------------------------------------------------------------------------------
// Reading

void Connection::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(handle->data);
  if (self->tls_) {  // ciphertext goes to the session within the read callback
    buf->base = self->worker_.tls_read_buffer();
    buf->len = Worker::kTlsReadBufferSize;
    return;
  }
  if (!self->buf_) {
    self->buf_ = self->worker_.buffers().acquire();
    self->cap_ = static_cast<uint32_t>(self->worker_.buffers().buffer_size());
    self->len_ = self->parsed_ = self->head_end_ = 0;
  }
  buf->base = self->buf_.get() + self->len_;
  buf->len = self->cap_ - self->len_;
}

void Connection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t*) {
  auto* self = static_cast<Connection*>(stream->data);
  if (nread > 0) {
    self->worker_.counters().bytes_received.add(static_cast<uint64_t>(nread));
    if (self->lingering_) return;  // discarding until the peer closes (buffer not advanced)
    if (self->tls_) {
      TlsSession& tls = self->tls_->session;
      self->tls_->received = true;
      tls.feed(std::string_view(self->worker_.tls_read_buffer(), static_cast<size_t>(nread)));
      self->flush_tls_output();
      if (tls.failed() || tls.peer_closed()) {
        if (tls.failed()) self->worker_.log().info("tls: closing connection: {}", tls.error());
        self->on_peer_gone(!tls.failed());
        return;
      }
    } else {
      self->len_ += static_cast<uint32_t>(nread);
    }
    self->in_read_callback = true;
    self->process();
    self->in_read_callback = false;
    self->update_body_deadline(true);
    // What the request left for later runs now, at the top of the stack, instead of in the idle
    // phase: a request answered at once gives its buffer and context back before the next
    // ready connection reads, so one hot buffer serves them all (not one per ready connection).
    if (self->deferred_pending && !self->dead_) {
      self->deferred_pending = false;
      self->run_deferred();
    }
    return;
  }
  if (nread == 0 || nread == UV_ENOBUFS) {
    if (!self->ctx_ && self->len_ == 0) self->release_buffer();
    self->update_reading();
    return;
  }
  self->on_peer_gone(nread == UV_EOF);
}

void Connection::update_reading() {
  bool want = !handle_closed_ && (!buf_ || len_ < cap_ || lingering_) &&
              !(peer_gone_ && !lingering_) && !(h2_ && !lingering_ && !h2_->wants_input());
  if (want == reading_) return;
  if (want) {
    if (uv_read_start(as_stream(&tcp_), &Connection::on_alloc, &Connection::on_read) == 0)
      reading_ = true;
  } else {
    uv_read_stop(as_stream(&tcp_));
    reading_ = false;
  }
}

void Connection::release_buffer() {
  if (buf_) worker_.return_buffer(std::move(buf_), cap_);
  len_ = parsed_ = head_end_ = cap_ = 0;
}

void Connection::begin_request() {
  fresh_ = false;
  ctx_ = worker_.take_context();
  ctx_->reset();
  ctx_->parser.start(worker_.limits());
  ctx_->started = std::chrono::steady_clock::now();
  keep_alive_ = true;
  arm_deadline(kHeaderDeadline);
}

void Connection::go_idle() {
  release_buffer();  // TLS record buffers stay: releasing them per request costs ~25% CPU
  if ((draining_ || worker_.shutting_down()) && !fresh_) {  // (fresh: see drain())
    close_after_response();
    return;
  }
  // A TLS handshake in progress is held to header_timeout, like a request head.
  bool handshaking = tls_ && !tls_->session.handshake_done();
  if (!handshaking || timer_kind_ != kHeaderDeadline)
    arm_deadline(handshaking ? kHeaderDeadline : kKeepaliveDeadline);
}

bool Connection::pump_tls_input() {
  TlsSession& tls = tls_->session;
  if (!tls.handshake_done() && !tls.has_buffered_input()) return true;
  if (!buf_) {
    buf_ = worker_.buffers().acquire();
    cap_ = static_cast<uint32_t>(worker_.buffers().buffer_size());
    len_ = parsed_ = head_end_ = 0;
  }
  while (len_ < cap_) {
    size_t n = tls.read_plain(buf_.get() + len_, cap_ - len_);
    if (n == 0) break;
    len_ += static_cast<uint32_t>(n);
  }
  flush_tls_output();
  if (!tls_->handshake_counted && tls.handshake_done()) {
    tls_->handshake_counted = true;
    worker_.counters().tls_handshakes_ok.add();
  }
  if (tls.failed()) {
    worker_.log().info("tls: closing connection: {}", tls.error());
    on_peer_gone();
    return false;
  }
  return true;
}

void Connection::process() {
  if (handle_closed_ || lingering_) return;
  if (tls_ && !pump_tls_input()) return;
  if (h2_ || (fresh_ && !ctx_)) {
    switch (h2_ ? Protocol::kHttp2 : choose_protocol()) {
      case Protocol::kHttp2:
        process_http2();
        return;
      case Protocol::kUndecided:  // the first bytes may be the h2c preface: wait for more
        update_reading();
        return;
      case Protocol::kHttp1:
        break;
    }
  }
  if (!ctx_) {
    if (parsed_ == len_) {
      go_idle();
      update_reading();
      return;
    }
    begin_request();
  }
  if (!ctx_->dispatched && !ctx_->finished)
    parse_head();
  else if (ctx_->body_started && !ctx_->body_paused && !ctx_->finished)
    feed_body();
  update_reading();
}

void Connection::parse_head() {
  auto& parser = ctx_->parser;
  parsed_ += static_cast<uint32_t>(parser.feed(buf_.get() + parsed_, len_ - parsed_, nullptr));
  switch (parser.state()) {
    case http::RequestParser::State::kHead:
      // The buffer holds max_request_line + max_header_bytes, so the parser's limits fire first.
      if (len_ == cap_) fail_request(431, 0, "request head does not fit the read buffer");
      return;
    case http::RequestParser::State::kError:
      fail_request(parser.error_status(), 0, parser.error_reason());
      return;
    default:
      head_end_ = parsed_;
      disarm_deadline();
      dispatch();
  }
}

void Connection::fill_request_info() {
  const auto& h = ctx_->parser.head();
  RequestInfo& i = ctx_->info;
  i.method = h.method;
  i.target = h.target;
  i.path = h.path;
  i.query = h.query;
  i.host = h.host;
  i.http_major = h.http_major;
  i.http_minor = h.http_minor;
  i.headers = std::span<const HeaderView>(h.headers.data(), h.headers.size());
  i.content_length = h.content_length;
  i.chunked = h.chunked;
  i.has_body = h.chunked || (h.content_length && *h.content_length > 0);
  i.expect_continue = h.expect_continue;
  i.is_head = h.is_head;
  i.upgrade = h.upgrade;
  i.tls = tls_ != nullptr;
  if (tls_ && !tls_->peer_certificate_read) {
    tls_->peer_certificate = tls_->session.peer_certificate_der();
    tls_->peer_certificate_read = true;
  }
  i.client_certificate = tls_ ? std::string_view(tls_->peer_certificate) : std::string_view();
  if (!ctx_->addresses_known) {
    std::memcpy(&ctx_->remote, &peer_, sizeof peer_);
    std::memcpy(&ctx_->local, &local_, sizeof local_);
    ctx_->addresses_known = true;
  }
  i.remote = &ctx_->remote;
  i.local = &ctx_->local;
  keep_alive_ = h.keep_alive && !draining_ && !worker_.shutting_down();
}

void Connection::dispatch() {
  fill_request_info();
  RequestContext& c = *ctx_;
  const RouteDecision d =
      route_request(worker_, c, local_port_, tls_ ? &tls_->session : nullptr, false);
  switch (d.kind) {
    case RouteDecision::Kind::kHealth:
      c.dispatched = true;
      fill_health_answer(worker_, c);
      c.finished = true;
      send_own_answer();
      return;
    case RouteDecision::Kind::kError:
      fail_request(d.error.status, 0, d.error.detail);
      return;
    case RouteDecision::Kind::kRedirect:
      c.dispatched = true;
      set_status(308, {});
      add_header("Location", d.location);
      finish();
      return;
    case RouteDecision::Kind::kDispatch:
      break;
  }
  c.parser.set_max_body(c.site_config->max_allowed_content_length);  // chunked bodies too
  c.dispatched = true;
  if (worker_.log().enabled(LogLevel::kDebug))
    worker_.log().debug("dispatch {} {} to site {}", c.info.method, c.info.target,
                        c.site_config->name);
  c.site->handle(*this);
}

void Connection::feed_body() {
  RequestContext& c = *ctx_;
  if (!c.reader || c.body_done || c.body_error) return;
  if (c.tunnel) {
    // After a 101 the bytes are the upgraded protocol's, passed through as they are (TLS may
    // hold more than the buffer took); the client's EOF comes after the last of them.
    while (!c.body_paused && !c.finished && !handle_closed_) {
      if (parsed_ == len_ && tls_ && tls_->session.has_buffered_input() && !pump_tls_input())
        return;
      if (parsed_ == len_) {
        if (peer_gone_) {
          c.body_done = true;
          c.reader->on_body_end();
        }
        return;
      }
      std::string_view raw(buf_.get() + parsed_, len_ - parsed_);
      parsed_ = len_ = head_end_;
      c.reader->on_body_data(raw);
    }
    return;
  }
  if (!c.info.has_body) {
    c.body_done = true;
    c.reader->on_body_end();
    return;
  }
  auto& parser = c.parser;
  for (;;) {
    while (!c.body_paused && parsed_ < len_ &&
           parser.state() == http::RequestParser::State::kBody && !c.body_error && !c.finished) {
      size_t n = parser.feed(buf_.get() + parsed_, len_ - parsed_, this);
      parsed_ += static_cast<uint32_t>(n);
      if (n == 0) break;
    }
    if (parser.state() != http::RequestParser::State::kBody || parsed_ != len_) break;
    parsed_ = len_ = head_end_;  // every body byte was delivered: reuse the space after the head
    // TLS may hold more decrypted body than the buffer took last time.
    if (!tls_ || c.body_paused || c.body_error || c.finished || handle_closed_ ||
        !tls_->session.has_buffered_input() || !pump_tls_input() || parsed_ == len_)
      break;
  }
  if (handle_closed_) return;  // the session failed: on_peer_gone() told the reader
  if (c.body_error) {
    keep_alive_ = false;
    c.reader->on_body_error(c.body_error);
  } else if (parser.state() == http::RequestParser::State::kError) {
    c.body_error = parser.error_status();
    keep_alive_ = false;
    c.reader->on_body_error(c.body_error);
  } else if (parser.state() == http::RequestParser::State::kComplete && !c.body_done) {
    c.body_done = true;
    c.reader->on_body_end();
  }
}

void Connection::on_parsed_body(std::string_view chunk) {
  RequestContext& c = *ctx_;
  if (c.body_error || c.finished) return;
  c.reader->on_body_data(chunk);
}

void Connection::on_peer_gone(bool half_close) {
  peer_gone_ = true;
  if (h2_) {
    h2_->abort_all();
    begin_close();
    return;
  }
  if (lingering_ || !ctx_ || !ctx_->dispatched || ctx_->finished) {
    begin_close();
    return;
  }
  RequestContext& c = *ctx_;
  if (c.tunnel && half_close) {
    // The client finished sending: the site gets what is still buffered, then the end (from the
    // deferred pass), and decides when the tunnel ends. Anything else (a reset, a failed write,
    // close_now at shutdown) cuts the tunnel like any exchange.
    if (c.body_started) worker_.defer(this);
    update_reading();
    return;
  }
  c.aborted = true;
  keep_alive_ = false;
  if (c.reader && !c.body_done && !c.body_error) {
    c.body_error = 499;
    c.reader->on_body_error(499);
  }
  if (ctx_ && c.abort_handler.fn) {
    AbortHandler handler = std::exchange(c.abort_handler, {});
    handler.fn(handler.ctx);
  }
  begin_close();
}

// ---------------------------------------------------------------------------------------------
// Deferred work, draining and closing

void Connection::run_deferred() {
  if (h2_) {
    h2_->run_deferred();
    after_http2();
    if (close_done_) maybe_destroy();
    return;
  }
  if (ctx_) {
    // Completions first: a callback may finish the exchange.
    Worker::Completions completions = worker_.take_completions();
    completions.swap(ctx_->completions);  // a callback may end the exchange (and ctx_)
    for (auto& [done, status] : completions)
      if (done.fn) done.fn(done.ctx, status);
    worker_.give_back_completions(std::move(completions));
  }
  if (ctx_ && ctx_->finished && pending_writes_ == 0) {
    end_exchange();
    return;
  }
  if (ctx_ && ctx_->dispatched && ctx_->body_started && !ctx_->body_paused && !handle_closed_) {
    feed_body();
    update_reading();
  }
  update_body_deadline(false);
  if (close_done_) maybe_destroy();
}

void Connection::drain() {
  draining_ = true;
  if (h2_) {  // GOAWAY with the last stream id; the open streams finish
    h2_->shutdown_gracefully();
    defer();
    return;
  }
  // A connection that has not sent its first request yet (e.g. just accepted from a closing
  // listener's backlog) gets to send it, bounded by header_timeout: closing it now would drop a
  // request that may already be on its way. It closes after that one response.
  if (!ctx_ && !fresh_) close_after_response();
}

void Connection::close_now() {
  if (h2_) {
    on_peer_gone();
    return;
  }
  if (ctx_ && ctx_->dispatched && !ctx_->finished) {
    on_peer_gone();  // same as a client disconnect for the exchange
    return;
  }
  begin_close();
}

void Connection::close_after_response() {
  if (handle_closed_ || lingering_) return;
  // Lingering close: shut our side down, then discard input until the peer closes (bounded), so
  // unread request bytes do not turn into a RST that destroys the response in flight.
  lingering_ = true;
  release_buffer();
  if (tls_ && tls_->session.handshake_done() && !tls_->session.failed()) {
    tls_->session.shutdown();  // close_notify before our FIN
    flush_tls_output();
  }
  if (ctx_) worker_.return_context(std::move(ctx_));
  arm_deadline(kLingerDeadline);
  shutdown_req_ = std::make_unique<uv_shutdown_t>();
  shutdown_req_->data = this;
  if (uv_shutdown(shutdown_req_.get(), as_stream(&tcp_), &Connection::on_shutdown) != 0) {
    shutdown_req_.reset();
    begin_close();
    return;
  }
  update_reading();
}

void Connection::on_shutdown(uv_shutdown_t* req, int status) {
  auto* self = static_cast<Connection*>(req->data);
  self->shutdown_req_.reset();
  if (status < 0 || self->peer_gone_) self->begin_close();
}

void Connection::begin_close() {
  if (handle_closed_) return;
  handle_closed_ = true;
  if (tls_) count_tls_outcome();
  disarm_deadline();
  reading_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Connection::on_close);
}

void Connection::count_tls_outcome() {
  const TlsSession& tls = tls_->session;
  LoopMetrics& metrics = worker_.counters();
  if (!tls_->handshake_counted && tls.handshake_done()) {
    tls_->handshake_counted = true;
    metrics.tls_handshakes_ok.add();
  }
  if (!tls_->handshake_counted && tls_->received)
    (tls.failed() ? metrics.tls_handshakes_failed : metrics.tls_handshakes_incomplete).add();
  else if (tls.failed())
    metrics.tls_errors.add();
}

void Connection::on_close(uv_handle_t* handle) {
  auto* self = static_cast<Connection*>(handle->data);
  self->close_done_ = true;
  self->shutdown_req_.reset();  // its callback ran (cancelled) before the close callback
  self->maybe_destroy();
}

void Connection::maybe_destroy() {
  if (dead_ || !close_done_) return;
  if (h2_ && h2_->held_streams() > 0) return;  // sites hold exchanges (or completions wait)
  if (ctx_ && ctx_->dispatched && !(ctx_->finished && pending_writes_ == 0))
    return;                                  // site holds it
  if (ctx_ && !ctx_->completions.empty()) {  // they run first (end_exchange says why)
    worker_.defer(this);
    return;
  }
  if (ctx_) {
    if (ctx_->finished) log_access();
    worker_.return_context(std::move(ctx_));
  }
  release_buffer();
  dead_ = true;
  worker_.connection_closed(this);
}

}  // namespace sitehost
