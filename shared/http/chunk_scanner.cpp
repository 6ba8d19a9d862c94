#include "shared/http/chunk_scanner.h"

#include <algorithm>

#include "shared/http/http_chars.h"

namespace sitehost::http {

void ChunkScanner::reset(uint64_t max_body, uint32_t max_trailer_bytes, uint32_t max_trailers) {
  *this = ChunkScanner{};
  max_body_ = max_body;
  trailers_.reset(max_trailer_bytes, max_trailers);
}

size_t ChunkScanner::fail(size_t used, Event* event, int status, const char* reason) {
  status_ = status;
  reason_ = reason;
  *event = Event::kError;
  return used;
}

size_t ChunkScanner::scan(const char* p, size_t n, Event* event, bool* skip) {
  size_t i = 0;
  *skip = false;
  while (i < n) {
    const char ch = p[i];
    bool withheld = false;  // is this byte one that llhttp must not see?
    if (state_ == kSize) {
      withheld = ch == ';';
    } else if (state_ == kExt) {
      withheld = ch != '\r';
    } else if (state_ == kTrailers) {
      withheld = !trailers_.ends_section(ch);
    }
    if (i == 0) {
      *skip = withheld;
    } else if (withheld != *skip) {
      *event = Event::kMore;
      return i;
    }
    switch (state_) {
      case kSizeFirst:
      case kSize:
        if (chars::is(ch, chars::kHex)) {
          if (++digits_ > 16) return fail(i, event, 400, "chunk size has more than 16 digits");
          size_ = (size_ << 4) | static_cast<uint64_t>(chars::hex_value(ch));
          // total_ <= max_body_ always holds, so the subtraction cannot wrap.
          if (size_ > max_body_ - total_) return fail(i, event, 413, "chunked body too large");
          state_ = kSize;
        } else if (state_ == kSizeFirst) {
          return fail(i, event, 400, "invalid chunk size");
        } else if (ch == ';') {
          state_ = kExt;
        } else if (ch == '\r') {
          state_ = kSizeLF;
        } else {
          return fail(i, event, 400, "invalid chunk size");
        }
        break;
      case kExt:
        if (ch == '\r') {
          state_ = kSizeLF;
        } else if (ch == '\t' || (static_cast<unsigned char>(ch) >= 0x20 && ch != 0x7f)) {
          if (++ext_length_ > kMaxExtension) return fail(i, event, 400, "chunk extension too long");
        } else {
          return fail(i, event, 400, "invalid character in chunk extension");
        }
        break;
      case kSizeLF:
        if (ch != '\n') return fail(i, event, 400, "bare CR in chunk size line");
        if (size_ == 0) {
          state_ = kTrailers;
        } else {
          total_ += size_;
          remaining_ = size_;
          state_ = kData;
        }
        size_ = 0;
        digits_ = 0;
        ext_length_ = 0;
        break;
      case kData: {
        const uint64_t take = std::min<uint64_t>(remaining_, n - i);
        remaining_ -= take;
        i += static_cast<size_t>(take);
        if (remaining_ == 0) state_ = kDataCR;
        continue;
      }
      case kDataCR:
        if (ch != '\r') return fail(i, event, 400, "chunk data not followed by CRLF");
        state_ = kDataLF;
        break;
      case kDataLF:
        if (ch != '\n') return fail(i, event, 400, "bare CR after chunk data");
        state_ = kSizeFirst;
        break;
      case kTrailers: {
        FieldScanner::Event fe;
        i += trailers_.scan(p + i, n - i, &fe);
        if (fe == FieldScanner::Event::kError) {
          *event = Event::kError;
          return i;
        }
        if (fe == FieldScanner::Event::kEnd) {
          state_ = kDone;
          *event = Event::kEnd;
          return i;
        }
        continue;
      }
      case kDone:
        return fail(i, event, 400, "bytes after the end of the chunked body");
    }
    ++i;
  }
  *event = Event::kMore;
  return n;
}

}  // namespace sitehost::http
