// HTTP/2 at the front end through the real binary and a real HTTP/2 client (H2Client, on
// nghttp2): h2c with prior knowledge and h2 by ALPN, what the app sees, concurrent streams, bodies
// both ways with flow control, resets, the limits as stream errors, 421 for a site that turned
// HTTP/2 off, GOAWAY on stop and reload, idle and slow-reader timeouts, and the out-of-process
// model behind an HTTP/2 front end (docs/http2.md).
#include <signal.h>

#include <fmt/format.h>

#include "tests/frontend/frontend_fixture.h"
#include "tests/frontend/metrics_text.h"
#include "tests/proxy/proxy_test_util.h"
#include "tests/support/h2_client.h"
#include "tests/support/tools.h"

namespace sitehost::test {
namespace {

class Http2 : public ::testing::Test {
 protected:
  // hello at /, info at /info, echo at /echo, slow at /slow on `port_` (h2c on), more sites and
  // [server] keys as given.
  void start(const std::vector<std::pair<std::string, std::string>>& server_keys = {},
             const std::vector<SiteSpec>& more = {}, bool h2c = true) {
    ConfigBuilder b(dir_, port_);
    b.server("detailed_errors", "true");
    for (const auto& [k, v] : server_keys) b.server(k, v);
    const std::map<std::string, std::string> keys{{"h2c", h2c ? "true" : "false"}};
    b.inproc_app("hello", "hello", "/", keys);
    b.inproc_app("info", "info", "/info", keys);
    b.inproc_app("echo", "echo", "/echo", keys);
    b.inproc_app("slow", "slow", "/slow", keys);
    b.inproc_app("bulk", "bulk", "/bulk", keys);
    for (const SiteSpec& s : more) b.site(s);
    server_ = std::make_unique<Sitehost>(dir_, b.str());
    ASSERT_TRUE(server_->wait_listening(port_)) << server_->log();
  }

  void TearDown() override {
    if (server_ && server_->process().running()) {
      EXPECT_EQ(server_->stop(), 0) << server_->log();
    }
  }

  std::unique_ptr<H2Client> connect(const H2Options& options = {}) {
    std::string error;
    auto c = H2Client::connect(port_, options, &error);
    EXPECT_TRUE(c) << error << "\n" << server_->log();
    return c;
  }

  // A self-signed certificate for an https binding.
  bool make_certificate() {
    ProgramResult r =
        run_tool(dir_.path(),
                 {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                  "-keyout", (dir_ / "key.pem").string(), "-out", (dir_ / "cert.pem").string()},
                 30s);
    return r.exit_code == 0;
  }

  SiteSpec tls_site(const std::string& name, uint16_t port, bool http2) {
    SiteSpec s;
    s.name = name;
    s.bindings = {fmt::format("https://127.0.0.1:{}", port)};
    s.keys["handler"] = toml_string((apps_dir() / "info.so").string());
    s.keys["certificate"] = toml_string((dir_ / "cert.pem").string());
    s.keys["private_key"] = toml_string((dir_ / "key.pem").string());
    s.keys["http2"] = http2 ? "true" : "false";
    return s;
  }

