#include "shared/http/head_scanner.h"

#include "shared/http/http_chars.h"

namespace sitehost::http {

void HeadScanner::reset(uint32_t max_request_line, uint32_t max_header_bytes,
                        uint32_t max_headers) {
  *this = HeadScanner{};
  max_request_line_ = max_request_line;
  fields_.reset(max_header_bytes, max_headers);
}

size_t HeadScanner::fail(size_t used, Event* event, int status, const char* reason) {
  status_ = status;
  reason_ = reason;
  *event = Event::kError;
  return used;
}

size_t HeadScanner::scan(const char* p, size_t n, Event* event) {
  static constexpr char kVersionPattern[] = "HTTP/D.D";
  for (size_t i = 0; i < n; ++i) {
    if (state_ == kFields) {
      FieldScanner::Event fe;
      const size_t used = fields_.scan(p + i, n - i, &fe);
      switch (fe) {
        case FieldScanner::Event::kMore:
          *event = Event::kMore;
          break;
        case FieldScanner::Event::kLine:
          *event = Event::kField;
          break;
        case FieldScanner::Event::kEnd:
          *event = Event::kEnd;
          break;
        case FieldScanner::Event::kError:
          *event = Event::kError;
          break;
      }
      return i + used;
    }
    const char* c = p + i;
    const char ch = *c;
    bool counts = true;  // part of the request line as limited by max_request_line
    switch (state_) {
      case kStart:
        if (chars::is(ch, chars::kToken)) {
          method_begin_ = c;
          state_ = kMethod;
        } else if (ch == '\r' && !skipped_empty_line_) {
          state_ = kLeadLF;
          counts = false;
        } else {
          return fail(i, event, 400, "invalid request line");
        }
        break;
      case kLeadLF:
        if (ch != '\n') return fail(i, event, 400, "bare CR before the request line");
        skipped_empty_line_ = true;
        state_ = kStart;
        *event = Event::kSkipped;
        return i + 1;
      case kMethod:
        if (ch == ' ') {
          method_end_ = c;
          state_ = kTargetStart;
        } else if (!chars::is(ch, chars::kToken)) {
          return fail(i, event, 400, "invalid character in method");
        }
        break;
      case kTargetStart:
      case kTarget:
        if (chars::is(ch, chars::kTarget)) {
          if (state_ == kTargetStart) target_begin_ = c;
          state_ = kTarget;
        } else if (ch == ' ' && state_ == kTarget) {
          target_end_ = c;
          state_ = kVersion;
        } else if (ch == '#') {
          return fail(i, event, 400, "fragment in request target");
        } else if (ch == '\r' || ch == '\n') {
          return fail(i, event, 400, "request line without HTTP version (HTTP/0.9 style)");
        } else {
          return fail(i, event, 400, "invalid character in request target");
        }
        break;
      case kVersion: {
        const char want = kVersionPattern[version_pos_];
        if (version_pos_ == 8) {
          if (ch != '\r') return fail(i, event, 400, "invalid HTTP version");
          state_ = kLineLF;
          counts = false;
        } else if (want == 'D') {
          if (ch < '0' || ch > '9') return fail(i, event, 400, "invalid HTTP version");
          (version_pos_ == 5 ? major_ : minor_) = ch - '0';
        } else if (ch != want) {
          return fail(i, event, 400, "invalid HTTP version");
        }
        ++version_pos_;
        break;
      }
      case kLineLF:
        if (ch != '\n') return fail(i, event, 400, "bare CR in request line (CRLF required)");
        state_ = kFields;
        *event = Event::kRequestLine;
        return i + 1;
      case kFields:
        break;  // handled above
    }
    if (counts && ++line_length_ > max_request_line_) {
      return fail(i, event, 414, "request line too long");
    }
  }
  *event = Event::kMore;
  return n;
}

}  // namespace sitehost::http
