// Byte-level validator for a request head: the request line, then the header section.
//
// Strict request-line grammar: method SP request-target SP "HTTP/" DIGIT "." DIGIT CRLF, with
// method = 1*tchar, target = 1*(visible ASCII except '#'), single SPs. One empty line before
// the request line is ignored (RFC 9112 §2.2); a second one is an error. The request-line length
// (without CRLF) is checked on every byte, so an endless line fails as soon as it is too long.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "shared/http/field_scanner.h"

namespace sitehost::http {

class HeadScanner {
 public:
  enum class Event : uint8_t {
    kMore,         // every byte given was valid; the head goes on
    kSkipped,      // the ignored empty line before the request line was consumed
    kRequestLine,  // the request line ended (its LF consumed); method() ... describe it
    kField,        // a header line ended; fields().name() / value() describe it
    kEnd,          // the empty line ending the head was consumed
    kError,        // status() / reason() say why; the bad byte was not consumed
  };

  void reset(uint32_t max_request_line, uint32_t max_header_bytes, uint32_t max_headers);

  // Scans [p, p + n) up to the next event and returns how many bytes it consumed. The head must
  // be contiguous in memory across calls: the views point into it.
  size_t scan(const char* p, size_t n, Event* event);

  std::string_view method() const { return {method_begin_, size_t(method_end_ - method_begin_)}; }
  std::string_view target() const { return {target_begin_, size_t(target_end_ - target_begin_)}; }
  int http_major() const { return major_; }
  int http_minor() const { return minor_; }
  const FieldScanner& fields() const { return fields_; }

  int status() const { return status_ ? status_ : fields_.status(); }
  const char* reason() const { return status_ ? reason_ : fields_.reason(); }

 private:
  enum State : uint8_t {
    kStart,
    kLeadLF,
    kMethod,
    kTargetStart,
    kTarget,
    kVersion,
    kLineLF,
    kFields
  };

  size_t fail(size_t used, Event* event, int status, const char* reason);

  State state_ = kStart;
  uint8_t version_pos_ = 0;  // index into "HTTP/D.D"
  bool skipped_empty_line_ = false;
  int major_ = 0;
  int minor_ = 0;
  uint32_t line_length_ = 0;
  uint32_t max_request_line_ = 0;
  const char* method_begin_ = nullptr;
  const char* method_end_ = nullptr;
  const char* target_begin_ = nullptr;
  const char* target_end_ = nullptr;
  FieldScanner fields_;
  int status_ = 0;
  const char* reason_ = "";
};

}  // namespace sitehost::http
