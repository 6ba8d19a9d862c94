// Byte classes of the HTTP/1.1 grammar (RFC 9110 / 9112), as one lookup table.
#pragma once

#include <array>
#include <cstdint>

namespace sitehost::http::chars {

enum : uint8_t {
  kToken = 1 << 0,       // tchar: method and field-name characters
  kTarget = 1 << 1,      // request-target: visible ASCII except '#' (fragments are rejected)
  kFieldValue = 1 << 2,  // field-vchar: VCHAR or obs-text (SP / HTAB are handled separately)
  kHex = 1 << 3,         // HEXDIG
  kHost = 1 << 4,        // uri-host [":" port]: unreserved, sub-delims, ':', '[', ']', '%'
};

inline constexpr std::array<uint8_t, 256> kTable = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    uint8_t m = 0;
    if (alpha || digit) m |= kToken | kHost;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) m |= kHex;
    if (c > 0x20 && c < 0x7f && c != '#') m |= kTarget;
    if ((c > 0x20 && c < 0x7f) || c >= 0x80) m |= kFieldValue;
    t[c] = m;
  }
  for (unsigned char c : std::array<char, 15>{'!', '#', '$', '%', '&', '\'', '*', '+', '-', '.',
                                              '^', '_', '`', '|', '~'}) {
    t[c] |= kToken;
  }
  for (unsigned char c : std::array<char, 19>{'-', '.', '_', '~', '!', '$', '&', '\'', '(', ')',
                                              '*', '+', ',', ';', '=', ':', '[', ']', '%'}) {
    t[c] |= kHost;
  }
  return t;
}();

inline bool is(char c, uint8_t cls) {
  return (kTable[static_cast<unsigned char>(c)] & cls) != 0;
}

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;  // callers check kHex first
}

}  // namespace sitehost::http::chars
