// WebSockets through sitehost to the app's UseWebSockets endpoint (ASP.NET Core keeps them on only
// because sitehost sets ASPNETCORE_IIS_WEBSOCKETS_SUPPORTED): text and a 1 MiB binary message
// echo over http and https, then a clean close.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/aspnetcore/aspnetcore_fixture.h"
#include "tests/support/tls_client.h"
#include "tests/support/websocket.h"

namespace sitehost::test {
namespace {

// Reads one whole message (continuation frames joined); nullopt when the connection ends.
std::optional<WsFrame> read_message(Client& c) {
  auto first = ws_read_frame(c);
  if (!first) return first;
  while (!first->fin) {
    auto next = ws_read_frame(c);
    if (!next) return next;
    first->payload += next->payload;
    first->fin = next->fin;
  }
  return first;
}

void echo_session(Client& c) {
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(
      c.send("GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  while (c.pending().find("\r\n\r\n") == std::string::npos)
    ASSERT_TRUE(c.read_at_least(c.pending().size() + 1)) << c.pending();
  size_t head_end = c.pending().find("\r\n\r\n") + 4;
  std::string head = c.pending().substr(0, head_end);
  c.pending().erase(0, head_end);
  ASSERT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
  EXPECT_NE(head.find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos) << head;

  ASSERT_TRUE(c.send(ws_client_frame(kWsText, "hello kestrel")));
  auto text = read_message(c);
  ASSERT_TRUE(text);
  EXPECT_EQ(text->opcode, kWsText);
  EXPECT_EQ(text->payload, "hello kestrel");

  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  ASSERT_TRUE(c.send(ws_client_frame(kWsBinary, big)));
  auto binary = read_message(c);
  ASSERT_TRUE(binary);
  EXPECT_EQ(binary->opcode, kWsBinary);
  EXPECT_TRUE(binary->payload == big)
      << "binary echo differs (" << binary->payload.size() << " bytes back)";

  ASSERT_TRUE(c.send(ws_client_frame(kWsClose, std::string("\x03\xe8", 2))));
  auto close = ws_read_frame(c);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, kWsClose);
}

TEST_F(AspNetCore, WebSocketEchoOverHttp) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  Client c(http_port_, 20s);
  ASSERT_NO_FATAL_FAILURE(echo_session(c));
}

TEST_F(AspNetCore, WebSocketEchoOverHttps) {
  ASSERT_NO_FATAL_FAILURE(start({.https = true}));
  TlsClient c(https_port_, "localhost", 20s);
  ASSERT_NO_FATAL_FAILURE(echo_session(c));
}

}  // namespace
}  // namespace sitehost::test
