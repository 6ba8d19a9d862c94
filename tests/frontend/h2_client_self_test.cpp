// The HTTP/2 test client (tests/support/h2_client.h) against a real HTTP/2 server: our own nginx
// (Debian's nginx with its echo module, which echoes request bodies) on loopback ports, h2c with
// prior knowledge and TLS with ALPN h2. Checks the client before sitehost's own HTTP/2 relies on
// it: requests, concurrent streams, streamed uploads, flow control, RST_STREAM and GOAWAY.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>

#include "tests/support/h2_client.h"
#include "tests/support/harness.h"
#include "tests/support/tls_client.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kNginx = "/usr/sbin/nginx";
constexpr const char* kEchoModule = "/usr/lib/nginx/modules/ngx_http_echo_module.so";
constexpr size_t kBigFile = 1 << 20;

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

class H2ClientSelfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kNginx) || !fs::exists(kEchoModule))
      GTEST_SKIP() << "nginx or its echo module is missing (Debian: nginx libnginx-mod-http-echo)";
    std::string error;
    auto cert = make_self_signed_certificate(dir.path(), "localhost", "localhost", &error);
    ASSERT_TRUE(cert) << error;
    dir.write("www/big", pattern(kBigFile));
    h2c_port = free_port();
    tls_port = free_port();
    dir.write("nginx.conf", config(*cert));
    nginx.emplace(
        std::vector<std::string>{kNginx, "-p", dir.path().string(), "-e",
                                 (dir / "error.log").string(), "-c", (dir / "nginx.conf").string(),
                                 "-g", "daemon off; pid " + (dir / "nginx.pid").string() + ";"},
        dir / "nginx.out");
    ASSERT_TRUE(
        wait_until([&] { return Client(h2c_port, 1s).connected() || !nginx->running(); }, 10s) &&
        wait_until([&] { return Client(tls_port, 1s).connected(); }, 5s))
        << "nginx did not listen: " << nginx->output() << read_log();
  }

  std::string config(const CertificateFiles& cert) const {
    const std::string d = dir.path().string();
    return std::string(geteuid() == 0 ? "user root root;\n" : "") + "load_module " + kEchoModule +
           ";\n"
           "worker_processes 1;\n"
           "events { worker_connections 256; }\n"
           "http {\n"
           "  access_log off;\n"
           "  client_body_temp_path " +
           d + "/body; proxy_temp_path " + d +
           "/proxy;\n"
           "  fastcgi_temp_path " +
           d + "/fastcgi; uwsgi_temp_path " + d +
           "/uwsgi;\n"
           "  scgi_temp_path " +
           d +
           "/scgi;\n"
           "  client_max_body_size 8m; client_body_buffer_size 8m;\n"
           "  server {\n"
           "    listen 127.0.0.1:" +
           std::to_string(h2c_port) +
           " http2;\n"
           "    listen 127.0.0.1:" +
           std::to_string(tls_port) +
           " ssl http2;\n"
           "    ssl_certificate " +
           cert.certificate.string() +
           ";\n"
           "    ssl_certificate_key " +
           cert.private_key.string() +
           ";\n"
           "    root " +
           d +
           "/www;\n"
           "    location = /hello { default_type text/plain; return 200 \"hello $scheme\\n\"; }\n"
           "    location = /echo { echo_read_request_body; echo_request_body; }\n"
           "    location = /small { client_max_body_size 1k; echo_read_request_body; }\n"
           "  }\n"
           "}\n";
  }

  std::string read_log() const {
    return fs::exists(dir / "error.log") ? "\nerror.log: " + read_file(dir / "error.log") : "";
  }

  std::unique_ptr<H2Client> connect(bool tls, H2Options options = {}) {
    options.tls = tls;
    std::string error;
    auto c = H2Client::connect(tls ? tls_port : h2c_port, options, &error);
    EXPECT_TRUE(c) << error << read_log();
    return c;
  }

  TempDir dir;
  uint16_t h2c_port = 0;
  uint16_t tls_port = 0;
  std::optional<Process> nginx;
};

TEST_F(H2ClientSelfTest, GetHeadAndPostOverH2cAndTls) {
  for (bool tls : {false, true}) {
    SCOPED_TRACE(tls ? "TLS" : "h2c");
    auto c = connect(tls);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->alpn(), tls ? "h2" : "");
    EXPECT_EQ(c->peer_setting(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS), 128u);  // nginx's default

    H2Response get = c->exchange({.path = "/hello"});
    EXPECT_TRUE(get.complete);
    EXPECT_EQ(get.status, 200);
    EXPECT_EQ(get.body, tls ? "hello https\n" : "hello http\n");
    EXPECT_EQ(get.header("Content-Type"), "text/plain");
    EXPECT_EQ(get.as_response().http_version, "HTTP/2");

    H2Response head = c->exchange({.method = "HEAD", .path = "/big"});
    EXPECT_TRUE(head.complete);
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.header("content-length"), std::to_string(kBigFile));
    EXPECT_EQ(head.body, "");

    // Larger than both 64 KiB windows: flow control both ways.
    const std::string body = pattern(300000);
    H2Response post = c->exchange({.method = "POST", .path = "/echo", .body = body}, 10s);
    EXPECT_TRUE(post.complete);
    EXPECT_EQ(post.status, 200);
    EXPECT_TRUE(post.body == body) << post.body.size() << " bytes echoed";
    EXPECT_FALSE(post.reset);

    EXPECT_EQ(c->exchange({.path = "/missing"}).status, 404);
    EXPECT_TRUE(c->ping());
    EXPECT_FALSE(c->closed()) << c->error();
  }
}

