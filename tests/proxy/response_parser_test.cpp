// The upstream response parser: framing, interim responses, split input, errors.
#include "proxy/upstream_response_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sitehost::proxy {
namespace {

struct Collect : ResponseHandler {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<uint64_t> content_length;
  bool chunked = false;
  int heads = 0;
  std::string body;
  void on_response_head(const ResponseHead& h) override {
    ++heads;
    status = h.status;
    reason = h.reason;
    chunked = h.chunked;
    content_length = h.content_length;
    for (const auto& x : h.headers) headers.emplace_back(x.name, x.value);
  }
  void on_response_body(std::string_view c) override { body.append(c); }
};

using R = UpstreamResponseParser::Result;

R feed_all(UpstreamResponseParser& p, std::string_view data, size_t step, size_t* total) {
  *total = 0;
  R r = R::kNeedMore;
  while (*total < data.size()) {
    size_t n = std::min(step, data.size() - *total);
    size_t consumed = 0;
    r = p.feed(data.data() + *total, n, &consumed);
    *total += consumed;
    if (r != R::kNeedMore) return r;
  }
  return r;
}

TEST(ResponseParser, ContentLengthAnyChunking) {
  std::string msg =
      "HTTP/1.1 200 OK Fine\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
      "X-Long-Header-Name: a value that is split\r\n\r\nhello world";
  for (size_t step : {1u, 3u, 7u, 1000u}) {
    UpstreamResponseParser p;
    Collect c;
    p.reset(&c, false);
    size_t total = 0;
    EXPECT_EQ(feed_all(p, msg, step, &total), R::kComplete) << step;
    EXPECT_EQ(total, msg.size());
    EXPECT_EQ(c.status, 200);
    EXPECT_EQ(c.reason, "OK Fine");
    ASSERT_EQ(c.headers.size(), 3u);
    EXPECT_EQ(c.headers[2].first, "X-Long-Header-Name");
    EXPECT_EQ(c.headers[2].second, "a value that is split");
    EXPECT_EQ(c.content_length, 11u);
    EXPECT_EQ(c.body, "hello world");
    EXPECT_TRUE(p.keep_alive());
  }
}

TEST(ResponseParser, ChunkedDecoded) {
  std::string msg =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  UpstreamResponseParser p;
  Collect c;
  p.reset(&c, false);
  size_t total = 0;
  EXPECT_EQ(feed_all(p, msg, 4, &total), R::kComplete);
  EXPECT_TRUE(c.chunked);
  EXPECT_FALSE(c.content_length);
  EXPECT_EQ(c.body, "hello world");
}

TEST(ResponseParser, InterimResponsesSwallowed) {
  std::string msg =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
      "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n";
  UpstreamResponseParser p;
  Collect c;
  p.reset(&c, false);
  size_t total = 0;
  EXPECT_EQ(feed_all(p, msg, 1000, &total), R::kComplete);
  EXPECT_EQ(c.heads, 1);
  EXPECT_EQ(c.status, 204);
  ASSERT_EQ(c.headers.size(), 1u);
  EXPECT_EQ(c.headers[0].first, "X-A");
}

TEST(ResponseParser, HeadResponseHasNoBody) {
  std::string msg = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
  UpstreamResponseParser p;
  Collect c;
  p.reset(&c, true);
  size_t total = 0;
  EXPECT_EQ(feed_all(p, msg, 1000, &total), R::kComplete);
  EXPECT_EQ(c.content_length, 1000u);
  EXPECT_TRUE(c.body.empty());
}

TEST(ResponseParser, ReadUntilClose) {
  std::string msg = "HTTP/1.1 200 OK\r\n\r\nsome body";
  UpstreamResponseParser p;
  Collect c;
  p.reset(&c, false);
  size_t total = 0;
  EXPECT_EQ(feed_all(p, msg, 1000, &total), R::kNeedMore);
  EXPECT_EQ(p.finish(), R::kComplete);
  EXPECT_EQ(c.body, "some body");
  EXPECT_FALSE(p.keep_alive());
}

TEST(ResponseParser, ShortBodyIsAnError) {
  std::string msg = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort";
  UpstreamResponseParser p;
  Collect c;
  p.reset(&c, false);
  size_t total = 0;
  EXPECT_EQ(feed_all(p, msg, 1000, &total), R::kNeedMore);
  EXPECT_EQ(p.finish(), R::kError);
}

TEST(ResponseParser, GarbageIsAnError) {
  UpstreamResponseParser p;
  Collect c;
  p.reset(&c, false);
  size_t total = 0;
  EXPECT_EQ(feed_all(p, "this is not http\r\n\r\n", 1000, &total), R::kError);
  EXPECT_FALSE(p.error().empty());
  p.reset(&c, false);
  EXPECT_EQ(p.finish(), R::kError);  // closed before anything
}

TEST(ResponseParser, TrailingBytesReported) {
  std::string msg = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA";
  UpstreamResponseParser p;
  Collect c;
  p.reset(&c, false);
  size_t consumed = 0;
  EXPECT_EQ(p.feed(msg.data(), msg.size(), &consumed), R::kComplete);
  EXPECT_EQ(consumed, msg.size() - 5);
}

TEST(ResponseParser, UpgradeStopsAfterHead) {
  std::string msg =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
      "\x81\x02hi";
  UpstreamResponseParser p;
  Collect c;
  p.reset(&c, false);
  size_t consumed = 0;
  EXPECT_EQ(p.feed(msg.data(), msg.size(), &consumed), R::kUpgrade);
  EXPECT_EQ(msg.substr(consumed), "\x81\x02hi");
  EXPECT_EQ(c.status, 101);
}

TEST(ResponseParser, HugeHeadRejected) {
  std::string msg =
      "HTTP/1.1 200 OK\r\nX-Big: " + std::string(UpstreamResponseParser::kMaxHeadBytes + 10, 'a') +
      "\r\n\r\n";
  UpstreamResponseParser p;
  Collect c;
  p.reset(&c, false);
  size_t total = 0;
  EXPECT_EQ(feed_all(p, msg, 4096, &total), R::kError);
}

}  // namespace
}  // namespace sitehost::proxy
