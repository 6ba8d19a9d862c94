#include "proxy/upstream_response_parser.h"

namespace sitehost::proxy {

struct ResponseParserCallbacks {
  static UpstreamResponseParser& self(llhttp_t* p) {
    return *static_cast<UpstreamResponseParser*>(p->data);
  }
  static int status(llhttp_t* p, const char* at, size_t len) { return self(p).on_status(at, len); }
  static int field(llhttp_t* p, const char* at, size_t len) {
    return self(p).on_header_field(at, len);
  }
  static int value(llhttp_t* p, const char* at, size_t len) {
    return self(p).on_header_value(at, len);
  }
  static int headers_complete(llhttp_t* p) { return self(p).on_headers_complete(); }
  static int body(llhttp_t* p, const char* at, size_t len) { return self(p).on_body(at, len); }
  static int message_complete(llhttp_t* p) { return self(p).on_message_complete(); }

  static const llhttp_settings_t& settings() {
    static const llhttp_settings_t s = [] {
      llhttp_settings_t x;
      llhttp_settings_init(&x);
      x.on_status = &status;
      x.on_header_field = &field;
      x.on_header_value = &value;
      x.on_headers_complete = &headers_complete;
      x.on_body = &body;
      x.on_message_complete = &message_complete;
      return x;
    }();
    return s;
  }
};

UpstreamResponseParser::UpstreamResponseParser() {
  llhttp_init(&parser_, HTTP_RESPONSE, &ResponseParserCallbacks::settings());
  parser_.data = this;
  storage_.reserve(4096);
  spans_.reserve(32);
  views_.reserve(32);
}

void UpstreamResponseParser::clear_head() {
  storage_.clear();
  spans_.clear();
  views_.clear();
  reason_offset_ = reason_length_ = 0;
  head_bytes_ = 0;
  in_value_ = false;
}

void UpstreamResponseParser::reset(ResponseHandler* handler, bool head_request) {
  llhttp_init(&parser_, HTTP_RESPONSE, &ResponseParserCallbacks::settings());
  parser_.data = this;
  handler_ = handler;
  head_request_ = head_request;
  clear_head();
  interim_ = head_done_ = complete_ = any_bytes_ = keep_alive_ = false;
  error_ = {};
}

bool UpstreamResponseParser::add_head_bytes(size_t len) {
  head_bytes_ += len;
  if (head_bytes_ > kMaxHeadBytes) {
    error_ = "response head too large";
    return false;
  }
  return true;
}

int UpstreamResponseParser::on_status(const char* at, size_t len) {
  if (!add_head_bytes(len)) return HPE_USER;
  if (reason_length_ == 0) reason_offset_ = static_cast<uint32_t>(storage_.size());
  storage_.append(at, len);
  reason_length_ += static_cast<uint32_t>(len);
  return 0;
}

int UpstreamResponseParser::on_header_field(const char* at, size_t len) {
  if (!add_head_bytes(len)) return HPE_USER;
  if (spans_.empty() || in_value_) {
    uint32_t offset = static_cast<uint32_t>(storage_.size());
    spans_.push_back(Span{offset, 0, offset, 0});
    in_value_ = false;
  }
  storage_.append(at, len);
  spans_.back().name_length += static_cast<uint32_t>(len);
  spans_.back().value_offset = static_cast<uint32_t>(storage_.size());
  return 0;
}

int UpstreamResponseParser::on_header_value(const char* at, size_t len) {
  if (!add_head_bytes(len)) return HPE_USER;
  in_value_ = true;
  storage_.append(at, len);
  spans_.back().value_length += static_cast<uint32_t>(len);
  return 0;
}

int UpstreamResponseParser::on_headers_complete() {
  int status = parser_.status_code;
  if (status >= 100 && status < 200 && status != 101) {
    interim_ = true;  // 100 Continue, 103 Early Hints...: swallowed
    return 0;
  }
  if (status == 101 && !parser_.upgrade) {
    error_ = "101 response without Upgrade";
    return -1;
  }
  for (const Span& s : spans_) {
    views_.push_back(HeaderView{std::string_view(storage_).substr(s.name_offset, s.name_length),
                                std::string_view(storage_).substr(s.value_offset, s.value_length)});
  }
  ResponseHead head;
  head.status = status;
  head.reason = std::string_view(storage_).substr(reason_offset_, reason_length_);
  head.http_major = parser_.http_major;
  head.http_minor = parser_.http_minor;
  head.headers = views_;
  head.chunked = (parser_.flags & F_CHUNKED) != 0;
  if ((parser_.flags & F_CONTENT_LENGTH) && !head.chunked)
    head.content_length = parser_.content_length;
  head.upgrade = status == 101;
  head_done_ = true;
  handler_->on_response_head(head);
  if (status == 101) return 2;  // no body, execute() returns HPE_PAUSED_UPGRADE
  return head_request_ ? 1 : 0;
}

int UpstreamResponseParser::on_body(const char* at, size_t len) {
  handler_->on_response_body(std::string_view(at, len));
  return 0;
}

int UpstreamResponseParser::on_message_complete() {
  if (interim_) {
    interim_ = false;
    clear_head();
    return 0;
  }
  complete_ = true;
  keep_alive_ = llhttp_should_keep_alive(&parser_) != 0;
  if (parser_.status_code == 101) return 0;  // execute() returns HPE_PAUSED_UPGRADE
  return HPE_PAUSED;
}

UpstreamResponseParser::Result UpstreamResponseParser::feed(const char* data, size_t len,
                                                            size_t* consumed) {
  *consumed = 0;
  if (complete_) return Result::kComplete;
  if (!error_.empty()) return Result::kError;
  if (len > 0) any_bytes_ = true;
  llhttp_errno_t r = llhttp_execute(&parser_, data, len);
  switch (r) {
    case HPE_OK:
      *consumed = len;
      return Result::kNeedMore;
    case HPE_PAUSED:
      *consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data);
      return Result::kComplete;
    case HPE_PAUSED_UPGRADE:
      *consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data);
      complete_ = true;
      return Result::kUpgrade;
    default:
      if (error_.empty()) error_ = llhttp_errno_name(r);
      return Result::kError;
  }
}

UpstreamResponseParser::Result UpstreamResponseParser::finish() {
  if (complete_) return Result::kComplete;
  if (!error_.empty()) return Result::kError;
  if (!head_done_) {
    error_ = any_bytes_ ? "connection closed inside the response head"
                        : "connection closed before a response";
    return Result::kError;
  }
  llhttp_errno_t r = llhttp_finish(&parser_);
  if ((r == HPE_OK || r == HPE_PAUSED) && complete_) {
    keep_alive_ = false;
    return Result::kComplete;
  }
  error_ = "connection closed before the end of the response body";
  return Result::kError;
}

}  // namespace sitehost::proxy
