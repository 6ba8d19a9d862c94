// The out-of-process Site against real python children: handover, header rules, keep-alive,
// bodies both ways.
#include <sys/resource.h>

#include "tests/proxy/site_fixture.h"

namespace sitehost::proxy::test {
namespace {

TEST_F(ProxySiteTest, HandsOverPortTokenAndPaths) {
  config_.path = "/app";
  config_.environment = {{"ECHO_EXTRA", "from-config"}};
  std::string body = fetch("/app/x?y=1");
  EXPECT_EQ(json_str(body, "target"), "/app/x?y=1");
  EXPECT_EQ(json_str(body, "appl_path"), "/app");
  EXPECT_EQ(json_str(body, "physical_path"), app_.string());
  EXPECT_EQ(json_str(body, "cwd"), fs::canonical(app_).string());
  EXPECT_EQ(json_str(body, "env_extra"), "from-config");
  std::string token = json_str(body, "token");
  EXPECT_EQ(token.size(), 32u);
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_TRUE(has_header(body, "MS-ASPNETCORE-TOKEN", token)) << body;
  long port = json_int(body, "port");
  EXPECT_GE(port, 10000);
  EXPECT_LE(port, 48000);
  EXPECT_EQ(pids().size(), 1u);
}

TEST_F(ProxySiteTest, HeaderRules) {
  FakeExchange::Options o;
  o.target = "/h";
  o.headers = {{"Host", "example.test:8080"},
               {"Connection", "keep-alive, X-Drop-Me"},
               {"X-Drop-Me", "1"},
               {"Keep-Alive", "timeout=5"},
               {"TE", "trailers"},
               {"Proxy-Authorization", "secret"},
               {"MS-ASPNETCORE-TOKEN", "forged"},
               {"MS-ASPNETCORE-CLIENTCERT", "forged"},
               {"X-Forwarded-For", "203.0.113.9:1234"},
               {"X-Forwarded-Proto", "https"},
               {"X-Custom", "kept"}};
  o.tls = false;
  auto ex = send(o);
  ASSERT_TRUE(wait(*ex));
  ASSERT_TRUE(ex->finished) << ex->error_detail;
  const std::string& b = ex->body;
  EXPECT_TRUE(has_header(b, "Host", "example.test:8080")) << b;
  EXPECT_TRUE(has_header(b, "X-Custom", "kept"));
  EXPECT_TRUE(has_header(b, "X-Forwarded-For", "203.0.113.9:1234, 127.0.0.1:55555")) << b;
  EXPECT_TRUE(has_header(b, "X-Forwarded-Proto", "https, http")) << b;
  for (const char* gone : {"X-Drop-Me", "Keep-Alive", "\"TE\"", "Proxy-Authorization", "forged",
                           "CLIENTCERT", "\"Connection\""})
    EXPECT_EQ(b.find(gone), std::string::npos) << gone << " in " << b;
  EXPECT_EQ(ex->status, 200);
  EXPECT_EQ(ex->header("Content-Type"), "application/json");
  EXPECT_TRUE(ex->header("Content-Length"));
}

TEST_F(ProxySiteTest, ForwardedProtoHttpsWhenTls) {
  FakeExchange::Options o;
  o.tls = true;
  auto ex = send(o);
  ASSERT_TRUE(wait(*ex));
  EXPECT_TRUE(has_header(ex->body, "X-Forwarded-Proto", "https")) << ex->body;
}

TEST_F(ProxySiteTest, TlsClientCertificateForwardedAsBase64) {
  FakeExchange::Options o;
  o.tls = true;
  o.headers = {{"Host", "localhost"}, {"MS-ASPNETCORE-CLIENTCERT", "forged"}};
  o.client_certificate = std::string("\x30\x82\x01\x0a\x00\xff\xfe", 7);  // any bytes
  auto ex = send(o);
  ASSERT_TRUE(wait(*ex));
  ASSERT_TRUE(ex->finished) << ex->error_detail;
  EXPECT_TRUE(has_header(ex->body, "MS-ASPNETCORE-CLIENTCERT", "MIIBCgD//g==")) << ex->body;
  EXPECT_EQ(ex->body.find("forged"), std::string::npos) << ex->body;

  FakeExchange::Options none;  // no certificate: no header, and the forged one still removed
  none.tls = true;
  none.headers = o.headers;
  auto plain = send(none);
  ASSERT_TRUE(wait(*plain));
  EXPECT_EQ(plain->body.find("lientcert"), std::string::npos) << plain->body;
}

TEST_F(ProxySiteTest, TlsHttpsPortForTheChild) {
  config_.bindings = {{"http", "*", 8080, false}, {"https", "a.test", 8443, false}};
  EXPECT_EQ(json_str(fetch("/"), "https_port"), "8443");
}

TEST_F(ProxySiteTest, TlsHttpsPortAbsentWithoutHttpsBinding) {
  config_.bindings = {{"http", "*", 8080, false}};
  std::string body = fetch("/");
  EXPECT_NE(body.find("\"https_port\": null"), std::string::npos) << body;
}

TEST_F(ProxySiteTest, TlsHttpsPortFromSiteEnvironmentWins) {
  config_.bindings = {{"https", "*", 8443, false}};
  config_.environment = {{"ASPNETCORE_ANCM_HTTPS_PORT", "443"}};
  EXPECT_EQ(json_str(fetch("/"), "https_port"), "443");
}

TEST(ProxyHttpsPort, AncmRule) {
  SiteConfig c;
  EXPECT_EQ(ancm_https_port(c), 0);
  c.bindings = {{"http", "*", 80, false}};
  EXPECT_EQ(ancm_https_port(c), 0);
  c.bindings.push_back({"https", "a.test", 8443, false});
  EXPECT_EQ(ancm_https_port(c), 8443);
  c.bindings.push_back({"https", "b.test", 8443, false});  // same port twice: still one port
  EXPECT_EQ(ancm_https_port(c), 8443);
  c.bindings.push_back({"https", "c.test", 9443, false});  // two https ports: none
  EXPECT_EQ(ancm_https_port(c), 0);
}

TEST_F(ProxySiteTest, ConnectionsAreReused) {
  std::string a = fetch("/one");
  std::string b = fetch("/two");
  std::string c = fetch("/three");
  EXPECT_EQ(json_int(a, "client_port"), json_int(b, "client_port"));
  EXPECT_EQ(json_int(b, "client_port"), json_int(c, "client_port"));
  EXPECT_EQ(json_int(a, "pid"), json_int(c, "pid"));
}

TEST_F(ProxySiteTest, ConcurrentRequestsWhileStarting) {
  std::vector<std::unique_ptr<FakeExchange>> all;
  for (int i = 0; i < 20; ++i) all.push_back(get("/c" + std::to_string(i)));
  for (auto& ex : all) {
    ASSERT_TRUE(wait(*ex));
    EXPECT_TRUE(ex->finished) << ex->error_detail;
    EXPECT_EQ(ex->status, 200);
  }
  EXPECT_EQ(pids().size(), 1u);  // one child for all of them
}

TEST_F(ProxySiteTest, PostBodiesContentLengthAndChunked) {
  FakeExchange::Options o;
  o.method = "POST";
  o.target = "/post";
  o.body = std::string(300000, 'q');
  o.body_chunk = 7000;
  auto a = send(o);
  ASSERT_TRUE(wait(*a));
  ASSERT_TRUE(a->finished) << a->error_detail;
  EXPECT_EQ(json_int(a->body, "body_length"), 300000);
  o.chunked = true;
  auto b = send(o);
  ASSERT_TRUE(wait(*b));
  ASSERT_TRUE(b->finished) << b->error_detail;
  EXPECT_EQ(json_int(b->body, "body_length"), 300000);
  EXPECT_TRUE(has_header(b->body, "Transfer-Encoding", "chunked")) << b->body;
  EXPECT_EQ(json_str(a->body, "body_sha256"), json_str(b->body, "body_sha256"));
  // An empty POST announces Content-Length: 0.
  FakeExchange::Options e;
  e.method = "POST";
  auto c = send(e);
  ASSERT_TRUE(wait(*c));
  EXPECT_TRUE(has_header(c->body, "Content-Length", "0")) << c->body;
}

TEST_F(ProxySiteTest, HeadAndChunkedResponses) {
  FakeExchange::Options o;
  o.method = "HEAD";
  o.target = "/big?n=5000";
  auto h = send(o);
  ASSERT_TRUE(wait(*h));
  ASSERT_TRUE(h->finished) << h->error_status << " " << h->error_detail;
  EXPECT_EQ(h->header("Content-Length"), "5000");
  EXPECT_EQ(h->body_bytes, 0u);
  auto c = get("/chunked?n=100000");
  ASSERT_TRUE(wait(*c));
  ASSERT_TRUE(c->finished) << c->error_status << " " << c->error_detail;
  EXPECT_EQ(c->body, std::string(100000, 'x'));
  EXPECT_FALSE(c->header("Transfer-Encoding"));
  EXPECT_FALSE(c->header("Content-Length"));
  // The connection stays usable after a chunked response.
  std::string after = fetch("/after");
  EXPECT_EQ(json_str(after, "path"), "/after");
}

TEST_F(ProxySiteTest, InterimResponsesSwallowed) {
  auto ex = get("/continue");
  ASSERT_TRUE(wait(*ex));
  ASSERT_TRUE(ex->finished);
  EXPECT_EQ(ex->status, 200);
  EXPECT_EQ(json_str(ex->body, "path"), "/continue");
}

// 64 MB down to a slow client: the proxy stops reading the child instead of buffering.
TEST_F(ProxySiteTest, LargeDownloadToSlowClientIsBounded) {
  FakeExchange::Options o;
  o.target = "/big?n=67108864";
  o.keep_response_body = false;
  o.write_delay_ms = 1;
  auto ex = send(o);
  size_t max_blocks = 0;
  ASSERT_TRUE(run_until(
      &loop_,
      [&] {
        max_blocks = std::max(max_blocks, site().buffers().in_use());
        return ex->done();
      },
      60s));
  ASSERT_TRUE(ex->finished) << ex->error_detail;
  EXPECT_EQ(ex->body_bytes, 67108864u);
  EXPECT_LE(max_blocks, 8u);
  EXPECT_LE(ex->max_queue_bytes, 8u * 64 * 1024);
}

// 64 MB up: the client body is paused while the child's socket is full.
TEST_F(ProxySiteTest, LargeUploadIsBounded) {
  FakeExchange::Options o;
  o.method = "PUT";
  // The child reads nothing for 300 ms: the socket buffers fill, so the upload must pause
  // (however fast the child is afterwards) while memory stays bounded.
  o.target = "/sleep?ms=300";
  o.generated_body = 64ull << 20;
  auto ex = send(o);
  size_t max_blocks = 0;
  ASSERT_TRUE(run_until(
      &loop_,
      [&] {
        max_blocks = std::max(max_blocks, site().buffers().in_use());
        return ex->done();
      },
      60s));
  ASSERT_TRUE(ex->finished) << ex->error_detail;
  EXPECT_EQ(json_int(ex->body, "body_length"), 64ll << 20);
  EXPECT_GT(ex->pauses, 0);
  EXPECT_LE(max_blocks, 12u);
}

TEST_F(ProxySiteTest, StockPythonHttpServer) {
  // A child nobody here wrote: python3 -m http.server, told its port through argv.
  config_.process_path = "/bin/sh";
  config_.arguments = {
      "-c", "echo $$ >> pids; exec python3 -m http.server --bind 127.0.0.1 \"$ASPNETCORE_PORT\""};
  std::ofstream(app_ / "hello.txt") << "hello from a file\n";
  std::string body = fetch("/hello.txt");
  EXPECT_EQ(body, "hello from a file\n");
  auto missing = get("/missing.txt");
  ASSERT_TRUE(wait(*missing));
  EXPECT_EQ(missing->status, 404);
}

TEST_F(ProxySiteTest, BareProcessNameFoundInPath) {
  config_.process_path = app_ / "python3";  // how the config loader resolves "python3"
  std::string body = fetch("/");
  EXPECT_GT(json_int(body, "pid"), 0);
}

TEST_F(ProxySiteTest, PreloadStartsEagerly) {
  config_.preload = true;
  site().start();
  ASSERT_TRUE(run_until(
      &loop_, [&] { return pids().size() == 1; }, 10s));
  std::string body = fetch("/");
  EXPECT_EQ(json_int(body, "pid"), pids()[0]);
}

TEST_F(ProxySiteTest, ProcessesRoundRobin) {
  config_.processes = 2;
  std::string a = fetch("/a");
  std::string b = fetch("/b");
  std::string c = fetch("/c");
  EXPECT_NE(json_int(a, "pid"), json_int(b, "pid"));
  EXPECT_EQ(json_int(a, "pid"), json_int(c, "pid"));
  EXPECT_NE(json_int(a, "port"), json_int(b, "port"));
  EXPECT_NE(json_str(a, "token"), json_str(b, "token"));
  EXPECT_EQ(pids().size(), 2u);
}

TEST_F(ProxySiteTest, TokenCheckingChild) {
  config_.environment = {{"ECHO_REQUIRE_TOKEN", "1"}};
  std::string body = fetch("/through-the-proxy");
  EXPECT_EQ(json_str(body, "path"), "/through-the-proxy");
}

}  // namespace
}  // namespace sitehost::proxy::test
