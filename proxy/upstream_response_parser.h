// Parses the child's responses (llhttp in HTTP_RESPONSE mode) on one upstream connection.
//
// The head is copied into storage the parser owns (it may span several reads); body bytes are
// handed out as views into the caller's buffer, chunked framing removed. Interim 1xx responses
// (except 101) are swallowed. The parser stops after each final response so the caller decides
// what the remaining bytes are (the next response is never expected: one exchange at a time).
#pragma once

#include <llhttp.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shared/site/exchange.h"

namespace sitehost::proxy {

struct ResponseHead {
  int status = 0;
  std::string_view reason;
  int http_major = 1;
  int http_minor = 1;
  std::span<const HeaderView> headers;
  std::optional<uint64_t> content_length;
  bool chunked = false;
  bool upgrade = false;  // 101 with Upgrade + Connection: upgrade
};

class ResponseHandler {
 public:
  virtual void on_response_head(const ResponseHead& head) = 0;
  virtual void on_response_body(std::string_view chunk) = 0;

 protected:
  ~ResponseHandler() = default;
};

class UpstreamResponseParser {
 public:
  enum class Result {
    kNeedMore,  // all bytes consumed, the response is not complete
    kComplete,  // the final response ended; `consumed` tells where
    kUpgrade,   // a 101 head ended; the bytes after `consumed` belong to the tunnel
    kError,     // the child broke HTTP; error() says how
  };

  static constexpr size_t kMaxHeadBytes = 64 * 1024;

  UpstreamResponseParser();
  UpstreamResponseParser(const UpstreamResponseParser&) = delete;
  UpstreamResponseParser& operator=(const UpstreamResponseParser&) = delete;

  // Expects a new response; `head_request`: the response has no body whatever it says.
  void reset(ResponseHandler* handler, bool head_request);

  Result feed(const char* data, size_t len, size_t* consumed);
  // The child closed the connection: completes a read-until-close body, else an error.
  Result finish();

  bool head_done() const { return head_done_; }
  bool any_bytes() const { return any_bytes_; }
  bool keep_alive() const { return keep_alive_; }
  std::string_view error() const { return error_; }

 private:
  friend struct ResponseParserCallbacks;

  int on_status(const char* at, size_t len);
  int on_header_field(const char* at, size_t len);
  int on_header_value(const char* at, size_t len);
  int on_headers_complete();
  int on_body(const char* at, size_t len);
  int on_message_complete();
  bool add_head_bytes(size_t len);
  void clear_head();

  struct Span {
    uint32_t name_offset, name_length, value_offset, value_length;
  };

  llhttp_t parser_;
  ResponseHandler* handler_ = nullptr;
  std::string storage_;            // reason + header names/values of the current head
  std::vector<Span> spans_;        // capacity kept across responses
  std::vector<HeaderView> views_;  // built when the head completes
  uint32_t reason_offset_ = 0, reason_length_ = 0;
  size_t head_bytes_ = 0;
  bool in_value_ = false;
  bool head_request_ = false;
  bool interim_ = false;
  bool head_done_ = false;
  bool complete_ = false;
  bool any_bytes_ = false;
  bool keep_alive_ = false;
  std::string_view error_;
};

}  // namespace sitehost::proxy