  TempDir dir_;
  uint16_t port_ = free_port();
  std::unique_ptr<Sitehost> server_;
};

H2Request get(const std::string& path) {
  H2Request r;
  r.path = path;
  return r;
}

TEST_F(Http2, H2cServesTheAppWhichSeesHttp2) {
  start({{"health", "\"/healthz\""}});
  auto c = connect();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->peer_setting(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS), 100u);
  H2Response hello = c->exchange(get("/"));
  EXPECT_EQ(hello.status, 200);
  EXPECT_EQ(hello.body, "Hello, World!");
  EXPECT_EQ(hello.header("server"), "sitehost");
  H2Request info = get("/info/x?y=1");
  info.headers = {{"cookie", "a=1"}, {"x-test", "v"}, {"cookie", "b=2"}};
  H2Response r = c->exchange(info);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"protocol\":\"HTTP/2\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"path\":\"/x\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"query\":\"y=1\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("[\"cookie\",\"a=1; b=2\"]"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("[\"x-test\",\"v\"]"), std::string::npos) << r.body;
  H2Request head = get("/");
  head.method = "HEAD";
  H2Response h = c->exchange(head);
  EXPECT_EQ(h.status, 200);
  EXPECT_TRUE(h.body.empty());
  H2Response health = c->exchange(get("/healthz"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ready\n");
  EXPECT_FALSE(health.reset);
  // HTTP/1.1 on the same address still works: the first bytes decide.
  auto one = http_request(port_, "GET", "/");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 200);
}

TEST_F(Http2, PrefaceWhereNoSiteEnablesH2cIsAnHttp11Error) {
  start({}, {}, false);
  std::string error;
  EXPECT_FALSE(H2Client::connect(port_, H2Options{}, &error));
  Client raw(port_);
  ASSERT_TRUE(raw.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
  auto r = raw.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

TEST_F(Http2, StreamsAreAnsweredInAnyOrderAndManyRunAtOnce) {
  start();
  auto c = connect();
  ASSERT_TRUE(c);
  const int32_t slow = c->submit(get("/slow?ms=3000"));
  const int32_t fast = c->submit(get("/"));
  H2Response f = c->wait(fast);
  EXPECT_EQ(f.status, 200);
  EXPECT_FALSE(c->snapshot(slow).complete) << "the slow stream held the fast one back";
  std::vector<H2Request> many;
  for (int i = 0; i < 60; ++i) many.push_back(get(fmt::format("/slow?ms={}", 50 + (i % 7) * 30)));
  std::vector<H2Response> all = c->exchange_all(many, 20s);
  for (const H2Response& r : all) EXPECT_EQ(r.status, 200);
  EXPECT_EQ(c->wait(slow, 10s).status, 200);
}

TEST_F(Http2, BodiesStreamBothWaysWithFlowControl) {
  start();
  auto c = connect();
  ASSERT_TRUE(c);
  std::string big(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7) % 26);
  H2Request post = get("/echo");
  post.method = "POST";
  post.body = big;
  H2Response r = c->exchange(post, 30s);
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == big) << "echoed " << r.body.size() << " of " << big.size();
  // A body without content-length, sent in pieces (END_STREAM ends it).
  H2Request streamed = get("/echo");
  streamed.method = "POST";
  streamed.stream_body = true;
  streamed.add_content_length = false;
  const int32_t id = c->submit(streamed);
  ASSERT_GT(id, 0);
  std::string sent;
  for (int i = 0; i < 40; ++i) {
    std::string piece(10000, static_cast<char>('A' + i % 26));
    sent += piece;
    ASSERT_TRUE(c->send_body_chunk(id, piece, i == 39));
  }
  H2Response s = c->wait(id, 30s);
  EXPECT_EQ(s.status, 200);
  EXPECT_TRUE(s.body == sent) << s.body.size();
}

TEST_F(Http2, ClientResetAbortsOnlyThatStream) {
  start();
  auto c = connect();
  ASSERT_TRUE(c);
  const int32_t slow = c->submit(get("/slow?ms=5000"));
  ASSERT_TRUE(c->run_until([&] { return c->snapshot(slow).status == 0; }, 1s));
  ASSERT_TRUE(c->rst(slow));
  H2Response after = c->exchange(get("/"));
  EXPECT_EQ(after.status, 200);
  EXPECT_TRUE(c->ping());
}

TEST_F(Http2, LimitsAreStreamErrorsAndTheConnectionGoesOn) {
  start({{"max_request_line", "1024"}, {"max_headers", "20"}});
  auto c = connect();
  ASSERT_TRUE(c);
  H2Response long_path = c->exchange(get("/" + std::string(2000, 'a')));
  EXPECT_EQ(long_path.status, 414);
  H2Request many = get("/");
  for (int i = 0; i < 30; ++i) many.headers.emplace_back(fmt::format("x-h{}", i), "v");
  EXPECT_EQ(c->exchange(many).status, 431);
  H2Request bad = get("/a b");
  EXPECT_NE(c->exchange(bad).status, 200);
  H2Request connect_method = get("/");
  connect_method.method = "OPTIONS";
  EXPECT_NE(c->exchange(connect_method).status, 0);
  EXPECT_EQ(c->exchange(get("/")).status, 200);
  EXPECT_FALSE(c->closed());
}

// RFC 9113 §8.1.1 / §8.2.2: a malformed request is a stream error (RST_STREAM PROTOCOL_ERROR):
// connection-specific fields, TE other than trailers, a content-length the DATA contradicts. The
// connection goes on. (Uppercase names, pseudo-headers out of order and an empty :path need a
// client that sends them as written: Http2Attack.MalformedFieldsAreStreamErrors.)
TEST_F(Http2, MalformedRequestsAreStreamErrors) {
  start();
  auto c = connect();
  ASSERT_TRUE(c);
  const HeaderList bad_fields[] = {{{"connection", "keep-alive"}},
                                   {{"transfer-encoding", "chunked"}},
                                   {{"te", "gzip"}},
                                   {{"upgrade", "websocket"}}};
  for (const HeaderList& fields : bad_fields) {
    H2Request r = get("/echo");
    r.headers = fields;
    H2Response answer = c->exchange(r);
    EXPECT_TRUE(answer.reset) << fields[0].first;
    EXPECT_EQ(answer.rst_error, static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR)) << fields[0].first;
  }
  H2Request te = get("/");
  te.headers = {{"te", "trailers"}};
  EXPECT_EQ(c->exchange(te).status, 200);  // the one TE HTTP/2 allows
  H2Request lying = get("/echo");
  lying.method = "POST";
  lying.headers = {{"content-length", "10"}};
  lying.add_content_length = false;
  lying.body = "abc";
  H2Response short_body = c->exchange(lying);
  EXPECT_TRUE(short_body.reset);
  EXPECT_NE(short_body.status, 200);
  EXPECT_EQ(c->exchange(get("/")).status, 200);
  EXPECT_FALSE(c->closed());
}

TEST_F(Http2, ContentLengthOverTheSiteLimitIs413) {
  start();
  auto c = connect();
  ASSERT_TRUE(c);
  H2Request post = get("/echo");
  post.method = "POST";
  post.headers = {{"content-length", "40000000"}};
  post.add_content_length = false;
  post.stream_body = true;
  const int32_t id = c->submit(post);
  H2Response r = c->wait(id);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(c->exchange(get("/")).status, 200);
}

TEST_F(Http2, SiteWithH2cOffOnASharedAddressAnswers421) {
  SiteSpec other;
  other.name = "other";
  other.bindings = {fmt::format("http://b.test:{}", port_)};
  other.keys["handler"] = toml_string((apps_dir() / "hello.so").string());
  other.keys["h2c"] = "false";
  start({}, {other});
  auto c = connect();
  ASSERT_TRUE(c);
  H2Request r = get("/");
  r.authority = fmt::format("b.test:{}", port_);
  EXPECT_EQ(c->exchange(r).status, 421);
  auto one = http_request(port_, "GET", "/", {}, "b.test");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 200);  // HTTP/1.1 reaches it
}

