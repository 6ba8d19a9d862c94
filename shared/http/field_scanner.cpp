#include "shared/http/field_scanner.h"

#include <algorithm>

#include "shared/http/http_chars.h"

namespace sitehost::http {

void FieldScanner::reset(uint32_t max_bytes, uint32_t max_fields) {
  *this = FieldScanner{};
  max_bytes_ = max_bytes;
  max_fields_ = max_fields;
}

size_t FieldScanner::fail(size_t used, Event* event, int status, const char* reason) {
  status_ = status;
  reason_ = reason;
  *event = Event::kError;
  return used;
}

// The one place a value byte that is not allowed gets its reason.
static const char* bad_value_byte(char c) {
  if (c == '\0') return "NUL in header";
  if (c == '\n') return "bare LF in header (CRLF required)";
  return "control character in header value";
}

size_t FieldScanner::scan(const char* p, size_t n, Event* event) {
  for (size_t i = 0; i < n; ++i) {
    if (state_ == kName || state_ == kValue) {
      // The bulk of a head: the rest of a name or value in one tight loop (same checks as the
      // switch below, which takes the byte that ends the run, or crosses the size limit).
      const uint8_t cls = state_ == kName ? chars::kToken : chars::kFieldValue;
      const size_t room = std::min<size_t>(n - i, max_bytes_ - bytes_);
      size_t run = 0;
      while (run < room && chars::is(p[i + run], cls)) ++run;
      if (run != 0) {
        bytes_ += static_cast<uint32_t>(run);
        i += run;
        if (state_ == kValue) value_end_ = p + i;
        if (i == n) break;
      }
    }
    const char* c = p + i;
    const char ch = *c;
    Event out = Event::kMore;
    switch (state_) {
      case kLineStart:
        if (chars::is(ch, chars::kToken)) {
          if (++fields_ > max_fields_) return fail(i, event, 431, "too many header fields");
          name_begin_ = c;
          state_ = kName;
        } else if (ch == '\r') {
          state_ = kEndLF;
        } else if (ch == ' ' || ch == '\t') {
          return fail(i, event, 400, "obs-fold or whitespace at the start of a header line");
        } else if (ch == ':') {
          return fail(i, event, 400, "empty header name");
        } else if (ch == '\n' || ch == '\0') {
          return fail(i, event, 400, bad_value_byte(ch));
        } else {
          return fail(i, event, 400, "invalid character in header name");
        }
        break;
      case kName:
        if (chars::is(ch, chars::kToken)) break;
        if (ch == ':') {
          name_end_ = c;
          value_begin_ = value_end_ = c + 1;
          state_ = kValueStart;
        } else if (ch == ' ' || ch == '\t') {
          return fail(i, event, 400, "whitespace between header name and colon");
        } else if (ch == '\r' || ch == '\n') {
          return fail(i, event, 400, "header line without a colon");
        } else {
          return fail(i, event, 400, "invalid character in header name");
        }
        break;
      case kValueStart:
      case kValue:
        if (chars::is(ch, chars::kFieldValue)) {
          if (state_ == kValueStart) value_begin_ = c;
          value_end_ = c + 1;
          state_ = kValue;
        } else if (ch == ' ' || ch == '\t') {
          // Leading OWS moves the (empty) value along; trailing OWS is left out of value_end_.
          if (state_ == kValueStart) value_begin_ = value_end_ = c + 1;
        } else if (ch == '\r') {
          state_ = kLineLF;
        } else {
          return fail(i, event, 400, bad_value_byte(ch));
        }
        break;
      case kLineLF:
        if (ch != '\n') return fail(i, event, 400, "bare CR in header (CRLF required)");
        state_ = kLineStart;
        out = Event::kLine;
        break;
      case kEndLF:
        // llhttp 8.1 ends the section at "\r\n\r" whatever follows: only CRLF may end it here.
        if (ch != '\n') return fail(i, event, 400, "CR not followed by LF at the end of headers");
        state_ = kDone;
        out = Event::kEnd;
        break;
      case kDone:
        return fail(i, event, 400, "bytes after the end of the header section");
    }
    // Syntax first, then the size: the byte that crosses the limit is the one reported.
    if (++bytes_ > max_bytes_) return fail(i, event, 431, "header section too large");
    if (out != Event::kMore) {
      *event = out;
      return i + 1;
    }
  }
  *event = Event::kMore;
  return n;
}

}  // namespace sitehost::http
