// HTTP/1.x request parser: llhttp 8.1 in strict mode plus the checks llhttp 8.1 misses
// (request smuggling gaps fixed upstream later), the size limits and the request-level rules.
//
// Zero-copy contract: every view in ParsedHead points into the bytes given to feed(). The caller
// feeds the head from one contiguous buffer, in order, and does not move those bytes while the
// head is in use.
#pragma once

#include <llhttp.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "shared/http/chunk_scanner.h"
#include "shared/http/head_scanner.h"
#include "shared/site/exchange.h"

namespace sitehost::http {

struct Limits {
  uint32_t max_request_line = 8 * 1024;   // request line without CRLF; longer → 414
  uint32_t max_header_bytes = 16 * 1024;  // header lines after the request line; more → 431
  uint32_t max_headers = 100;             // more header fields → 431
  uint64_t max_body = 30000000;           // Content-Length or chunked total; more → 413
};

struct ParsedHead {
  std::string_view method;
  std::string_view target;  // raw request-target
  std::string_view path;    // target's path ("/..."; "*" for OPTIONS *; absolute-form reduced)
  std::string_view query;   // after '?', without it
  std::string_view host;    // Host header value ("" when absent on HTTP/1.0)
  int http_major = 1;
  int http_minor = 1;
  std::vector<HeaderView> headers;  // in arrival order; capacity reused across messages
  std::optional<uint64_t> content_length;
  bool chunked = false;
  bool keep_alive = true;  // after Connection header and version rules
  bool upgrade = false;    // Connection: upgrade + Upgrade header (body = tunnel after 101)
  bool expect_continue = false;
  bool is_head = false;
};

class BodySink {
 public:
  virtual void on_parsed_body(std::string_view chunk) = 0;

 protected:
  ~BodySink() = default;
};

class RequestParser {
 public:
  enum class State {
    kHead,      // still reading the head
    kBody,      // head complete, body bytes follow (feed more to get them)
    kComplete,  // message complete; the next feed() after start() begins the next message
    kError,     // error_status() says what to answer; the connection must be closed after it
  };

  RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Begins a new message (the parser can be reused for every message on a connection).
  void start(const Limits& limits);

  // Parses up to `len` bytes and returns how many it consumed. It stops early: right after the
  // head completes (state() becomes kBody or kComplete, nothing of the body is consumed), right
  // after the message completes (pipelined bytes stay unconsumed), or on an error. In kBody, body
  // bytes are decoded (chunked framing removed) and handed to `sink`. An upgrade request
  // (head().upgrade) has no body and is kComplete after its head: the bytes after it belong to
  // the new protocol and are not the parser's business. Rules: docs/http-parsing.md.
  size_t feed(const char* data, size_t len, BodySink* sink);

  // Sets the body limit once the head is parsed and before any body byte is fed (the front end
  // knows the site's limit only after routing). Content-Length is the caller's to check.
  void set_max_body(uint64_t max_body);

  State state() const { return state_; }
  const ParsedHead& head() const { return head_; }
  uint64_t body_bytes() const { return body_bytes_; }

  // On kError: the status to answer (400, 413, 414, 417, 431, 501, 505; 500 when the caller
  // broke the contiguity contract) and a short reason for logs.
  int error_status() const { return error_status_; }
  std::string_view error_reason() const { return error_reason_; }

 private:
  // llhttp callbacks (static trampolines live in the .cpp).
  friend struct ParserCallbacks;

  enum class FieldAction : uint8_t { kKeep, kDrop, kError };

  size_t feed_head(const char* data, size_t len);
  size_t feed_body(const char* data, size_t len);
  bool on_request_line();
  FieldAction on_field(std::string_view name, std::string_view value);
  bool on_head_end();
  bool run_llhttp(const char* end, bool head_end);
  bool run_llhttp_body(const char* p, size_t n, bool at_end);
  bool fail(int status, const char* reason);
  int on_llhttp_headers_complete();
  int on_llhttp_body(const char* at, size_t len);
  int on_llhttp_message_complete();

  llhttp_t parser_;
  llhttp_settings_t settings_;
  Limits limits_;
  State state_ = State::kHead;
  ParsedHead head_;
  BodySink* sink_ = nullptr;
  uint64_t body_bytes_ = 0;
  int error_status_ = 0;
  std::string_view error_reason_;
  // Every byte passes these validators before llhttp sees it (see the .cpp for why).
  HeadScanner head_scanner_;
  ChunkScanner chunk_scanner_;
  const char* next_ = nullptr;         // where the next head byte must be (contiguity check)
  const char* llhttp_from_ = nullptr;  // first head byte not yet given to llhttp
  const char* line_start_ = nullptr;   // where the head line being scanned began
  int chunked_codings_ = 0;
  bool host_seen_ = false;
  bool te_seen_ = false;
};

}  // namespace sitehost::http