TEST_F(Http2, TlsOffersH2ByAlpnPerSite) {
  ASSERT_TRUE(make_certificate());
  const uint16_t h2_port = free_port(), h1_port = free_port();
  start({}, {tls_site("tls-h2", h2_port, true), tls_site("tls-h1", h1_port, false)});
  ASSERT_TRUE(server_->wait_listening(h2_port));
  H2Options tls;
  tls.tls = true;
  std::string error;
  auto c = H2Client::connect(h2_port, tls, &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->alpn(), "h2");
  H2Response r = c->exchange(get("/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"tls\":true"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"protocol\":\"HTTP/2\""), std::string::npos) << r.body;
  EXPECT_FALSE(H2Client::connect(h1_port, tls, &error)) << "http2 = false still offered h2";
  // curl negotiates what each site offers.
  CurlResult v2 =
      run_curl(dir_.path(), {"-k", "--http2"}, fmt::format("https://127.0.0.1:{}/", h2_port));
  EXPECT_EQ(v2.status, 200);
  EXPECT_TRUE(v2.headers.starts_with("HTTP/2 200")) << v2.headers;
  CurlResult v1 =
      run_curl(dir_.path(), {"-k", "--http2"}, fmt::format("https://127.0.0.1:{}/", h1_port));
  EXPECT_EQ(v1.status, 200);
  EXPECT_TRUE(v1.headers.starts_with("HTTP/1.1 200")) << v1.headers;
}