TEST_F(H2ClientSelfTest, TwentyConcurrentStreamsOnOneConnection) {
  auto c = connect(true);
  ASSERT_TRUE(c);
  std::vector<H2Request> requests(20, H2Request{.path = "/big"});
  std::vector<H2Response> responses = c->exchange_all(requests, 20s);
  ASSERT_EQ(responses.size(), 20u);
  const std::string big = pattern(kBigFile);
  for (const auto& r : responses) {
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.body == big) << r.body.size() << " bytes";
  }
}

TEST_F(H2ClientSelfTest, StreamedUploadInChunks) {
  auto c = connect(false);
  ASSERT_TRUE(c);
  int32_t id = c->submit({.method = "POST", .path = "/echo", .stream_body = true});
  ASSERT_GT(id, 0);
  std::string sent;
  for (int i = 0; i < 5; ++i) {
    std::string chunk = pattern(40000 + static_cast<size_t>(i));
    sent += chunk;
    ASSERT_TRUE(c->send_body_chunk(id, chunk, i == 4));
    EXPECT_TRUE(c->ping());  // runs the connection between chunks: the body goes out over time
  }
  H2Response r = c->wait(id, 10s);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == sent) << r.body.size() << " of " << sent.size() << " bytes echoed";
}

// A slow reader: with no WINDOW_UPDATE the server stops at our 16 KiB stream window; consume()
// opens it again; rst() cancels the stream and the connection goes on.
TEST_F(H2ClientSelfTest, FlowControlWindowAndRstStream) {
  auto c = connect(false, {.initial_window_size = 16384, .auto_window_update = false});
  ASSERT_TRUE(c);
  int32_t id = c->submit({.path = "/big"});
  ASSERT_GT(id, 0);
  ASSERT_TRUE(c->run_until([&] { return c->snapshot(id).body.size() >= 16384; }, 5s));
  ASSERT_TRUE(c->ping());  // a round trip later, still nothing beyond the window
  EXPECT_EQ(c->snapshot(id).body.size(), 16384u);
  ASSERT_TRUE(c->consume(id, 16384));
  ASSERT_TRUE(c->run_until([&] { return c->snapshot(id).body.size() >= 32768; }, 5s));

  ASSERT_TRUE(c->rst(id));
  H2Response r = c->wait(id, 5s);
  EXPECT_TRUE(r.complete);
  EXPECT_TRUE(r.reset);
  EXPECT_FALSE(r.reset_by_peer);
  EXPECT_EQ(r.rst_error, static_cast<uint32_t>(NGHTTP2_CANCEL));
  EXPECT_EQ(r.status, 200);
  EXPECT_LT(r.body.size(), kBigFile);

  ASSERT_TRUE(c->consume(id, r.body.size() - 16384));  // the connection window, for what follows
  H2Response next = c->exchange({.path = "/hello"});
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "hello http\n");
}

// An answer before the request body ended (413 here) comes with RST_STREAM NO_ERROR from the
// server: the stream is complete, reset by the peer, and the connection goes on.
TEST_F(H2ClientSelfTest, PeerResetsAfterAnEarlyResponse) {
  auto c = connect(true);
  ASSERT_TRUE(c);
  int32_t id = c->submit({.method = "POST", .path = "/small", .body = pattern(100000)});
  H2Response r = c->wait(id);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.status, 413);
  EXPECT_TRUE(r.reset);
  EXPECT_TRUE(r.reset_by_peer);
  EXPECT_EQ(r.rst_error, static_cast<uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_EQ(c->exchange({.path = "/hello"}).status, 200);
}

// send_raw() for hostile input: a SETTINGS frame whose length is no multiple of 6 is a connection
// error, answered with GOAWAY FRAME_SIZE_ERROR.
TEST_F(H2ClientSelfTest, RawBadFrameGetsGoawayWithItsError) {
  auto c = connect(false);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send_raw(std::string("\0\0\5\4\0\0\0\0\0", 9) + std::string(5, '\0')));
  ASSERT_TRUE(c->wait_goaway()) << c->error();
  EXPECT_EQ(c->goaway_error(), static_cast<uint32_t>(NGHTTP2_FRAME_SIZE_ERROR));
  EXPECT_TRUE(c->wait_closed());
}

// nginx stopping gracefully (SIGQUIT) sends GOAWAY (NO_ERROR) on an idle connection, then closes.
TEST_F(H2ClientSelfTest, GoawayWhenTheServerStopsGracefully) {
  auto c = connect(false);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->exchange({.path = "/hello"}).status, 200);
  EXPECT_FALSE(c->goaway_received());
  nginx->signal(SIGQUIT);
  ASSERT_TRUE(c->wait_goaway(10s)) << c->error() << read_log();
  EXPECT_EQ(c->goaway_error(), static_cast<uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_EQ(c->goaway_last_stream(), 1);
  EXPECT_TRUE(c->wait_closed(10s));
  EXPECT_EQ(c->submit({.path = "/hello"}), NGHTTP2_ERR_START_STREAM_NOT_ALLOWED);
  c.reset();  // nginx lingers (lingering_timeout) until the client closes too
  EXPECT_TRUE(nginx->wait_exit(3s)) << read_log();
}

}  // namespace
}  // namespace sitehost::test
