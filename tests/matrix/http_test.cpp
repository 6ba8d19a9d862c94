// Request/response basics, headers both ways, the path base, response framing (HEAD, 204, 304,
// chunked), 100-continue, keep-alive and pipelining, HTTP/2 stream independence: once, for every
// variant.
#include <strings.h>

#include <string>
#include <vector>

#include "tests/matrix/matrix_fixture.h"

namespace sitehost::test {
namespace {

using Http = Matrix;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_P(Http, GetAndPostBasics) {
  ASSERT_NO_FATAL_FAILURE(start({.library = "hello"}));
  auto r = request("GET", "/");
  ASSERT_TRUE(r) << log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->http_version, variant().h2 ? "HTTP/2" : "HTTP/1.1");
  EXPECT_EQ(r->body, "Hello, World!");
  EXPECT_EQ(r->header("Content-Type"), "text/plain");
  EXPECT_EQ(r->header("Content-Length"), "13");
  EXPECT_TRUE(r->header("Date"));
  auto post = request("POST", "/anything?x=1", "some body");
  ASSERT_TRUE(post) << log();
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(post->body, "Hello, World!");
}

TEST_P(Http, RequestHeadersReachTheApp) {
  ASSERT_NO_FATAL_FAILURE(start({.library = "info"}));
  const std::string long_value(4000, 'v');
  auto r = request("GET", "/h?q=1", {},
                   {"X-Custom: kept as is", "X-Multi: first", "X-Multi: second",
                    "X-Long: " + long_value, "Accept: text/html, */*;q=0.1"});
  ASSERT_TRUE(r) << log();
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->header("Content-Type"), "application/json");
  const std::string& b = r->body;
  const auto field = [&](const std::string& name, const std::string& value) {
    return "[\"" + field_name(name) + "\",\"" + value + "\"]";
  };
  EXPECT_TRUE(contains(b, field("X-Custom", "kept as is"))) << b;
  EXPECT_TRUE(contains(b, field("X-Multi", "first"))) << b;
  EXPECT_TRUE(contains(b, field("X-Multi", "second"))) << b;
  EXPECT_TRUE(contains(b, field("X-Long", long_value))) << b;
  EXPECT_TRUE(contains(b, field("Accept", "text/html, */*;q=0.1"))) << b;
  EXPECT_TRUE(contains(b, R"("method":"GET")")) << b;
  // The app learns the client's scheme: in-process directly, out-of-process (the child hears
  // plain http from sitehost) through X-Forwarded-Proto.
  if (variant().in_process())
    EXPECT_TRUE(contains(b, variant().https ? R"("tls":true)" : R"("tls":false)")) << b;
  else
    EXPECT_TRUE(contains(
        b, std::string(R"(["X-Forwarded-Proto",")") + (variant().https ? "https" : "http") + "\"]"))
        << b;
}

TEST_P(Http, ResponseHeadersReachTheClient) {
  ASSERT_NO_FATAL_FAILURE(start({.library = "matrix_app"}));
  auto r = request("GET", "/headers", {}, {"X-Echo-Me: round trip"});
  ASSERT_TRUE(r) << log();
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, "ok\n");
  EXPECT_EQ(r->header("X-Matrix"), "out");
  EXPECT_EQ(r->header("X-Echoed"), "round trip");
  EXPECT_EQ(r->header("Cache-Control"), "no-store");
  std::vector<std::string> cookies;
  for (const auto& [name, value] : r->headers)
    if (strcasecmp(name.c_str(), "Set-Cookie") == 0) cookies.push_back(value);
  EXPECT_EQ(cookies, (std::vector<std::string>{"a=1; Path=/", "b=2; Path=/"}));
}

TEST_P(Http, PathBaseSplitsTheTarget) {
  ASSERT_NO_FATAL_FAILURE(start({.library = "info", .path = "/base"}));
  auto r = request("GET", "/base/x/y?q=1");
  ASSERT_TRUE(r) << log();
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(contains(r->body, R"("path_base":"/base")")) << r->body;
  EXPECT_TRUE(contains(r->body, R"("path":"/x/y")")) << r->body;
  EXPECT_TRUE(contains(r->body, R"("query":"q=1")")) << r->body;
  EXPECT_TRUE(contains(r->body, R"("target":"/base/x/y?q=1")")) << r->body;
  auto root = request("GET", "/base");
  ASSERT_TRUE(root);
  EXPECT_TRUE(contains(root->body, R"("path":"/")")) << root->body;
  // The raw path is passed on (no decoding); the base matches case-insensitively, as IIS does.
  auto encoded = request("GET", "/BASE/a%20b/c");
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded->status, 200);
  EXPECT_TRUE(contains(encoded->body, R"("path_base":"/BASE")")) << encoded->body;
  EXPECT_TRUE(contains(encoded->body, R"("path":"/a%20b/c")")) << encoded->body;
  EXPECT_EQ(status_of("/basement"), 404);
  EXPECT_EQ(status_of("/"), 404);
}