// Over TLS the host decides: a request for a host whose own handshake would not get h2 is 421
// (the client retries on a new connection); a site that shares its host (and so its TLS
// context) with an HTTP/2 site is served over HTTP/2, or the client would loop on 421s.
TEST_F(Http2, TlsRequestForAHostWithoutHttp2Is421) {
  ProgramResult cert =
      run_tool(dir_.path(),
               {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=a.test",
                "-addext", "subjectAltName=DNS:a.test,DNS:b.test", "-keyout",
                (dir_ / "key.pem").string(), "-out", (dir_ / "cert.pem").string()},
               30s);
  ASSERT_EQ(cert.exit_code, 0) << cert.output;
  const uint16_t tls_port = free_port();
  auto on_host = [&](const std::string& name, const std::string& host, const std::string& path,
                     bool http2) {
    SiteSpec s = tls_site(name, tls_port, http2);
    s.bindings = {fmt::format("https://{}:{}", host, tls_port)};
    s.path = path;
    return s;
  };
  start({}, {on_host("a", "a.test", "/", true), on_host("a-old", "a.test", "/old", false),
             on_host("b", "b.test", "/", false)});
  ASSERT_TRUE(server_->wait_listening(tls_port));
  H2Options tls;
  tls.tls = true;
  tls.sni = "a.test";
  std::string error;
  auto c = H2Client::connect(tls_port, tls, &error);
  ASSERT_TRUE(c) << error;
  H2Request to_a = get("/");
  to_a.authority = "a.test";
  EXPECT_EQ(c->exchange(to_a).status, 200);
  H2Request to_old = get("/old/x");
  to_old.authority = "a.test";
  H2Response old = c->exchange(to_old);
  EXPECT_EQ(old.status, 200);
  EXPECT_NE(old.body.find("\"site\":\"a-old\""), std::string::npos) << old.body;
  H2Request to_b = get("/");
  to_b.authority = "b.test";
  EXPECT_EQ(c->exchange(to_b).status, 421);
  tls.sni = "b.test";
  EXPECT_FALSE(H2Client::connect(tls_port, tls, &error)) << "b.test's handshake offered h2";
}

TEST_F(Http2, GracefulStopSendsGoawayAndFinishesOpenStreams) {
  start();
  auto c = connect();
  ASSERT_TRUE(c);
  const int32_t slow = c->submit(get("/slow?ms=1500"));
  ASSERT_TRUE(c->run_until([&] { return c->snapshot(slow).status == 0; }, 1s));
  EXPECT_EQ(c->exchange(get("/")).status, 200);  // the slow one is surely dispatched by now
  ASSERT_EQ(::kill(server_->process().pid(), SIGTERM), 0);
  ASSERT_TRUE(c->wait_goaway(5s));
  EXPECT_EQ(c->goaway_error(), static_cast<uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_GE(c->goaway_last_stream(), slow);
  H2Response r = c->wait(slow, 10s);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(c->wait_closed(10s));
  EXPECT_EQ(server_->stop(), 0) << server_->log();
}

TEST_F(Http2, ReloadSendsGoawayAndNewConnectionsWork) {
  start();
  auto c = connect();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->exchange(get("/")).status, 200);
  ASSERT_EQ(::kill(server_->process().pid(), SIGHUP), 0);
  ASSERT_TRUE(c->wait_goaway(10s)) << server_->log();
  EXPECT_EQ(c->goaway_error(), static_cast<uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_TRUE(c->wait_closed(10s));
  auto again = connect();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->exchange(get("/")).status, 200);
}

