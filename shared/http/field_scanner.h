// Byte-level validator for a field section (request header lines or chunked trailers).
//
// Runs before llhttp sees the bytes and closes llhttp 8.1's gaps: CR CR / "\r\n\r<x>" taken as
// the end of the section, bare CR or LF line endings, obs-fold, empty field names, whitespace
// before the colon, NUL and other controls in values. It also enforces the section's size limits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sitehost::http {

class FieldScanner {
 public:
  enum class Event : uint8_t {
    kMore,   // every byte given was valid; the section goes on
    kLine,   // a field line ended (its LF consumed); name() / value() describe it
    kEnd,    // the empty line ending the section was consumed
    kError,  // status() / reason() say why; the bad byte was not consumed
  };

  void reset(uint32_t max_bytes, uint32_t max_fields);

  // Scans [p, p + n) up to the next event and returns how many bytes it consumed. The bytes of
  // one line must be contiguous in memory across calls (name() / value() point into them).
  size_t scan(const char* p, size_t n, Event* event);

  std::string_view name() const { return {name_begin_, size_t(name_end_ - name_begin_)}; }
  // Without the leading and trailing OWS.
  std::string_view value() const { return {value_begin_, size_t(value_end_ - value_begin_)}; }
  // True when `next` is a byte of the section's final CRLF rather than of a field line.
  bool ends_section(char next) const {
    return (state_ == kLineStart && next == '\r') || state_ == kEndLF;
  }
  int status() const { return status_; }
  const char* reason() const { return reason_; }

 private:
  enum State : uint8_t { kLineStart, kName, kValueStart, kValue, kLineLF, kEndLF, kDone };

  size_t fail(size_t used, Event* event, int status, const char* reason);

  State state_ = kLineStart;
  uint32_t bytes_ = 0;
  uint32_t fields_ = 0;
  uint32_t max_bytes_ = 0;
  uint32_t max_fields_ = 0;
  const char* name_begin_ = nullptr;
  const char* name_end_ = nullptr;
  const char* value_begin_ = nullptr;
  const char* value_end_ = nullptr;
  int status_ = 0;
  const char* reason_ = "";
};

}  // namespace sitehost::http
