#include "tests/support/websocket.h"

namespace sitehost::test {

std::string ws_client_frame(int opcode, const std::string& payload, bool fin) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
  const uint64_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xffff) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>(n >> (8 * i)));
  }
  const char mask[4] = {'\x3a', '\x7c', '\x01', '\xe5'};
  f.append(mask, 4);
  for (size_t i = 0; i < payload.size(); ++i)
    f.push_back(static_cast<char>(payload[i] ^ mask[i & 3]));
  return f;
}

std::optional<WsFrame> ws_read_frame(Client& c) {
  if (!c.read_at_least(2)) return std::nullopt;
  const std::string& b = c.pending();
  auto byte = [&](size_t i) { return static_cast<unsigned char>(b[i]); };
  WsFrame f;
  f.fin = (byte(0) & 0x80) != 0;
  f.opcode = byte(0) & 0x0f;
  f.masked = (byte(1) & 0x80) != 0;
  uint64_t len = byte(1) & 0x7f;
  size_t header = 2;
  if (len >= 126) {
    const size_t bytes = len == 126 ? 2 : 8;
    if (!c.read_at_least(2 + bytes)) return std::nullopt;
    len = 0;
    for (size_t i = 0; i < bytes; ++i) len = len << 8 | byte(2 + i);
    header += bytes;
  }
  if (!c.read_at_least(header + len)) return std::nullopt;
  f.payload = c.pending().substr(header, len);
  c.pending().erase(0, header + len);
  return f;
}

}  // namespace sitehost::test