TEST_F(Http2, IdleConnectionClosesAfterKeepaliveTimeout) {
  start({{"keepalive_timeout", "\"1s\""}});
  auto c = connect();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->exchange(get("/")).status, 200);
  ASSERT_TRUE(c->wait_goaway(10s));
  EXPECT_EQ(c->goaway_error(), static_cast<uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_TRUE(c->wait_closed(5s));
}

TEST_F(Http2, ConnectionWithoutARequestClosesAfterHeaderTimeout) {
  start({{"header_timeout", "\"1s\""}});
  auto c = connect();
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->wait_closed(10s));
}

TEST_F(Http2, ReaderThatKeepsItsWindowShutIsCutAfterSendTimeout) {
  start({{"send_timeout", "\"1s\""}});
  H2Options slow;
  slow.auto_window_update = false;
  auto c = connect(slow);
  ASSERT_TRUE(c);
  H2Request post = get("/echo");
  post.method = "POST";
  post.body = std::string(512 * 1024, 'x');
  const int32_t id = c->submit(post);
  ASSERT_GT(id, 0);
  EXPECT_TRUE(c->wait_closed(15s)) << "a stalled reader kept its connection";
  // Others are served meanwhile and after.
  auto other = connect();
  ASSERT_TRUE(other);
  EXPECT_EQ(other->exchange(get("/")).status, 200);
  EXPECT_NE(server_->log().find("send_timeout"), std::string::npos);
}

// send_timeout holds over HTTP/1.1 too: a client that asks for a large response and never reads
// it is cut once the socket stayed full for that long.
TEST_F(Http2, Http11ReaderThatNeverReadsIsCutAfterSendTimeoutToo) {
  start({{"send_timeout", "\"1s\""}});
  Client stalled(port_);
  ASSERT_TRUE(stalled.send("GET /bulk?bytes=268435456 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  EXPECT_TRUE(wait_until(
      [&] { return server_->log().find("within send_timeout") != std::string::npos; }, 15s))
      << server_->log();
  auto other = http_request(port_, "GET", "/");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
}

// request_timeout is per stream: the stream whose child answer is late gets 502.3, its neighbour
// on the same connection its answer, and the connection goes on.
TEST_F(Http2, OutOfProcessRequestTimeoutIsPerStream) {
  SiteSpec oop;
  oop.name = "py";
  const uint16_t py_port = free_port();
  oop.bindings = {fmt::format("http://127.0.0.1:{}", py_port)};
  oop.hosting_model = "outofprocess";
  oop.keys["process_path"] = toml_string("/usr/bin/python3");
  oop.keys["arguments"] = fmt::format("[{}]", toml_string((children_dir() / "echo.py").string()));
  oop.keys["request_timeout"] = "\"1s\"";
  oop.keys["h2c"] = "true";
  start({}, {oop});
  ASSERT_TRUE(server_->wait_listening(py_port));
  std::string error;
  auto c = H2Client::connect(py_port, H2Options{}, &error);
  ASSERT_TRUE(c) << error;
  ASSERT_EQ(c->exchange(get("/warm-up"), 15s).status, 200) << server_->log();
  const int32_t late = c->submit(get("/sleep?ms=5000"));
  const int32_t quick = c->submit(get("/quick"));
  EXPECT_EQ(c->wait(quick).status, 200);
  H2Response r = c->wait(late, 4s);
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("502.3"), std::string::npos) << r.body;
  EXPECT_EQ(c->exchange(get("/after")).status, 200);
}

