// Connection as the Exchange a site answers through: body delivery, response framing, writes,
// error pages, and the end of an exchange (access log, keep-alive or close).
#include <cstring>

#include <fmt/format.h>

#include "shared/errors/error_page.h"
#include "shared/frontend/worker/connection.h"
#include "shared/frontend/worker/exchange_answers.h"
#include "shared/frontend/worker/router.h"
#include "shared/frontend/worker/worker.h"
#include "shared/http/chunk_size_line.h"
#include "shared/http/http_chars.h"
#include "shared/net/socket_send.h"
#include "shared/util/decimal.h"

namespace sitehost {

namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

using http::iequals;

uv_buf_t make_buf(std::string_view s) {
  return uv_buf_init(const_cast<char*>(s.data()), static_cast<unsigned>(s.size()));
}

}  // namespace

void Connection::read_body(BodyReader& reader) {
  RequestContext& c = *ctx_;
  c.reader = &reader;
  if (c.body_started) return;
  c.body_started = true;
  if (c.info.expect_continue && !c.head_sent && !c.continue_sent && c.info.has_body &&
      !handle_closed_) {
    c.continue_sent = true;
    uv_buf_t buf = make_buf(kContinue);
    queue_write(worker_.take_write(), &buf, 1);
  }
  worker_.defer(this);  // deliver what is buffered from the loop, never inside this call
}

void Connection::pause_body() {
  ctx_->body_paused = true;
  update_body_deadline(false);  // the site holds the client back: not the client's stall
}

void Connection::resume_body() {
  if (!ctx_->body_paused) return;
  ctx_->body_paused = false;
  worker_.defer(this);
}

unsigned Connection::loop_index() const {
  return worker_.index();
}

void Connection::set_status(int status, std::string_view reason) {
  if (ctx_->head_sent || status < 100 || status > 999 || !http::valid_field_value(reason)) return;
  ctx_->status = status;
  ctx_->reason.assign(reason);
}

bool Connection::add_header(std::string_view name, std::string_view value) {
  return add_site_header(*ctx_, name, value, false);
}

std::string& Connection::serialize_head() {
  RequestContext& c = *ctx_;
  const int st = c.status;
  c.tunnel = st == 101 && c.info.upgrade;
  c.no_body = !c.tunnel && (c.info.is_head || (st < 200) || st == 204 || st == 304);
  std::string& h = c.head;
  h.clear();
  h.append("HTTP/1.1 ");
  append_decimal(h, static_cast<uint64_t>(st));
  h.push_back(' ');
  h.append(c.reason.empty() ? reason_phrase(st) : std::string_view(c.reason));
  h.append("\r\n");
  if (!c.site_set_date) h.append(worker_.date_header());
  if (!c.site_set_server) h.append("Server: sitehost\r\n");
  h.append(c.site_headers);
  if (c.tunnel) {
    keep_alive_ = false;  // after the tunnel the connection is done
    h.append("Connection: upgrade\r\n\r\n");
    c.head_sent = true;
    return h;
  }
  if (st >= 200 && st != 204) {
    if (c.content_length) {
      h.append("Content-Length: ");
      append_decimal(h, *c.content_length);
      h.append("\r\n");
    } else if (c.finished) {
      if (!c.info.is_head && st != 304) h.append("Content-Length: 0\r\n");
    } else if (!c.no_body) {
      if (c.info.http_minor >= 1) {
        c.chunked = true;
        h.append("Transfer-Encoding: chunked\r\n");
      } else {
        keep_alive_ = false;  // HTTP/1.0 without a length: the close ends the body
      }
    }
  }
  if (draining_ || worker_.shutting_down()) keep_alive_ = false;
  if (!keep_alive_)
    h.append("Connection: close\r\n");
  else if (c.info.http_minor == 0)
    h.append("Connection: keep-alive\r\n");
  h.append("\r\n");
  c.head_sent = true;
  return h;
}

