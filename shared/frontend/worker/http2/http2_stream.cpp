// One HTTP/2 request stream as an Exchange (http2_stream.h): the request side (fields, limits,
// routing, body with flow control) is here; the response side is in http2_stream_response.cpp.
#include "shared/frontend/worker/http2/http2_stream.h"

#include <cstring>

#include "shared/frontend/worker/connection.h"
#include "shared/frontend/worker/exchange_answers.h"
#include "shared/frontend/worker/http2/http2_session.h"
#include "shared/frontend/worker/request_routing.h"
#include "shared/frontend/worker/worker.h"
#include "shared/http/field_rules.h"
#include "shared/http/http_chars.h"
#include "shared/http/target.h"

namespace sitehost {

Http2Stream::Http2Stream(Http2Session& session) : session_(session) {}

Http2Stream::~Http2Stream() = default;

unsigned Http2Stream::loop_index() const {
  return session_.worker().index();
}

void Http2Stream::begin(int32_t id, std::unique_ptr<RequestContext> ctx) {
  id_ = id;
  ctx_ = std::move(ctx);
  ctx_->reset();
  ctx_->started = std::chrono::steady_clock::now();
  // Before any check: an answer the front end gives the stream is an HTTP/2 exchange too (the
  // access log line, sitehost_requests_by_protocol_total).
  ctx_->info.http_major = 2;
  ctx_->info.http_minor = 0;
  fields_.clear();
  field_index_.clear();
  headers_.clear();
  cookie_.clear();
  field_bytes_ = field_count_ = 0;
  body_in_.clear();
  body_received_ = 0;
  end_received_ = false;
  out_.clear();
  out_head_ = out_offset_ = out_bytes_ = 0;
  closed_ = deferred_ = submitted_ = response_ended_ = rst_sent_ = false;
  request_seen_ = body_error_told_ = own_answer_ = over_limits_ = false;
}

bool Http2Stream::add_field(std::string_view name, std::string_view value) {
  const ServerConfig& config = session_.worker().config();
  field_bytes_ += static_cast<uint32_t>(name.size() + value.size() + 4);  // ": " and CRLF
  ++field_count_;
  // Far past the limits is no mistake but an HPACK bomb: the session ends the connection.
  if (field_bytes_ > 4 * (config.max_header_bytes + config.max_request_line) ||
      field_count_ > 4 * config.max_headers + 8)
    return false;
  if (field_bytes_ > config.max_header_bytes + config.max_request_line ||
      field_count_ > config.max_headers + 4) {
    over_limits_ = true;  // counted, not kept: 431 once the block ends
    return true;
  }
  field_index_.push_back({static_cast<uint32_t>(fields_.size()), static_cast<uint32_t>(name.size()),
                          static_cast<uint32_t>(fields_.size() + name.size()),
                          static_cast<uint32_t>(value.size())});
  fields_.append(name).append(value);
  return true;
}

// The pseudo-header fields become the request line, the rest the headers; the HTTP/1.1 rules
// that still mean something here apply as they do there (docs/http2.md).
HttpError Http2Stream::fill_request_info() {
  RequestInfo& i = ctx_->info;
  std::string_view authority, scheme;
  bool has_authority = false;
  uint32_t regular_bytes = 0, regular_count = 0;
  for (const Field& f : field_index_) {
    const std::string_view name(fields_.data() + f.name_at, f.name_len);
    const std::string_view value(fields_.data() + f.value_at, f.value_len);
    if (name == ":method") {
      i.method = value;
    } else if (name == ":path") {
      i.target = value;
    } else if (name == ":authority") {
      authority = value;
      has_authority = true;
    } else if (name == ":scheme") {
      scheme = value;
    } else if (name == "cookie") {
      cookie_.append(cookie_.empty() ? "" : "; ").append(value);
    } else {
      headers_.push_back({name, value});
      regular_bytes += static_cast<uint32_t>(name.size() + value.size() + 4);
      ++regular_count;
    }
  }
  if (!cookie_.empty()) {
    headers_.push_back({"cookie", cookie_});
    regular_bytes += static_cast<uint32_t>(cookie_.size() + 10);
    ++regular_count;
  }
  i.headers = std::span<const HeaderView>(headers_.data(), headers_.size());
  const ServerConfig& config = session_.worker().config();
  if (i.method == "CONNECT") return {501, 0, "CONNECT is not supported (not a forward proxy)"};
  if (i.target.size() > config.max_request_line)
    return {414, 0, ":path longer than max_request_line"};
  if (over_limits_ || regular_bytes > config.max_header_bytes || regular_count > config.max_headers)
    return {431, 0, "request header fields over max_header_bytes or max_headers"};
  if (!http::is_known_method(i.method)) return {501, 0, "unknown method"};
  for (char ch : i.target)
    if (!http::chars::is(ch, http::chars::kTarget)) return {400, 0, "invalid character in :path"};
  http::TargetParts parts;
  if (const char* error = http::split_target(i.method, i.target, &parts)) return {400, 0, error};
  i.path = parts.path;
  i.query = parts.query;
  const auto host = i.header("host");
  if (has_authority && host && *host != authority) return {400, 0, ":authority and Host differ"};
  i.host = has_authority ? authority : host.value_or("");
  if (!http::valid_authority(i.host)) return {400, 0, "invalid :authority"};
  (void)scheme;  // nghttp2 checked it is present; the connection says whether it is TLS
  if (auto length = i.header("content-length")) {
    uint64_t n = 0;
    if (!http::parse_content_length(*length, &n)) return {400, 0, "invalid content-length"};
    i.content_length = n;
  }
  i.has_body = !end_received_;
  // Without a length the body's end is END_STREAM; towards HTTP/1.1 peers it is chunked.
  i.chunked = i.has_body && !i.content_length;
  i.expect_continue = false;  // the 100 goes out when the site starts reading (read_body)
  i.is_head = i.method == "HEAD";
  Connection& conn = session_.connection();
  i.tls = conn.tls_session() != nullptr;
  i.client_certificate = conn.client_certificate();
  std::memcpy(&ctx_->remote, conn.peer_address(), sizeof(sockaddr_in6));
  std::memcpy(&ctx_->local, conn.local_address(), sizeof(sockaddr_in6));
  ctx_->addresses_known = true;
  i.remote = &ctx_->remote;
  i.local = &ctx_->local;
  return {0, 0, {}};
}

void Http2Stream::headers_done(bool end_stream) {
  end_received_ = end_stream;
  request_seen_ = true;
  if (const HttpError error = fill_request_info(); error.status != 0) {
    session_.worker().log().info("{} {}: {}", error.status,
                                 ctx_->info.target.empty() ? "-" : ctx_->info.target, error.detail);
    answer_own(error);
    return;
  }
  dispatch();
}

void Http2Stream::dispatch() {
  Worker& worker = session_.worker();
  Connection& conn = session_.connection();
  RequestContext& c = *ctx_;
  const RouteDecision d = route_request(worker, c, conn.port(), conn.tls_session(), true);
  switch (d.kind) {
    case RouteDecision::Kind::kHealth:
      c.dispatched = true;
      fill_health_answer(worker, c);
      c.finished = true;
      send_own_body();
      return;
    case RouteDecision::Kind::kError:
      worker.log().info("{} {}: {}", d.error.status, c.info.target, d.error.detail);
      answer_own(d.error);
      return;
    case RouteDecision::Kind::kRedirect:
      c.dispatched = true;
      set_status(308, {});
      add_header("location", d.location);
      finish();
      return;
    case RouteDecision::Kind::kDispatch:
      break;
  }
  c.dispatched = true;
  if (worker.log().enabled(LogLevel::kDebug))
    worker.log().debug("dispatch {} {} to site {} (HTTP/2 stream {})", c.info.method, c.info.target,
                       c.site_config->name, id_);
  c.site->handle(*this);
}

// ---------------------------------------------------------------------------------------------
// Request body: DATA frames are acknowledged (the window reopened) only once the site took them.

void Http2Stream::body_data(std::string_view data) {
  RequestContext& c = *ctx_;
  body_received_ += data.size();
  note_body_progress();
  const uint64_t limit = c.site_config ? c.site_config->max_allowed_content_length : UINT64_MAX;
  if (body_received_ > limit && !c.body_error) {
    c.body_error = 413;  // the site hears it from deliver_body(); the answer is a 413
    session_.schedule();
  }
  if (c.body_error || c.finished || c.aborted) {
    nghttp2_session_consume(session_.native(), id_, data.size());  // discarded
    return;
  }
  if (c.reader && !c.body_paused && body_in_.empty() && c.body_started) {
    c.reader->on_body_data(data);
    if (ctx_ && !closed_) nghttp2_session_consume(session_.native(), id_, data.size());
    return;
  }
  body_in_.append(data);  // at most the stream's window
}

void Http2Stream::body_end() {
  end_received_ = true;
  if (ctx_ && ctx_->body_started) session_.schedule();
}

void Http2Stream::read_body(BodyReader& reader) {
  RequestContext& c = *ctx_;
  c.reader = &reader;
  if (c.body_started) return;
  c.body_started = true;
  note_body_progress();
  if (c.info.has_body && !c.head_sent && !c.continue_sent) {
    const auto expect = c.info.header("expect");
    if (expect && http::iequals(*expect, "100-continue")) send_continue();
  }
  session_.schedule();  // delivered from the loop, never inside this call
}

void Http2Stream::pause_body() {
  ctx_->body_paused = true;
}

void Http2Stream::resume_body() {
  if (!ctx_->body_paused) return;
  ctx_->body_paused = false;
  note_body_progress();  // the client waited for our window: its wait starts now
  session_.schedule();
}

void Http2Stream::note_body_progress() {
  body_wait_since_ = uv_now(session_.worker().loop());
}

bool Http2Stream::awaiting_body() const {
  return ctx_ && !closed_ && !end_received_ && body_in_.empty() && ctx_->site_reads_body();
}

// The 408 (end_stalled_body) on this stream; the connection and its other streams go on.
// Once the site's answer is out, response_sent() resets the stream (its body never ended).
void Http2Stream::body_timed_out() {
  body_error_told_ = true;
  end_stalled_body(session_.worker(), *ctx_);
  session_.schedule();
}

void Http2Stream::deliver_body() {
  RequestContext& c = *ctx_;
  if (!c.reader || !c.body_started || c.body_done || c.finished) return;
  if (c.body_error) {
    if (!body_error_told_) {
      body_error_told_ = true;
      c.reader->on_body_error(c.body_error);
    }
    return;
  }
  if (!body_in_.empty() && !c.body_paused) {
    const size_t n = body_in_.size();
    c.reader->on_body_data(body_in_);  // the site copies what it keeps during the call
    body_in_.clear();
    if (!closed_) nghttp2_session_consume(session_.native(), id_, n);
  }
  if (body_in_.empty() && end_received_ && !c.body_paused && !c.body_done && !c.body_error) {
    c.body_done = true;
    c.reader->on_body_end();
  }
}

void Http2Stream::transport_closed(uint32_t error_code) {
  closed_ = true;
  deferred_ = false;
  if (!ctx_) return;
  cancel_queued_writes();
  RequestContext& c = *ctx_;
  const bool complete = response_ended_ && error_code == NGHTTP2_NO_ERROR;
  if (!complete && c.dispatched && !c.finished) abort();
}

void Http2Stream::abort() {
  if (!ctx_) return;
  RequestContext& c = *ctx_;
  closed_ = true;
  cancel_queued_writes();
  if (!c.dispatched || c.finished || c.aborted) return;
  c.aborted = true;
  if (c.reader && !c.body_done && !body_error_told_) {
    c.body_error = 499;
    body_error_told_ = true;
    c.reader->on_body_error(499);
  }
  if (ctx_ && c.abort_handler.fn) {
    AbortHandler handler = std::exchange(c.abort_handler, {});
    handler.fn(handler.ctx);
  }
}

// Writes that will never be framed complete with an error (from the deferred pass), so a site
// waiting for them can end its exchange.
void Http2Stream::cancel_queued_writes() {
  for (size_t i = out_head_; i < out_.size(); ++i) complete_later(out_[i].done, UV_ECANCELED);
  out_.clear();
  out_head_ = out_offset_ = out_bytes_ = 0;
}

void Http2Stream::run_deferred() {
  if (!ctx_) return;
  if (!ctx_->completions.empty()) {
    Worker& worker = session_.worker();
    Worker::Completions completions = worker.take_completions();
    completions.swap(ctx_->completions);  // a callback may finish the exchange
    for (auto& [done, status] : completions)
      if (done.fn) done.fn(done.ctx, status);
    worker.give_back_completions(std::move(completions));
  }
  if (ctx_ && ctx_->dispatched && !ctx_->finished && !ctx_->aborted) deliver_body();
  if (ctx_ && done()) end_exchange();
}

bool Http2Stream::done() const {
  if (!ctx_) return true;
  const RequestContext& c = *ctx_;
  const bool site_done = !c.dispatched || c.finished;
  return closed_ && site_done && c.completions.empty();
}

void Http2Stream::end_exchange() {
  if (request_seen_) log_access(session_.worker(), *ctx_, session_.connection().peer_address());
  session_.worker().return_context(std::move(ctx_));
}

}  // namespace sitehost
