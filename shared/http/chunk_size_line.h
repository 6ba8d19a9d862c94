// The size line of one chunk of a chunked body, "<hex size>\r\n", written without formatting
// machinery (it runs for every chunk the front end or the proxy sends).
#pragma once

#include <cstddef>

namespace sitehost::http {

inline constexpr size_t kChunkSizeLineMax = 18;  // 16 hex digits + CRLF

// Writes the line into `out` (at least kChunkSizeLineMax bytes) and returns its length.
inline unsigned write_chunk_size_line(size_t size, char* out) {
  char digits[16];
  unsigned n = 0;
  do {
    digits[n++] = "0123456789abcdef"[size & 0xf];
    size >>= 4;
  } while (size);
  for (unsigned i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  out[n] = '\r';
  out[n + 1] = '\n';
  return n + 2;
}

}  // namespace sitehost::http