TEST_F(Http2, OutOfProcessStreamsBecomeHttp11ExchangesOnTheChildPool) {
  SiteSpec oop;
  oop.name = "oop";
  oop.bindings = {fmt::format("http://127.0.0.1:{}", port_)};
  oop.path = "/oop";
  oop.hosting_model = "outofprocess";
  oop.keys["process_path"] = toml_string(sitehost_app_binary().string());
  oop.keys["arguments"] = fmt::format("[{}]", toml_string((apps_dir() / "info.so").string()));
  oop.keys["h2c"] = "true";
  start({}, {oop});
  auto c = connect();
  ASSERT_TRUE(c);
  std::vector<H2Request> requests;
  for (int i = 0; i < 20; ++i) requests.push_back(get(fmt::format("/oop/n{}", i)));
  std::vector<H2Response> all = c->exchange_all(requests, 30s);
  for (const H2Response& r : all) {
    ASSERT_EQ(r.status, 200) << r.body << server_->log();
    EXPECT_NE(r.body.find("\"protocol\":\"HTTP/1.1\""), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("MS-ASPNETCORE-TOKEN"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("[\"X-Forwarded-Proto\",\"http\"]"), std::string::npos) << r.body;
  }
  H2Request post = get("/oop/post");
  post.method = "POST";
  post.body = "abc";
  EXPECT_EQ(c->exchange(post).status, 200);
}

}  // namespace
}  // namespace sitehost::test