void Connection::queue_write(std::unique_ptr<WriteRequest> req, uv_buf_t* bufs, unsigned count) {
  if (!tls_) {
    send(std::move(req), bufs, count);
    return;
  }
  std::string_view pieces[4];
  for (unsigned i = 0; i < count; ++i) pieces[i] = std::string_view(bufs[i].base, bufs[i].len);
  if (!tls_->session.write_plain(std::span<const std::string_view>(pieces, count))) {
    WriteDone done = req->done;
    worker_.return_write(std::move(req));
    complete_later(done, UV_EPROTO);
    return;
  }
  tls_->session.take_ciphertext(req->cipher);
  uv_buf_t cipher = uv_buf_init(req->cipher.data(), static_cast<unsigned>(req->cipher.size()));
  send(std::move(req), &cipher, 1);
}

void Connection::flush_tls_output() {
  if (!tls_->session.has_ciphertext() || handle_closed_) return;
  auto req = worker_.take_write();
  tls_->session.take_ciphertext(req->cipher);
  uv_buf_t cipher = uv_buf_init(req->cipher.data(), static_cast<unsigned>(req->cipher.size()));
  send(std::move(req), &cipher, 1);
}

void Connection::send(std::unique_ptr<WriteRequest> req, uv_buf_t* bufs, unsigned count) {
  size_t bytes = 0;
  for (unsigned i = 0; i < count; ++i) bytes += bufs[i].len;
  worker_.counters().bytes_sent.add(bytes);
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  if (pending_writes_ == 0 && tcp_.write_queue_size == 0) {
    // Nothing queued: write now. A complete write skips libuv's write queue (and the epoll
    // re-arm it costs); its completion still runs later, from the deferred pass.
    int written = send_now(stream, bufs, count, bytes);
    if (written >= 0 && static_cast<size_t>(written) == bytes) {
      WriteDone done = req->done;
      worker_.return_write(std::move(req));
      complete_later(done, 0);
      if (ctx_ && ctx_->finished) worker_.defer(this);
      return;
    }
    if (written < 0 && written != UV_EAGAIN) {
      WriteDone done = req->done;
      worker_.return_write(std::move(req));
      complete_later(done, written);
      on_peer_gone();
      return;
    }
    for (size_t skip = written > 0 ? static_cast<size_t>(written) : 0; skip > 0;) {
      size_t n = std::min<size_t>(skip, bufs->len);
      bufs->base += n;
      bufs->len -= static_cast<unsigned>(n);
      skip -= n;
      if (bufs->len == 0) {
        ++bufs;
        --count;
      }
    }
    bytes -= written > 0 ? static_cast<size_t>(written) : 0;
  }
  req->connection = this;
  req->bytes = bytes;
  req->req.data = req.get();
  int r = uv_write(&req->req, stream, bufs, count, &Connection::on_write);
  if (r != 0) {
    WriteDone done = req->done;
    worker_.return_write(std::move(req));
    complete_later(done, r);
    return;
  }
  ++pending_writes_;
  req.release();  // owned by libuv until on_write hands it back to the pool
  // The socket did not take it all: from now on the client must read within send_timeout.
  if (timer_kind_ < 0) arm_deadline(kSendDeadline);
}

void Connection::on_write(uv_write_t* raw, int status) {
  std::unique_ptr<WriteRequest> req(static_cast<WriteRequest*>(raw->data));
  Connection* self = req->connection;
  --self->pending_writes_;
  WriteDone done = req->done;
  self->worker_.return_write(std::move(req));
  if (done.fn) done.fn(done.ctx, status);
  if (status < 0 && !self->handle_closed_) {
    self->on_peer_gone();
    return;
  }
  if (self->timer_kind_ == kSendDeadline) {  // progress: the client reads
    if (self->pending_writes_ == 0)
      self->disarm_deadline();
    else
      self->arm_deadline(kSendDeadline);
  }
  self->update_body_deadline(false);  // the slot may be free for the body wait again
  if (self->h2_) {                    // room in the socket: the session frames more
    self->update_deadline(true);
    self->defer();
    return;
  }
  if (self->ctx_ && self->ctx_->finished && self->pending_writes_ == 0) self->end_exchange();
}

