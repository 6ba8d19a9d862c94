// WebSockets (RFC 6455) through every variant, against the ws_echo sample app: the handshake,
// a masked text frame and a large binary frame echoed back, and the closing handshake.
#include <openssl/sha.h>

#include <cstdint>
#include <optional>
#include <string>

#include "tests/matrix/matrix_fixture.h"
#include "tests/support/tls_client.h"

namespace sitehost::test {
namespace {

using WebSocket = Matrix;

enum Opcode : uint8_t { kContinuation = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9 };

std::string accept_for(const std::string& key) {
  std::string text = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return base64(std::string(reinterpret_cast<char*>(digest), sizeof digest));
}

// A client frame: FIN set, masked with a fixed key (as every client frame must be).
std::string client_frame(uint8_t opcode, const std::string& payload) {
  std::string f(1, static_cast<char>(0x80 | opcode));
  const size_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else if (n <= 0xffff) {
    f += static_cast<char>(0x80 | 126);
    for (int shift = 8; shift >= 0; shift -= 8) f += static_cast<char>((n >> shift) & 0xff);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) f += static_cast<char>((n >> shift) & 0xff);
  }
  const char mask[4] = {0x1b, 0x2c, 0x3d, 0x4e};
  f.append(mask, 4);
  for (size_t i = 0; i < n; ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
  return f;
}

struct Message {
  uint8_t opcode = 0;
  std::string payload;
};

// Reads one message (continuation frames joined, pings skipped). Server frames are unmasked.
std::optional<Message> read_message(Client& c) {
  Message m;
  for (;;) {
    if (!c.read_at_least(2)) return std::nullopt;
    auto byte = [&](size_t i) { return static_cast<uint8_t>(c.pending()[i]); };
    const bool fin = byte(0) & 0x80;
    const uint8_t opcode = byte(0) & 0x0f;
    EXPECT_EQ(byte(1) & 0x80, 0) << "a server frame must not be masked";
    uint64_t n = byte(1) & 0x7f;
    size_t head = 2;
    if (n >= 126) {
      const size_t bytes = n == 126 ? 2 : 8;
      if (!c.read_at_least(2 + bytes)) return std::nullopt;
      n = 0;
      for (size_t i = 0; i < bytes; ++i) n = n << 8 | byte(2 + i);
      head += bytes;
    }
    if (!c.read_at_least(head + n)) return std::nullopt;
    std::string payload = c.pending().substr(head, n);
    c.pending().erase(0, head + n);
    if (opcode == kPing) continue;
    if (opcode != kContinuation) m.opcode = opcode;
    m.payload += payload;
    if (fin) return m;
  }
}

TEST_P(WebSocket, EchoTextAndLargeBinaryThenClose) {
  ASSERT_NO_FATAL_FAILURE(start({.library = "ws_echo"}));
  auto c = connect(20s);
  ASSERT_TRUE(c->connected());
  const std::string key = base64("matrix-ws-key-16");
  ASSERT_TRUE(
      c->send("GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
              "Connection: Upgrade\r\nSec-WebSocket-Key: " +
              key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  auto r = c->read_response();
  ASSERT_TRUE(r) << log();
  ASSERT_EQ(r->status, 101) << r->body << log();
  EXPECT_EQ(r->header("Sec-WebSocket-Accept"), accept_for(key));
  auto upgrade = r->header("Upgrade");
  EXPECT_TRUE(upgrade && (*upgrade == "websocket" || *upgrade == "WebSocket")) << *upgrade;

  const std::string text = "hello through the matrix";
  ASSERT_TRUE(c->send(client_frame(kText, text)));
  auto t = read_message(*c);
  ASSERT_TRUE(t) << log();
  EXPECT_EQ(t->opcode, kText);
  EXPECT_EQ(t->payload, text);

  const std::string binary = test_bytes(1u << 20, 11);  // 64-bit length form
  ASSERT_TRUE(c->send(client_frame(kBinary, binary)));
  auto b = read_message(*c);
  ASSERT_TRUE(b) << log();
  EXPECT_EQ(b->opcode, kBinary);
  EXPECT_EQ(b->payload.size(), binary.size());
  EXPECT_TRUE(b->payload == binary) << "the binary echo differs";

  ASSERT_TRUE(c->send(client_frame(kClose, std::string("\x03\xe8", 2) + "bye")));
  auto close = read_message(*c);
  ASSERT_TRUE(close) << log();
  EXPECT_EQ(close->opcode, kClose);
  ASSERT_GE(close->payload.size(), 2u);
  EXPECT_EQ(close->payload.substr(0, 2), std::string("\x03\xe8", 2));
  EXPECT_TRUE(c->closed_within(5s)) << "the server keeps the connection after the close";
}

SITEHOST_MATRIX_SUITE(WebSocket);

}  // namespace
}  // namespace sitehost::test
