// HTTP/1.1 basics through the real binary: keep-alive, pipelining, chunked bodies,
// 100-continue, HEAD, Connection: close, HTTP/1.0.
#include "tests/frontend/frontend_fixture.h"

namespace sitehost::test {
namespace {

class HttpBasics : public FrontendTest {
 protected:
  void SetUp() override { start(); }
};

TEST_F(HttpBasics, AnswersAGet) {
  auto r = http_request(port, "GET", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "Hello, World!");
  EXPECT_TRUE(r->header("Date"));
  EXPECT_EQ(r->header("Server"), "sitehost");
}

TEST_F(HttpBasics, KeepAliveServesSeveralRequestsOnOneConnection) {
  Client c(port);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_FALSE(r->header("Connection").has_value());
  }
}

TEST_F(HttpBasics, PipelinedResponsesComeInOrder) {
  Client c(port);
  std::string batch;
  for (int i = 0; i < 5; ++i)
    batch += "GET /info/req" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  batch += "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  batch += "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(c.send(batch));
  for (int i = 0; i < 5; ++i) {
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_NE(r->body.find("/req" + std::to_string(i)), std::string::npos) << r->body;
  }
  auto echo = c.read_response();
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->body, "hello");
  auto last = c.read_response();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->body, "Hello, World!");
}

TEST_F(HttpBasics, ChunkedRequestBodyIsDecoded) {
  Client c(port);
  ASSERT_TRUE(
      c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world!");
  // The connection stays usable after a chunked body.
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto again = c.read_response();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST_F(HttpBasics, ExpectContinueGetsInterimResponseBeforeBody) {
  Client c(port);
  ASSERT_TRUE(
      c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
             "Expect: 100-continue\r\n\r\n"));
  auto interim = c.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("ping"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ping");
}

TEST_F(HttpBasics, ExpectContinueOverTheLimitGets413WithoutBody) {
  Client c(port);
  ASSERT_TRUE(
      c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n"
             "Expect: 100-continue\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(c.closed_within(2s));
}

TEST_F(HttpBasics, HeadHasHeadersButNoBody) {
  Client c(port);
  ASSERT_TRUE(c.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = c.read_response(/*head_request=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->body.empty());
  // If a body had been sent, it would be parsed as the next response's status line.
  auto get = c.read_response();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "Hello, World!");
}

TEST_F(HttpBasics, ConnectionCloseClosesAfterTheResponse) {
  Client c(port);
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(c.closed_within(2s));
}

TEST_F(HttpBasics, Http10ClosesUnlessKeepAlive) {
  {
    Client c(port);
    ASSERT_TRUE(c.send("GET / HTTP/1.0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(c.closed_within(2s));
  }
  Client c(port);
  ASSERT_TRUE(c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Connection"), "keep-alive");
  ASSERT_TRUE(c.send("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(c.read_response());
}

TEST_F(HttpBasics, LargeChunkedUploadIsStreamed) {
  Client c(port, 20s);
  std::string chunk(64 * 1024, 'x');
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  for (int i = 0; i < 9; ++i) {
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    ASSERT_TRUE(c.send(size + chunk + "\r\n")) << i;
  }
  ASSERT_TRUE(c.send("0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.size(), 9 * chunk.size());
}

}  // namespace
}  // namespace sitehost::test