void Connection::complete_later(WriteDone done, int status) {
  if (!done.fn) return;
  ctx_->completions.emplace_back(done, status);
  worker_.defer(this);
}

void Connection::write(std::string_view data, WriteDone done) {
  RequestContext& c = *ctx_;
  if (c.finished || c.aborted || handle_closed_) {
    complete_later(done, UV_ECANCELED);
    return;
  }
  auto req = worker_.take_write();
  req->done = done;
  uv_buf_t bufs[4];
  unsigned n = 0;
  if (!c.head_sent) bufs[n++] = make_buf(serialize_head());
  if (c.no_body) {
    req->done = {};
    if (n) queue_write(std::move(req), bufs, n);
    complete_later(done, 0);
    return;
  }
  if (c.content_length && !c.tunnel) {
    uint64_t room = *c.content_length - std::min(*c.content_length, c.body_sent);
    if (data.size() > room) {
      worker_.log().warn("site {}: response body longer than its Content-Length; cut",
                         c.site_config ? c.site_config->name : "-");
      data = data.substr(0, room);
      keep_alive_ = false;
    }
  }
  c.body_sent += data.size();
  if (c.chunked && !data.empty()) {
    bufs[n++] =
        uv_buf_init(req->chunk_header, http::write_chunk_size_line(data.size(), req->chunk_header));
    bufs[n++] = make_buf(data);
    bufs[n++] = make_buf("\r\n");
  } else if (!data.empty()) {
    bufs[n++] = make_buf(data);
  }
  if (n == 0) {  // an empty chunk would end a chunked body: nothing to send
    worker_.return_write(std::move(req));
    complete_later(done, 0);
    return;
  }
  queue_write(std::move(req), bufs, n);
}

size_t Connection::write_queue_bytes() const {
  return tcp_.write_queue_size;
}

void Connection::finish() {
  RequestContext& c = *ctx_;
  if (c.finished) return;
  c.finished = true;
  if (handle_closed_ || c.aborted) {
    worker_.defer(this);
    return;
  }
  if (c.body_error && !c.head_sent) {
    c.finished = false;
    send_error_page({c.body_error, 0, "request body rejected"});
    return;
  }
  auto req = worker_.take_write();
  uv_buf_t bufs[2];
  unsigned n = 0;
  if (!c.head_sent) bufs[n++] = make_buf(serialize_head());
  if (c.chunked && !c.no_body) bufs[n++] = make_buf("0\r\n\r\n");
  if (c.content_length && !c.no_body && c.body_sent < *c.content_length) {
    worker_.log().warn("site {}: response ended before its Content-Length; closing",
                       c.site_config ? c.site_config->name : "-");
    keep_alive_ = false;
  }
  if (n == 0) {
    worker_.return_write(std::move(req));
    if (pending_writes_ == 0) worker_.defer(this);
    return;
  }
  queue_write(std::move(req), bufs, n);
}

void Connection::respond_error(const HttpError& error) {
  RequestContext& c = *ctx_;
  if (c.finished) return;
  if (c.head_sent || handle_closed_ || c.aborted) {
    // Too late for a page: cut the connection so the client sees the response is incomplete.
    // After the client went (or was cut by a timeout) the site's error is only the echo of it.
    worker_.log().log(c.aborted || handle_closed_ ? LogLevel::kInfo : LogLevel::kError,
                      "site {}: {} after the response started{}: {}",
                      c.site_config ? c.site_config->name : "-",
                      status_code_text(error.status, error.substatus),
                      c.aborted || handle_closed_ ? " (the client is gone)" : "", error.detail);
    c.finished = true;
    keep_alive_ = false;
    if (!handle_closed_) begin_close();
    worker_.defer(this);
    return;
  }
  if (c.body_error) {
    send_error_page({c.body_error, 0, "request body rejected"});
    return;
  }
  worker_.log().log(error.status >= 500 ? LogLevel::kError : LogLevel::kInfo, "site {}: {} {}: {}",
                    c.site_config ? c.site_config->name : "-",
                    status_code_text(error.status, error.substatus), c.info.target, error.detail);
  send_error_page(error);
}

