// Request and response bodies: several MB both ways byte-exact, chunked requests, body limits
// (413), a stalled body (408) and blocking body I/O on the thread pool: once, for every variant.
#include <string>
#include <vector>

#include "tests/matrix/matrix_fixture.h"

namespace sitehost::test {
namespace {

class Bodies : public Matrix {
 protected:
  void over_the_limit_over_h2();
  void stalled_body_over_h2();
};

constexpr size_t kLarge = 6u << 20;  // 6 MiB

std::vector<std::string> split(const std::string& body, size_t piece) {
  std::vector<std::string> chunks;
  for (size_t at = 0; at < body.size(); at += piece) chunks.push_back(body.substr(at, piece));
  return chunks;
}

TEST_P(Bodies, LargeBodiesBothWaysByteExact) {
  ASSERT_NO_FATAL_FAILURE(start({.library = "echo"}));
  const std::string upload = test_bytes(kLarge, 7);
  auto echoed = request("POST", "/upload", upload, {}, 60s);
  ASSERT_TRUE(echoed) << log();
  EXPECT_EQ(echoed->status, 200);
  EXPECT_EQ(echoed->header("Content-Length"), std::to_string(kLarge));
  EXPECT_EQ(echoed->body.size(), kLarge);
  EXPECT_TRUE(echoed->body == upload) << "the echo differs from the upload";

  ASSERT_NO_FATAL_FAILURE(stop_server());
  ASSERT_NO_FATAL_FAILURE(start({.library = "matrix_app"}));
  auto download = request("GET", "/download?bytes=" + std::to_string(kLarge + 13), {}, {}, 60s);
  ASSERT_TRUE(download) << log();
  EXPECT_EQ(download->status, 200);
  EXPECT_EQ(download->body.size(), kLarge + 13);
  EXPECT_TRUE(download->body == matrix_app_pattern(kLarge + 13)) << "the download is not exact";
}

// HTTP/2's analogue of a chunked request: a body without content-length, sent in pieces (DATA
// frames) and ended with END_STREAM. The response to it.
H2Response streamed_post(H2Client& c, const std::string& target,
                         const std::vector<std::string>& pieces, Ms timeout = 30s) {
  H2Request post = h2_post(target);
  post.stream_body = true;
  post.add_content_length = false;
  const int32_t id = c.submit(post);
  if (id <= 0) return {};
  for (size_t i = 0; i < pieces.size(); ++i)
    if (!c.send_body_chunk(id, pieces[i], i + 1 == pieces.size())) break;
  return c.wait(id, timeout);
}

TEST_P(Bodies, ChunkedRequestBody) {
  ASSERT_NO_FATAL_FAILURE(start({.library = "matrix_app"}));
  if (variant().h2) {
    auto c = h2(10s);
    ASSERT_TRUE(c);
    H2Response small = streamed_post(*c, "/count", {"hello", " ", "chunked", " world"});
    EXPECT_EQ(small.status, 200) << log();
    EXPECT_EQ(small.body, "19 bytes\n");
    const std::string large = test_bytes(kLarge / 2, 3);
    H2Response counted = streamed_post(*c, "/count", split(large, 40000));
    EXPECT_EQ(counted.status, 200) << log();
    EXPECT_EQ(counted.body, std::to_string(large.size()) + " bytes\n");
    return;
  }
  auto c = connect(30s);
  ASSERT_TRUE(c->connected());
  ASSERT_TRUE(c->send(chunked_request("/count", {"hello", " ", "chunked", " world"})));
  auto small = c->read_response();
  ASSERT_TRUE(small) << log();
  EXPECT_EQ(small->status, 200);
  EXPECT_EQ(small->body, "19 bytes\n");
  // A large one in uneven chunks, on the same connection.
  const std::string large = test_bytes(kLarge / 2, 3);
  ASSERT_TRUE(c->send(chunked_request("/count", split(large, 40000), "Connection: close\r\n")));
  auto counted = c->read_response();
  ASSERT_TRUE(counted) << log();
  EXPECT_EQ(counted->status, 200);
  EXPECT_EQ(counted->body, std::to_string(large.size()) + " bytes\n");
}

TEST_P(Bodies, ChunkedRequestEchoedChunked) {
  ASSERT_NO_FATAL_FAILURE(start({.library = "echo"}));
  const std::string body = test_bytes(300000, 5);
  if (variant().h2) {
    auto c = h2(10s);
    ASSERT_TRUE(c);
    H2Response r = streamed_post(*c, "/e", split(body, 7000));
    EXPECT_EQ(r.status, 200) << log();
    EXPECT_FALSE(r.header("content-length"));  // no length known, none invented
    EXPECT_TRUE(r.body == body) << "the echo differs (" << r.body.size() << " bytes)";
    return;
  }
  auto c = connect(30s);
  ASSERT_TRUE(c->connected());
  ASSERT_TRUE(c->send(chunked_request("/e", split(body, 7000), "Connection: close\r\n")));
  auto r = c->read_response();
  ASSERT_TRUE(r) << log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Transfer-Encoding"), "chunked");  // no length known: chunked back
  EXPECT_TRUE(r->body == body) << "the echo differs (" << r->body.size() << " bytes)";
}

// HTTP/2: 413 ends the stream (RST_STREAM NO_ERROR once the response is out, RFC 9113 §8.1),
// never the connection.
void Bodies::over_the_limit_over_h2() {
  auto c = h2(10s);
  ASSERT_TRUE(c);
  // content-length over the limit: 413 before the body is sent (and without a 100).
  H2Request post = h2_post("/count");
  post.headers = {{"expect", "100-continue"}, {"content-length", "100001"}};
  post.stream_body = true;
  const int32_t id = c->submit(post);
  ASSERT_GT(id, 0);
  H2Response over = c->wait(id);
  EXPECT_EQ(over.status, 413) << log();
  EXPECT_TRUE(over.informational.empty());
  EXPECT_TRUE(over.complete) << "the stream stays open after its 413";
  EXPECT_EQ(over.rst_error, static_cast<uint32_t>(NGHTTP2_NO_ERROR));
  // A body without length is counted as it arrives; the app had not answered yet: 413.
  H2Response counted = streamed_post(*c, "/count", split(std::string(150000, 'c'), 10000), 10s);
  EXPECT_EQ(counted.status, 413) << log();
  EXPECT_TRUE(counted.complete);
  EXPECT_EQ(counted.rst_error, static_cast<uint32_t>(NGHTTP2_NO_ERROR));
  // The connection goes on.
  EXPECT_EQ(c->exchange(h2_get("/headers")).status, 200);
  EXPECT_FALSE(c->closed()) << c->error();
}

TEST_P(Bodies, BodyOverTheLimitGets413) {
  ASSERT_NO_FATAL_FAILURE(
      start({.library = "matrix_app", .site_keys = {{"max_allowed_content_length", "100000"}}}));
  auto under = request("POST", "/count", std::string(100000, 'u'));
  ASSERT_TRUE(under) << log();
  EXPECT_EQ(under->status, 200);
  EXPECT_EQ(under->body, "100000 bytes\n");
  if (variant().h2) {
    over_the_limit_over_h2();
    return;
  }

  // Content-Length over the limit: 413 before the body is sent (and without a 100).
  auto c = connect();
  ASSERT_TRUE(c->connected());
  ASSERT_TRUE(
      c->send("POST /count HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
              "Content-Length: 100001\r\n\r\n"));
  auto over = c->read_response();
  ASSERT_TRUE(over) << log();
  EXPECT_EQ(over->status, 413);
  EXPECT_TRUE(c->closed_within(3s));

  // A chunked body is counted as it arrives; the app had not answered yet: 413.
  auto chunked = connect(10s);
  ASSERT_TRUE(chunked->connected());
  chunked->send(chunked_request("/count", split(std::string(150000, 'c'), 10000)));
  auto counted = chunked->read_response();
  ASSERT_TRUE(counted) << log();
  EXPECT_EQ(counted->status, 413);

  EXPECT_EQ(status_of("/headers"), 200) << "the site stays healthy";
}

// A client that sends part of a body and stops (slow POST): after body_timeout the request
// ends with 408 and, over HTTP/1.1, the connection closes; over HTTP/2 only the stream ends.
// Out of process the child never gets the rest either: the 408 is sitehost's.
void Bodies::stalled_body_over_h2() {
  auto c = h2(10s);
  ASSERT_TRUE(c);
  H2Request post = h2_post("/count");
  post.headers = {{"content-length", "100"}};
  post.stream_body = true;
  const int32_t id = c->submit(post);
  ASSERT_GT(id, 0);
  ASSERT_TRUE(c->send_body_chunk(id, "0123456789", false));
  EXPECT_EQ(c->exchange(h2_get("/headers")).status, 200) << "a neighbour stream is served";
  H2Response stalled = c->wait(id, 10s);  // within twice body_timeout (docs/http2.md)
  EXPECT_EQ(stalled.status, 408) << log();
  EXPECT_TRUE(stalled.complete);
  EXPECT_EQ(stalled.rst_error, static_cast<uint32_t>(NGHTTP2_NO_ERROR)) << "stop sending";
  EXPECT_EQ(c->exchange(h2_get("/headers")).status, 200) << "the connection goes on";
  EXPECT_FALSE(c->closed()) << c->error();
}

TEST_P(Bodies, StalledBodyGets408) {
  ASSERT_NO_FATAL_FAILURE(
      start({.library = "matrix_app", .server_keys = {{"body_timeout", "\"1s\""}}}));
  if (variant().h2) {
    stalled_body_over_h2();
    return;
  }
  auto c = connect(10s);
  ASSERT_TRUE(c->connected());
  ASSERT_TRUE(
      c->send("POST /count HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n0123456789"));
  const auto began = std::chrono::steady_clock::now();
  auto r = c->read_response();
  ASSERT_TRUE(r) << log();
  EXPECT_EQ(r->status, 408);
  EXPECT_GE(std::chrono::steady_clock::now() - began, 900ms) << "not before body_timeout";
  EXPECT_TRUE(c->closed_within(3s));
  EXPECT_EQ(status_of("/headers"), 200) << "the site stays healthy";
}

TEST_P(Bodies, BlockingBodyIoOnTheThreadPool) {
  if (!variant().thread_pool)
    GTEST_SKIP() << "n/a: blocking body I/O needs allow_synchronous_io (the in-process thread "
                    "pool)";
  ASSERT_NO_FATAL_FAILURE(start({.library = "sync_io"}));
  const std::string body = test_bytes(1u << 20, 9);
  auto r = request("POST", "/sync", body, {}, 30s);
  ASSERT_TRUE(r) << log();
  EXPECT_EQ(r->status, 200) << r->body.substr(0, 300);
  EXPECT_TRUE(r->body == body) << "the echo differs (" << r->body.size() << " bytes)";
}

SITEHOST_MATRIX_SUITE(Bodies);

}  // namespace
}  // namespace sitehost::test
