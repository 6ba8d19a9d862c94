// How the pieces fit:
//
//  * Every byte goes through our own validators first (HeadScanner, then ChunkScanner for a
//    chunked body). They implement the strict grammar, the size limits and the framing that
//    llhttp 8.1 gets wrong, and they decide where the head and the message end.
//  * llhttp runs behind them as a second, independent parser. In the head it is given whole
//    validated lines only, after our request rules accepted them (so a duplicate identical
//    Content-Length line can be withheld from it, and 501 / 505 are decided before llhttp can
//    turn them into a generic error). At the end of the head its view of the framing (method,
//    version, Content-Length, chunked) must equal ours, and in the body it must end the message
//    on exactly the byte our validator did; any disagreement is a 400.
//  * llhttp decodes the body (on_body → BodySink) and supplies keep-alive and upgrade.
//
// Feeding whole lines to llhttp means remembering where the current line started, possibly in
// an earlier feed() call: that is the documented contract (the head stays contiguous and in
// place), and it is checked (a head fed from elsewhere fails with 500).
#include "shared/http/request_parser.h"

#include <algorithm>

#include "shared/http/field_rules.h"
#include "shared/http/target.h"

namespace sitehost::http {

struct ParserCallbacks {
  static RequestParser* self(llhttp_t* p) { return static_cast<RequestParser*>(p->data); }
  static int on_headers_complete(llhttp_t* p) { return self(p)->on_llhttp_headers_complete(); }
  static int on_body(llhttp_t* p, const char* at, size_t len) {
    return self(p)->on_llhttp_body(at, len);
  }
  static int on_message_complete(llhttp_t* p) { return self(p)->on_llhttp_message_complete(); }
};

RequestParser::RequestParser() {
  llhttp_settings_init(&settings_);
  settings_.on_headers_complete = &ParserCallbacks::on_headers_complete;
  settings_.on_body = &ParserCallbacks::on_body;
  settings_.on_message_complete = &ParserCallbacks::on_message_complete;
  llhttp_init(&parser_, HTTP_REQUEST, &settings_);  // no lenient flags: strict
  parser_.data = this;
  start(Limits{});
}

void RequestParser::start(const Limits& limits) {
  limits_ = limits;
  state_ = State::kHead;
  // Keep the headers' capacity: after the first messages no allocation happens.
  std::vector<HeaderView> headers = std::move(head_.headers);
  headers.clear();
  head_ = ParsedHead{};
  head_.headers = std::move(headers);
  sink_ = nullptr;
  body_bytes_ = 0;
  error_status_ = 0;
  error_reason_ = {};
  head_scanner_.reset(limits.max_request_line, limits.max_header_bytes, limits.max_headers);
  next_ = nullptr;
  llhttp_from_ = nullptr;
  line_start_ = nullptr;
  chunked_codings_ = 0;
  host_seen_ = false;
  te_seen_ = false;
  // Message boundaries are ours, so llhttp simply starts afresh for every message.
  llhttp_reset(&parser_);
}

bool RequestParser::fail(int status, const char* reason) {
  if (state_ != State::kError) {  // the first error is the one reported
    state_ = State::kError;
    error_status_ = status;
    error_reason_ = reason ? reason : "invalid request";
  }
  return false;
}

size_t RequestParser::feed(const char* data, size_t len, BodySink* sink) {
  if (len == 0) return 0;
  switch (state_) {
    case State::kHead:
      return feed_head(data, len);
    case State::kBody: {
      sink_ = sink;
      const size_t used = feed_body(data, len);
      sink_ = nullptr;
      return used;
    }
    case State::kComplete:
    case State::kError:
      break;
  }
  return 0;
}

size_t RequestParser::feed_head(const char* data, size_t len) {
  if (next_ == nullptr) {
    llhttp_from_ = data;
    line_start_ = data;
  } else if (data != next_) {
    fail(500, "request head not fed from one contiguous buffer");
    return 0;
  }
  // llhttp gets the validated lines in one call at the end of the head (one call per request
  // instead of one per line); a dropped line is cut out by handing it what precedes it first.
  size_t off = 0;
  while (off < len && state_ == State::kHead) {
    HeadScanner::Event event;
    off += head_scanner_.scan(data + off, len - off, &event);
    const char* end = data + off;
    switch (event) {
      case HeadScanner::Event::kMore:
        break;
      case HeadScanner::Event::kSkipped:
        llhttp_from_ = end;  // the ignored empty line is not llhttp's business
        line_start_ = end;
        break;
      case HeadScanner::Event::kRequestLine:
        on_request_line();
        line_start_ = end;
        break;
      case HeadScanner::Event::kField: {
        const FieldScanner& f = head_scanner_.fields();
        const FieldAction action = on_field(f.name(), f.value());
        if (action == FieldAction::kDrop && run_llhttp(line_start_, false)) llhttp_from_ = end;
        line_start_ = end;
        break;
      }
      case HeadScanner::Event::kEnd:
        if (on_head_end()) run_llhttp(end, true);
        break;
      case HeadScanner::Event::kError:
        fail(head_scanner_.status(), head_scanner_.reason());
        break;
    }
  }
  next_ = data + off;
  return off;
}

// Gives llhttp the validated head bytes up to `end`. Inside the head it must just accept them;
// at the end of the head our callbacks pause it (state kBody, or kComplete without a body).
bool RequestParser::run_llhttp(const char* end, bool head_end) {
  const char* from = llhttp_from_;
  llhttp_from_ = end;
  const llhttp_errno_t err = llhttp_execute(&parser_, from, static_cast<size_t>(end - from));
  if (state_ == State::kError) return false;  // one of our callbacks failed
  if (!head_end) {
    if (err == HPE_OK) return true;
    return fail(400, llhttp_get_error_reason(&parser_));
  }
  const bool paused = err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE;
  if (paused && state_ != State::kHead && llhttp_get_error_pos(&parser_) == end) return true;
  return fail(400, paused || err == HPE_OK ? "llhttp did not end the head where the validator did"
                                           : llhttp_get_error_reason(&parser_));
}

bool RequestParser::on_request_line() {
  const std::string_view method = head_scanner_.method();
  const std::string_view target = head_scanner_.target();
  const int major = head_scanner_.http_major();
  const int minor = head_scanner_.http_minor();
  head_.method = method;
  head_.target = target;
  head_.http_major = major;
  head_.http_minor = minor;
  // Order: the preface, then the version (nothing else means anything without it), then the
  // method, then the target.
  if (method == "PRI" && target == "*" && major == 2 && minor == 0) {
    return fail(400, "HTTP/2 connection preface (no site on this address enables h2c)");
  }
  if (major != 1 || minor > 1) return fail(505, "HTTP version not supported");
  if (method == "CONNECT") return fail(501, "CONNECT is not supported (not a forward proxy)");
  if (!is_known_method(method)) return fail(501, "unknown method");
  head_.is_head = method == "HEAD";
  TargetParts parts;
  if (const char* error = split_target(method, target, &parts)) return fail(400, error);
  head_.path = parts.path;
  head_.query = parts.query;
  // RFC 9112 §3.2.2: with absolute-form the target's authority is the host, not Host.
  head_.host = parts.authority;
  return true;
}

RequestParser::FieldAction RequestParser::on_field(std::string_view name, std::string_view value) {
  auto reject = [this](int status, const char* reason) {
    fail(status, reason);
    return FieldAction::kError;
  };
  if (iequals(name, "host")) {
    if (host_seen_) return reject(400, "more than one Host header");
    if (!valid_authority(value)) return reject(400, "invalid Host header");
    host_seen_ = true;
    const bool absolute_form = head_.target.front() != '/' && head_.target != "*";
    if (!absolute_form) head_.host = value;
  } else if (iequals(name, "content-length")) {
    uint64_t length = 0;
    if (!parse_content_length(value, &length)) return reject(400, "invalid Content-Length");
    if (te_seen_) return reject(400, "Content-Length with Transfer-Encoding");
    if (head_.content_length) {
      if (*head_.content_length != length) return reject(400, "conflicting Content-Length");
      // An identical duplicate means the same message length: keep one. llhttp rejects any
      // duplicate, so the line is withheld from it (and from head().headers).
      return FieldAction::kDrop;
    }
    head_.content_length = length;
  } else if (iequals(name, "transfer-encoding")) {
    if (head_.http_minor == 0) return reject(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (head_.content_length) return reject(400, "Content-Length with Transfer-Encoding");
    te_seen_ = true;
    const TransferCodings codings = parse_transfer_encoding(value);
    if (codings.other) return reject(501, "unsupported transfer coding");
    if (codings.empty_element) return reject(400, "empty Transfer-Encoding element");
    chunked_codings_ += codings.chunked;
    if (chunked_codings_ > 1) return reject(400, "chunked applied more than once");
    head_.chunked = true;
  } else if (iequals(name, "expect")) {
    if (!iequals(value, "100-continue")) return reject(417, "unsupported Expect");
    // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored.
    head_.expect_continue = head_.http_minor == 1;
  }
  head_.headers.push_back(HeaderView{name, value});
  return FieldAction::kKeep;
}

void RequestParser::set_max_body(uint64_t max_body) {
  limits_.max_body = max_body;
  if (head_.chunked) chunk_scanner_.set_max_body(max_body);
}

bool RequestParser::on_head_end() {
  if (head_.http_minor == 1 && !host_seen_) return fail(400, "HTTP/1.1 request without Host");
  if (head_.content_length && *head_.content_length > limits_.max_body) {
    return fail(413, "Content-Length exceeds the body limit");
  }
  if (head_.chunked) {
    chunk_scanner_.reset(limits_.max_body, limits_.max_header_bytes, limits_.max_headers);
  }
  return true;
}

int RequestParser::on_llhttp_headers_complete() {
  // Both parsers must agree on everything that frames the message.
  const bool ll_chunked = (parser_.flags & F_CHUNKED) != 0;
  const bool ll_length = (parser_.flags & F_CONTENT_LENGTH) != 0;
  if (head_.method != llhttp_method_name(static_cast<llhttp_method_t>(parser_.method)) ||
      parser_.http_major != head_.http_major || parser_.http_minor != head_.http_minor ||
      ll_chunked != head_.chunked || ll_length != head_.content_length.has_value() ||
      (ll_length && parser_.content_length != *head_.content_length)) {
    fail(400, "llhttp disagrees with the head validator");
    return -1;
  }
  const bool has_body = head_.chunked || head_.content_length.value_or(0) > 0;
  head_.keep_alive = llhttp_should_keep_alive(&parser_) != 0;
  // An upgrade is offered with Connection: upgrade + Upgrade. It is honoured only for HTTP/1.1
  // (RFC 9110 §7.8: ignore it in HTTP/1.0) and without a body (otherwise the body would have to
  // be read before the switch); an ignored offer is an ordinary request.
  head_.upgrade = parser_.upgrade != 0 && head_.http_minor == 1 && !has_body;
  if (has_body) {
    state_ = State::kBody;
    return HPE_PAUSED;
  }
  return 0;  // llhttp goes on to on_message_complete without reading a byte
}

size_t RequestParser::feed_body(const char* data, size_t len) {
  if (llhttp_get_errno(&parser_) == HPE_PAUSED) llhttp_resume(&parser_);
  if (!head_.chunked) {
    const uint64_t left = *head_.content_length - body_bytes_;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(len, left));
    run_llhttp_body(data, n, n == left);
    return n;
  }
  size_t off = 0;
  while (off < len && state_ == State::kBody) {
    ChunkScanner::Event event;
    bool skip = false;
    const size_t n = chunk_scanner_.scan(data + off, len - off, &event, &skip);
    if (n > 0 && !skip) run_llhttp_body(data + off, n, event == ChunkScanner::Event::kEnd);
    off += n;
    if (event == ChunkScanner::Event::kError) {
      fail(chunk_scanner_.status(), chunk_scanner_.reason());
    } else if (event == ChunkScanner::Event::kEnd && state_ != State::kComplete) {
      fail(400, "llhttp did not end the body where the validator did");
    }
  }
  return off;
}

// Gives llhttp validated body bytes. It must end the message exactly at the validator's end.
bool RequestParser::run_llhttp_body(const char* p, size_t n, bool at_end) {
  const llhttp_errno_t err = llhttp_execute(&parser_, p, n);
  if (state_ == State::kError) return false;  // one of our callbacks failed
  const bool paused = err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE;
  if (!at_end) {
    if (err == HPE_OK) return true;
  } else if (paused && state_ == State::kComplete && llhttp_get_error_pos(&parser_) == p + n &&
             (!head_.chunked || chunk_scanner_.total() == body_bytes_)) {
    return true;
  }
  return fail(400, err == HPE_OK || paused ? "llhttp did not end the body where the validator did"
                                           : llhttp_get_error_reason(&parser_));
}

int RequestParser::on_llhttp_body(const char* at, size_t len) {
  body_bytes_ += len;
  if (body_bytes_ > limits_.max_body) {  // cannot happen: the validators stop earlier
    fail(413, "body too large");
    return -1;
  }
  if (sink_ != nullptr) sink_->on_parsed_body(std::string_view(at, len));
  return 0;
}

int RequestParser::on_llhttp_message_complete() {
  if (state_ == State::kBody && !head_.chunked && body_bytes_ != *head_.content_length) {
    fail(400, "llhttp ended the body early");
    return -1;
  }
  state_ = State::kComplete;
  return HPE_PAUSED;  // stop right here: pipelined bytes stay unconsumed
}

}  // namespace sitehost::http