namespace sitehost::test {
namespace {

// h2load (Debian nghttp2-client), a client nobody here wrote: many streams on many connections
// over h2c and TLS, for a duration, so its connections close with streams in flight (that once
// left a closed connection's deadline armed). Every request must succeed and the server live on.
TEST_F(Http2, H2loadAndNghttpOverH2cAndTls) {
  const std::filesystem::path h2load = "/usr/bin/h2load";
  if (!std::filesystem::exists(h2load)) GTEST_SKIP() << "h2load (nghttp2-client) is not installed";
  ASSERT_TRUE(make_certificate());
  const uint16_t tls_port = free_port();
  SiteSpec tls = tls_site("tls", tls_port, true);
  tls.keys["handler"] = toml_string((apps_dir() / "hello.so").string());
  start({}, {tls});
  ASSERT_TRUE(server_->wait_listening(tls_port));
  for (const std::string& url : {fmt::format("http://127.0.0.1:{}/", port_),
                                 fmt::format("https://127.0.0.1:{}/", tls_port)}) {
    ProgramResult r = run_tool(
        dir_.path(), {h2load.string(), "-c", "8", "-m", "32", "-t", "1", "-D", "2", url}, 30s);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("Application protocol: h2"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(" 0 failed, 0 errored, 0 timeout"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("status codes: 0 2xx"), std::string::npos) << r.output;
  }
  // nghttp (nghttp2-client) over h2c: our SETTINGS and a 200.
  ProgramResult nghttp = run_tool(
      dir_.path(), {"/usr/bin/nghttp", "-nv", fmt::format("http://127.0.0.1:{}/", port_)}, 30s);
  EXPECT_EQ(nghttp.exit_code, 0) << nghttp.output;
  EXPECT_NE(nghttp.output.find("SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100"), std::string::npos)
      << nghttp.output;
  EXPECT_NE(nghttp.output.find(":status: 200"), std::string::npos) << nghttp.output;
  auto c = connect();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->exchange(get("/")).status, 200);
}

// The per-protocol and HTTP/2 series of /metrics (docs/operations.md) count what clients did:
// requests by protocol, HTTP/2 connections by mode and open now, streams, client resets, and
// GOAWAYs by reason (one nghttp2 sends on its own for a protocol error, one of a reload).
TEST_F(Http2, MetricsCountProtocolsConnectionsStreamsAndGoaways) {
  ASSERT_TRUE(make_certificate());
  const uint16_t tls_port = free_port();
  const std::filesystem::path admin = dir_ / "admin.sock";
  start({{"admin", toml_string(admin.string())}}, {tls_site("tls", tls_port, true)});
  ASSERT_TRUE(server_->wait_listening(tls_port));
  std::string m;
  auto read_metrics = [&] { return m = admin_exchange(admin, "GET", "/metrics"); };
  ASSERT_TRUE(wait_until([&] {
    return metric(read_metrics(), "sitehost_http2_streams_total") == 0;
  })) << m
      << server_->log();

  // HTTP/1.1, HTTP/1.0 and a request line that cannot be read.
  ASSERT_EQ(http_request(port_, "GET", "/")->status, 200);
  Client ten(port_);
  ASSERT_TRUE(ten.send("GET / HTTP/1.0\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(ten.read_response()->status, 200);
  Client junk(port_);
  ASSERT_TRUE(junk.send("\x01junk\r\n\r\n"));
  ASSERT_EQ(junk.read_response()->status, 400);

  // h2c: two answered streams, one the client resets, one more after it; h2 (TLS): one stream
  // from our client, one from curl.
  auto c = connect();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->exchange(get("/")).status, 200);
  EXPECT_EQ(c->exchange(get("/")).status, 200);
  H2Request post = get("/echo");
  post.method = "POST";
  post.stream_body = true;
  const int32_t reset = c->submit(post);
  ASSERT_GT(reset, 0);
  ASSERT_TRUE(c->rst(reset));
  EXPECT_EQ(c->exchange(get("/")).status, 200);
  H2Options tls;
  tls.tls = true;
  std::string error;
  auto t = H2Client::connect(tls_port, tls, &error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->exchange(get("/")).status, 200);
  CurlResult curl =
      run_curl(dir_.path(), {"-k", "--http2"}, fmt::format("https://127.0.0.1:{}/", tls_port));
  EXPECT_TRUE(curl.headers.starts_with("HTTP/2 200")) << curl.headers;

  const std::string by = "sitehost_requests_by_protocol_total{protocol=";
  EXPECT_TRUE(wait_until([&] {
    read_metrics();
    return metric(m, by + "\"HTTP/2\"}") == 6 && metric(m, by + "\"HTTP/1.1\"}") == 1 &&
           metric(m, by + "\"HTTP/1.0\"}") == 1 && metric(m, by + "\"-\"}") == 1 &&
           metric(m, "sitehost_http2_connections_open") == 2;
  })) << m;
  EXPECT_EQ(metric(m, "sitehost_http2_connections_total{mode=\"h2c\"}"), 1) << m;
  EXPECT_EQ(metric(m, "sitehost_http2_connections_total{mode=\"h2\"}"), 2) << m;
  EXPECT_EQ(metric(m, "sitehost_http2_streams_total"), 6) << m;
  EXPECT_EQ(metric(m, "sitehost_http2_streams_reset_by_client_total"), 1) << m;
  for (const char* reason : {"graceful", "enhance_your_calm", "protocol_error", "other"})
    EXPECT_EQ(metric(m, fmt::format("sitehost_http2_goaway_sent_total{{reason=\"{}\"}}", reason)),
              0)
        << m;

  // A DATA frame on stream 0 is a connection error nghttp2 finds itself: GOAWAY PROTOCOL_ERROR.
  ASSERT_TRUE(c->send_raw(std::string(9, '\0')));
  ASSERT_TRUE(c->wait_goaway());
  EXPECT_EQ(c->goaway_error(), static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR));
  EXPECT_TRUE(c->wait_closed());
  // A reload ends the TLS connection gracefully.
  ASSERT_EQ(::kill(server_->process().pid(), SIGHUP), 0);
  ASSERT_TRUE(t->wait_goaway(10s)) << server_->log();
  EXPECT_TRUE(t->wait_closed(10s));
  EXPECT_TRUE(wait_until([&] {
    read_metrics();
    return metric(m, "sitehost_http2_connections_open") == 0;
  })) << m;
  EXPECT_EQ(metric(m, "sitehost_http2_goaway_sent_total{reason=\"protocol_error\"}"), 1) << m;
  EXPECT_EQ(metric(m, "sitehost_http2_goaway_sent_total{reason=\"graceful\"}"), 1) << m;
  EXPECT_EQ(metric(m, "sitehost_http2_goaway_sent_total{reason=\"enhance_your_calm\"}"), 0) << m;
}

}  // namespace
}  // namespace sitehost::test