// HTTP/2: the same requests as sequential streams of one connection (a DATA frame where none
// belongs would be a protocol error there).
void head_204_304_over_h2(H2Client& c) {
  H2Request head = h2_get("/download?bytes=5000");
  head.method = "HEAD";
  H2Response r = c.exchange(head);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-length"), "5000");
  EXPECT_EQ(r.body, "");
  r = c.exchange(h2_get("/status?code=204"));
  EXPECT_EQ(r.status, 204);
  EXPECT_FALSE(r.header("content-length"));
  EXPECT_EQ(r.body, "");
  r = c.exchange(h2_get("/status?code=304"));
  EXPECT_EQ(r.status, 304);
  EXPECT_EQ(r.header("etag"), "\"matrix-1\"");
  EXPECT_EQ(r.body, "");
  head.path = "/chunked?chunks=4&size=100";
  r = c.exchange(head);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  r = c.exchange(h2_get("/headers"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_FALSE(c.closed()) << c.error();
  EXPECT_TRUE(c.ping());
}

TEST_P(Http, HeadAnd204And304AreFramedWithoutBody) {
  ASSERT_NO_FATAL_FAILURE(start({.library = "matrix_app"}));
  if (variant().h2) {
    auto c = h2();
    ASSERT_TRUE(c);
    head_204_304_over_h2(*c);
    return;
  }
  auto c = connect();
  ASSERT_TRUE(c->connected());
  // One keep-alive connection: a body where none belongs would break the next response.
  ASSERT_TRUE(c->send("HEAD /download?bytes=5000 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  auto head = c->read_response(true);
  ASSERT_TRUE(head) << log();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Content-Length"), "5000");
  ASSERT_TRUE(c->send("GET /status?code=204 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  auto no_content = c->read_response();
  ASSERT_TRUE(no_content) << log();
  EXPECT_EQ(no_content->status, 204);
  EXPECT_FALSE(no_content->header("Transfer-Encoding"));
  EXPECT_FALSE(no_content->header("Content-Length"));
  ASSERT_TRUE(c->send("GET /status?code=304 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  auto not_modified = c->read_response();
  ASSERT_TRUE(not_modified) << log();
  EXPECT_EQ(not_modified->status, 304);
  EXPECT_EQ(not_modified->header("ETag"), "\"matrix-1\"");
  EXPECT_FALSE(not_modified->header("Transfer-Encoding"));
  ASSERT_TRUE(c->send("HEAD /chunked?chunks=4&size=100 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  auto head_chunked = c->read_response(true);
  ASSERT_TRUE(head_chunked) << log();
  EXPECT_EQ(head_chunked->status, 200);
  ASSERT_TRUE(c->send("GET /headers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
  auto last = c->read_response();
  ASSERT_TRUE(last) << log();
  EXPECT_EQ(last->status, 200);
  EXPECT_EQ(last->body, "ok\n");
  EXPECT_TRUE(c->closed_within(2s));
  EXPECT_EQ(c->pending(), "") << "bytes after the last response";
}

TEST_P(Http, ChunkedResponse) {
  ASSERT_NO_FATAL_FAILURE(start({.library = "matrix_app"}));
  auto r = request("GET", "/chunked?chunks=7&size=1000");
  ASSERT_TRUE(r) << log();
  EXPECT_EQ(r->status, 200);
  // HTTP/2 frames the body in DATA frames: no Transfer-Encoding there.
  if (variant().h2)
    EXPECT_FALSE(r->header("Transfer-Encoding"));
  else
    EXPECT_EQ(r->header("Transfer-Encoding"), "chunked");
  EXPECT_FALSE(r->header("Content-Length"));
  EXPECT_EQ(r->body, matrix_app_pattern(7000));
}

// An HTTP/1.0 client cannot read chunked framing: the body of an app that does not set a
// length comes delimited by the connection's close.
TEST_P(Http, Http10ClientGetsNoChunkedFraming) {
  if (variant().h2) GTEST_SKIP() << "n/a: HTTP/1.0 framing; HTTP/2 has no version downgrade";
  ASSERT_NO_FATAL_FAILURE(start({.library = "matrix_app"}));
  auto c = connect();
  ASSERT_TRUE(c->connected());
  ASSERT_TRUE(c->send("GET /chunked?chunks=3&size=500 HTTP/1.0\r\nHost: localhost\r\n\r\n"));
  auto r = c->read_response();
  ASSERT_TRUE(r) << c->pending() << log();
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(r->header("Transfer-Encoding"));
  EXPECT_EQ(r->body, matrix_app_pattern(1500));
  EXPECT_TRUE(c->closed_within(2s));
}

TEST_P(Http, ExpectContinue) {
  ASSERT_NO_FATAL_FAILURE(start({.library = "echo"}));
  const std::string body = "sent after the 100";
  if (variant().h2) {
    auto c = h2();
    ASSERT_TRUE(c);
    H2Request post = h2_post("/e");
    post.headers = {{"expect", "100-continue"}, {"content-length", std::to_string(body.size())}};
    post.stream_body = true;
    const int32_t id = c->submit(post);
    ASSERT_GT(id, 0);
    // The 100 comes once the app starts reading the body.
    ASSERT_TRUE(c->run_until([&] { return !c->snapshot(id).informational.empty(); }, 5s)) << log();
    EXPECT_EQ(c->snapshot(id).informational, std::vector<int>{100});
    ASSERT_TRUE(c->send_body_chunk(id, body, true));
    H2Response r = c->wait(id);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, body);
    return;
  }
  auto c = connect();
  ASSERT_TRUE(c->connected());
  ASSERT_TRUE(
      c->send("POST /e HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n"));
  auto interim = c->read_response();
  ASSERT_TRUE(interim) << log();
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c->send(body));
  auto r = c->read_response();
  ASSERT_TRUE(r) << log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, body);
}

TEST_P(Http, KeepAliveAndPipelinedResponsesInOrder) {
  if (variant().h2) GTEST_SKIP() << "n/a: pipelining is HTTP/1.1; HTTP/2 multiplexes streams";
  ASSERT_NO_FATAL_FAILURE(start({.library = "slow"}));
  auto c = connect();
  ASSERT_TRUE(c->connected());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c->send("GET /k?ms=1 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    auto r = c->read_response();
    ASSERT_TRUE(r) << "request " << i << "\n" << log();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "slept 1 ms\n");
    EXPECT_NE(r->header("Connection"), "close");
  }
  // Three requests in one write; the first is the slowest: answers come in request order.
  ASSERT_TRUE(
      c->send("GET /p?ms=300 HTTP/1.1\r\nHost: localhost\r\n\r\n"
              "GET /p?ms=1 HTTP/1.1\r\nHost: localhost\r\n\r\n"
              "GET /p?ms=100 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
  for (const char* want : {"slept 300 ms\n", "slept 1 ms\n", "slept 100 ms\n"}) {
    auto r = c->read_response();
    ASSERT_TRUE(r) << want << log();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, want);
  }
  EXPECT_TRUE(c->closed_within(2s));
}

// A slow stream does not hold up a fast one on the same connection.
TEST_P(Http, StreamsAreIndependent) {
  if (!variant().h2) GTEST_SKIP() << "n/a: HTTP/2 only";
  ASSERT_NO_FATAL_FAILURE(start({.library = "slow"}));
  auto c = h2();
  ASSERT_TRUE(c);
  const int32_t slow = c->submit(h2_get("/slow?ms=1000"));
  const std::vector<H2Response> fast =
      c->exchange_all({h2_get("/a?ms=1"), h2_get("/b?ms=20"), h2_get("/c?ms=1")}, 10s);
  for (const H2Response& r : fast) {
    EXPECT_EQ(r.status, 200) << log();
    EXPECT_TRUE(r.body.starts_with("slept ")) << r.body;
  }
  EXPECT_FALSE(c->snapshot(slow).complete) << "the slow stream held the fast ones back";
  H2Response r = c->wait(slow, 10s);
  EXPECT_EQ(r.status, 200) << log();
  EXPECT_EQ(r.body, "slept 1000 ms\n");
}

SITEHOST_MATRIX_SUITE(Http);

}  // namespace
}  // namespace sitehost::test
