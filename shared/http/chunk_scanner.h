// Byte-level validator for chunked framing, run before llhttp decodes the same bytes.
//
// chunk = 1*16HEXDIG [";" ext] CRLF data CRLF; last-chunk = 1*16"0" [";" ext] CRLF; then the
// trailer section (validated like header lines) and CRLF. llhttp 8.1 accepts a bare CR in the
// size line, the extension and after the data (a smuggling vector); here only CRLF ends them.
// The body limit is checked while the size digits arrive, so no byte beyond it is delivered.
//
// Extensions and trailer lines are validated here and then withheld from llhttp (scan() marks
// them as skipped runs): we use neither, and llhttp 8.1 rejects valid extensions such as
// "5;a=b;c" and would interpret trailer fields such as Content-Length.
#pragma once

#include <cstddef>
#include <cstdint>

#include "shared/http/field_scanner.h"

namespace sitehost::http {

class ChunkScanner {
 public:
  enum class Event : uint8_t {
    kMore,   // every byte given was valid; the body goes on
    kEnd,    // the final CRLF of the message was consumed
    kError,  // status() / reason() say why; the bad byte was not consumed
  };

  // Bytes allowed in one chunk extension (we ignore extensions; this only bounds the waste).
  static constexpr uint32_t kMaxExtension = 4096;

  void reset(uint64_t max_body, uint32_t max_trailer_bytes, uint32_t max_trailers);
  // Lowers or raises the body limit before any chunk has been scanned.
  void set_max_body(uint64_t max_body) { max_body_ = max_body; }

  // Scans one run of [p, p + n) and returns its length. A run is a stretch of bytes that llhttp
  // must see, or (*skip) one that it must not (extension, trailer lines). A run ends at the end
  // of the input, where the other kind begins (kMore), after the last byte of the message
  // (kEnd), or before a bad byte (kError).
  size_t scan(const char* p, size_t n, Event* event, bool* skip);

  uint64_t total() const { return total_; }  // data bytes announced by complete size lines
  int status() const { return status_ ? status_ : trailers_.status(); }
  const char* reason() const { return status_ ? reason_ : trailers_.reason(); }

 private:
  enum State : uint8_t {
    kSizeFirst,
    kSize,
    kExt,
    kSizeLF,
    kData,
    kDataCR,
    kDataLF,
    kTrailers,
    kDone
  };

  size_t fail(size_t used, Event* event, int status, const char* reason);

  State state_ = kSizeFirst;
  uint8_t digits_ = 0;
  uint32_t ext_length_ = 0;
  uint64_t size_ = 0;
  uint64_t remaining_ = 0;
  uint64_t total_ = 0;
  uint64_t max_body_ = 0;
  FieldScanner trailers_;
  int status_ = 0;
  const char* reason_ = "";
};

}  // namespace sitehost::http