void Connection::respond_error_and_hold(const HttpError& error) {
  RequestContext& c = *ctx_;
  if (c.finished || c.aborted) return;  // the client is gone: nothing to answer
  keep_alive_ = false;
  // Aborted: the site's later writes complete with an error, and its finish() ends the exchange
  // once the answer is written. ctx_ and the buffer stay until then (maybe_destroy waits).
  c.aborted = true;
  const std::string_view site = c.site_config ? std::string_view(c.site_config->name) : "-";
  if (c.head_sent || handle_closed_) {
    worker_.log().error("site {}: {} after the response started: {}", site,
                        status_code_text(error.status, error.substatus), error.detail);
    if (!handle_closed_) begin_close();
    return;
  }
  worker_.log().log(error.status >= 500 ? LogLevel::kError : LogLevel::kInfo, "site {}: {} {}: {}",
                    site, status_code_text(error.status, error.substatus), c.info.target,
                    error.detail);
  send_error_page(c.body_error ? HttpError{c.body_error, 0, "request body rejected"} : error,
                  false);
}

void Connection::fail_request(int status, int substatus, std::string_view detail) {
  // Front-end errors: the framing may be unsafe, so the connection closes after the page.
  worker_.log().info("{} {}: {}", status_code_text(status, substatus),
                     ctx_->dispatched ? ctx_->info.target : std::string_view("-"), detail);
  disarm_deadline();
  if (status != 404) keep_alive_ = false;
  send_error_page({status, substatus, detail});
}

void Connection::send_error_page(const HttpError& error, bool end) {
  fill_error_page(worker_, *ctx_, error);
  ctx_->finished = end;
  send_own_answer();
}

void Connection::send_own_answer() {
  RequestContext& c = *ctx_;
  if (c.info.has_body && !c.body_done) keep_alive_ = false;  // unread body: framing unknown
  if (handle_closed_) {
    worker_.defer(this);
    return;
  }
  auto req = worker_.take_write();
  uv_buf_t bufs[2];
  unsigned n = 0;
  bufs[n++] = make_buf(serialize_head());
  if (!c.no_body) bufs[n++] = make_buf(c.error_body);
  c.body_sent = c.no_body ? 0 : c.error_body.size();
  queue_write(std::move(req), bufs, n);
}

void Connection::end_exchange() {
  // Write completions still queued (complete_later) belong to this exchange and its site: they
  // run first, from run_deferred, which ends the exchange after them. Ending it now would drop
  // them, and a site waiting for them would count the request in flight for ever.
  if (!ctx_->completions.empty()) {
    worker_.defer(this);
    return;
  }
  RequestContext& c = *ctx_;
  log_access();
  const bool body_complete =
      !c.info.has_body || c.body_done || c.parser.state() == http::RequestParser::State::kComplete;
  if (!body_complete || c.tunnel || c.aborted ||
      c.parser.state() == http::RequestParser::State::kError)
    keep_alive_ = false;
  worker_.return_context(std::move(ctx_));
  if (handle_closed_) {
    maybe_destroy();
    return;
  }
  if (!keep_alive_ || draining_ || worker_.shutting_down()) {
    close_after_response();
    return;
  }
  // Pipelined bytes of the next request move to the front; the next head starts at offset 0.
  if (parsed_ < len_) std::memmove(buf_.get(), buf_.get() + parsed_, len_ - parsed_);
  len_ -= parsed_;
  parsed_ = head_end_ = 0;
  process();
}

void Connection::log_access() {
  sitehost::log_access(worker_, *ctx_, &peer_.sa);
}

}  // namespace sitehost
