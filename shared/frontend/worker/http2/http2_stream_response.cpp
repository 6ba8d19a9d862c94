// The response side of an HTTP/2 stream (http2_stream.h): the head as a HEADERS frame, the body
// through nghttp2's data provider (DATA as the window allows), errors as pages or RST_STREAM.
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "shared/errors/error_page.h"
#include "shared/frontend/worker/connection.h"
#include "shared/frontend/worker/exchange_answers.h"
#include "shared/frontend/worker/http2/http2_session.h"
#include "shared/frontend/worker/http2/http2_stream.h"
#include "shared/frontend/worker/worker.h"
#include "shared/http/field_rules.h"

namespace sitehost {

namespace {

nghttp2_nv make_nv(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

ssize_t read_callback(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                      nghttp2_data_source* source, void*) {
  return static_cast<Http2Stream*>(source->ptr)->read_response(buf, length, flags);
}

}  // namespace

void Http2Stream::set_status(int status, std::string_view) {
  // HTTP/2 has no reason phrase; interim (1xx) answers are not a site's to send here.
  if (ctx_->head_sent || status < 200 || status > 999) return;
  ctx_->status = status;
}

bool Http2Stream::add_header(std::string_view name, std::string_view value) {
  return add_site_header(*ctx_, name, value, true);
}

void Http2Stream::send_continue() {
  ctx_->continue_sent = true;
  const nghttp2_nv status = make_nv(":status", "100");
  nghttp2_submit_headers(session_.native(), NGHTTP2_FLAG_NONE, id_, nullptr, &status, 1, nullptr);
}

void Http2Stream::submit_head(bool with_body) {
  RequestContext& c = *ctx_;
  const int st = c.status;
  c.head_sent = true;
  submitted_ = true;
  c.no_body = c.info.is_head || st == 204 || st == 304;
  const int code = st % 1000;  // set_status keeps it in 200..999
  status_text_[0] = static_cast<char>('0' + code / 100);
  status_text_[1] = static_cast<char>('0' + code / 10 % 10);
  status_text_[2] = static_cast<char>('0' + code % 10);
  nva_.clear();
  nva_.push_back(make_nv(":status", std::string_view(status_text_, 3)));
  std::string_view date = session_.worker().date_header();  // "Date: ...\r\n"
  if (!c.site_set_date) nva_.push_back(make_nv("date", date.substr(6, date.size() - 8)));
  if (!c.site_set_server) nva_.push_back(make_nv("server", "sitehost"));
  // c.site_headers holds "name: value\r\n" lines, names already lowercase (add_site_header).
  std::string_view lines = c.site_headers;
  while (!lines.empty()) {
    const size_t colon = lines.find(": ");
    const size_t eol = lines.find("\r\n", colon);
    nva_.push_back(make_nv(lines.substr(0, colon), lines.substr(colon + 2, eol - colon - 2)));
    lines.remove_prefix(eol + 2);
  }
  const bool body_allowed = st != 204 && st != 304;
  if (c.content_length && body_allowed) {
    std::snprintf(content_length_text_, sizeof content_length_text_, "%" PRIu64, *c.content_length);
    nva_.push_back(make_nv("content-length", content_length_text_));
  } else if (!with_body && body_allowed && !c.info.is_head) {
    nva_.push_back(make_nv("content-length", "0"));
  }
  nghttp2_data_provider provider{};
  provider.source.ptr = this;
  provider.read_callback = &read_callback;
  const bool data = with_body && !c.no_body;
  nghttp2_submit_response(session_.native(), id_, nva_.data(), nva_.size(),
                          data ? &provider : nullptr);
  session_.schedule();
}

void Http2Stream::write(std::string_view data, WriteDone done) {
  RequestContext& c = *ctx_;
  if (c.finished || c.aborted || closed_) {
    complete_later(done, UV_ECANCELED);
    return;
  }
  if (!c.head_sent) submit_head(true);
  if (c.no_body) {
    complete_later(done, 0);
    return;
  }
  if (c.content_length) {
    const uint64_t room = *c.content_length - std::min(*c.content_length, c.body_sent);
    if (data.size() > room) {
      session_.worker().log().warn("site {}: response body longer than its Content-Length; cut",
                                   c.site_config ? c.site_config->name : "-");
      data = data.substr(0, room);
    }
  }
  c.body_sent += data.size();
  if (data.empty()) {
    complete_later(done, 0);
    return;
  }
  out_.push_back({data, done});
  out_bytes_ += data.size();
  if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(session_.native(), id_);
  }
  session_.schedule();
}

ssize_t Http2Stream::read_response(uint8_t* buf, size_t length, uint32_t* data_flags) {
  size_t n = 0;
  while (n < length && out_head_ < out_.size()) {
    OutChunk& chunk = out_[out_head_];
    const size_t take = std::min(length - n, chunk.data.size() - out_offset_);
    std::memcpy(buf + n, chunk.data.data() + out_offset_, take);
    n += take;
    out_offset_ += take;
    out_bytes_ -= take;
    if (out_offset_ == chunk.data.size()) {  // framed: its buffer is the site's again
      complete_later(chunk.done, 0);
      ++out_head_;
      out_offset_ = 0;
    }
  }
  if (out_head_ == out_.size()) {
    out_.clear();
    out_head_ = 0;
  }
  const bool ending = ctx_ && (ctx_->finished || own_answer_);
  if (n == 0 && !ending) {
    deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  if (ending && out_.empty()) {
    const RequestContext& c = *ctx_;
    if (c.content_length && !c.no_body && c.body_sent < *c.content_length) {
      session_.worker().log().warn("site {}: response ended before its Content-Length; reset",
                                   c.site_config ? c.site_config->name : "-");
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // RST_STREAM INTERNAL_ERROR
    }
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  }
  return static_cast<ssize_t>(n);
}

bool Http2Stream::waiting_for_window() const {
  if (out_bytes_ == 0 || closed_) return false;
  nghttp2_session* s = session_.native();
  return nghttp2_session_get_stream_remote_window_size(s, id_) <= 0 ||
         nghttp2_session_get_remote_window_size(s) <= 0;
}

size_t Http2Stream::write_queue_bytes() const {
  return out_bytes_ + session_.connection_queue_bytes();
}

void Http2Stream::finish() {
  RequestContext& c = *ctx_;
  if (c.finished) return;
  c.finished = true;
  if (closed_ || c.aborted) {
    session_.schedule();
    return;
  }
  if (c.body_error && !c.head_sent) {
    answer_own({c.body_error, 0, "request body rejected"});
    return;
  }
  if (!c.head_sent) {
    submit_head(false);
  } else if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(session_.native(), id_);
  }
  session_.schedule();
}

void Http2Stream::answer_own(const HttpError& error) {
  RequestContext& c = *ctx_;
  fill_error_page(session_.worker(), c, error);
  if (!c.dispatched) c.finished = true;
  send_own_body();
}

// An answer of the front end's own (an error page, the health answer): c.error_body is the body.
void Http2Stream::send_own_body() {
  RequestContext& c = *ctx_;
  own_answer_ = true;
  if (!c.info.is_head) {
    out_.push_back({c.error_body, {}});
    out_bytes_ += c.error_body.size();
    c.body_sent = c.error_body.size();
  }
  submit_head(!c.info.is_head);
}

void Http2Stream::respond_error(const HttpError& error) {
  RequestContext& c = *ctx_;
  if (c.finished) return;
  Logger& log = session_.worker().log();
  const std::string_view site = c.site_config ? std::string_view(c.site_config->name) : "-";
  if (c.head_sent || closed_ || c.aborted) {
    const bool gone = closed_ || c.aborted;  // the site's error only echoes the client's leaving
    log.log(gone ? LogLevel::kInfo : LogLevel::kError,
            "site {}: {} after the response started{}: {}", site,
            status_code_text(error.status, error.substatus), gone ? " (the client is gone)" : "",
            error.detail);
    c.finished = true;
    reset_stream(NGHTTP2_INTERNAL_ERROR);
    return;
  }
  log.log(error.status >= 500 ? LogLevel::kError : LogLevel::kInfo, "site {}: {} {}: {}", site,
          status_code_text(error.status, error.substatus), c.info.target, error.detail);
  c.finished = true;
  answer_own(c.body_error ? HttpError{c.body_error, 0, "request body rejected"} : error);
}

void Http2Stream::respond_error_and_hold(const HttpError& error) {
  RequestContext& c = *ctx_;
  if (c.finished || c.aborted) return;
  c.aborted = true;  // later writes fail; the site's finish() ends the exchange
  Logger& log = session_.worker().log();
  const std::string_view site = c.site_config ? std::string_view(c.site_config->name) : "-";
  if (c.head_sent || closed_) {
    log.error("site {}: {} after the response started: {}", site,
              status_code_text(error.status, error.substatus), error.detail);
    reset_stream(NGHTTP2_INTERNAL_ERROR);
    return;
  }
  log.log(error.status >= 500 ? LogLevel::kError : LogLevel::kInfo, "site {}: {} {}: {}", site,
          status_code_text(error.status, error.substatus), c.info.target, error.detail);
  answer_own(c.body_error ? HttpError{c.body_error, 0, "request body rejected"} : error);
}

void Http2Stream::response_sent() {
  response_ended_ = true;
  // The request body is not complete: ask the client to stop sending it (RFC 9113 §8.1).
  if (!end_received_) reset_stream(NGHTTP2_NO_ERROR);
}

void Http2Stream::reset_stream(uint32_t error_code) {
  if (!closed_ && !rst_sent_) {
    rst_sent_ = true;
    nghttp2_submit_rst_stream(session_.native(), NGHTTP2_FLAG_NONE, id_, error_code);
  }
  session_.schedule();
}

void Http2Stream::complete_later(WriteDone done, int status) {
  if (!done.fn) return;
  ctx_->completions.emplace_back(done, status);
  session_.schedule();
}

}  // namespace sitehost
