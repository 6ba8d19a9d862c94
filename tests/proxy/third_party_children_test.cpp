// Out-of-process hosting with servers nobody here wrote, through the real sitehost binary: a
// Node.js server on the stock `http` module (children/node_server.js) and a WSGI app under
// gunicorn (children/wsgi_app.py, settings in children/gunicorn_conf.py, one gthread worker).
// Each runs with its own defaults (keep-alive, framing, timeouts). Where `node` or `gunicorn` is
// not on PATH the test is skipped with one line naming the Debian package.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tests/proxy/proxy_test_util.h"
#include "tests/support/harness.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

enum class Server { kNode, kGunicorn };
const char* server_name(Server s) {
  return s == Server::kNode ? "node" : "gunicorn";
}
void PrintTo(Server s, std::ostream* os) {
  *os << server_name(s);
}  // gtest's parameter text

constexpr size_t kLargeBody = 20u << 20;                // 20 MiB each way
constexpr long kDieMidLength = 1000000;                 // the Content-Length /die-mid announces
constexpr auto kDeathBound = std::chrono::seconds(10);  // a cut response closes within this

// The first executable `name` in $PATH, or nullopt.
std::optional<fs::path> find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    fs::path candidate = fs::path(dirs.substr(start, end - start)) / name;
    if (!candidate.parent_path().empty() && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

std::string sha256_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

// Bytes no child could guess (xorshift), CR and LF included, so a re-framing slip shows.
std::string pseudo_random_bytes(size_t n) {
  std::string out(n, '\0');
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (auto& c : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x & 0xff);
  }
  return out;
}

// Reads until `marker` is in the client's buffer; false on EOF, error or `timeout`.
bool read_until_contains(Client& c, const std::string& marker, Ms timeout = 15s) {
  auto deadline = Clock::now() + timeout;
  while (c.pending().find(marker) == std::string::npos) {
    if (Clock::now() >= deadline || !c.read_at_least(c.pending().size() + 1)) return false;
  }
  return true;
}

std::string local_address(const Client& c) {
  sockaddr_in local{};
  socklen_t len = sizeof local;
  ::getsockname(c.fd(), reinterpret_cast<sockaddr*>(&local), &len);
  return fmt::format("127.0.0.1:{}", ntohs(local.sin_port));
}

class ThirdPartyFixture : public ChildrenTest {
 protected:
  // Skips (GTEST_SKIP in the caller's SetUp) when the server's program is not installed,
  // otherwise starts sitehost with one out-of-process site running it.
  void start(Server server) {
    server_ = server;
    const char* program = server_name(server);
    auto found = find_in_path(program);
    if (!found) {
      GTEST_SKIP() << program << " is not installed: the test needs Debian's "
                   << (server == Server::kNode ? "nodejs" : "gunicorn") << " package";
    }
    std::string site =
        server == Server::kNode
            ? fmt::format("process_path = \"{}\"\narguments = [\"{}\"]\n", found->string(),
                          (children_dir() / "node_server.js").string())
            : fmt::format("process_path = \"{}\"\narguments = [\"-c\", \"{}\", \"wsgi_app:app\"]\n",
                          found->string(), (children_dir() / "gunicorn_conf.py").string());
    sitehost_.emplace(dir_,
                      fmt::format("[server]\ndetailed_errors = true\nlog_level = \"debug\"\n\n"
                                  "[[site]]\nname = \"app\"\nbindings = [\"http://127.0.0.1:{}\"]\n"
                                  "physical_path = \"{}\"\nhosting_model = \"outofprocess\"\n{}",
                                  port_, app_.string(), site));
    ASSERT_TRUE(sitehost_->wait_listening(port_)) << sitehost_->log();
  }

  const char* name() const { return server_name(server_); }
  // The process sitehost supervises: node itself, or gunicorn's master (the app runs in a
  // worker it forked).
  long supervised_pid(const std::string& json) const {
    return json_int(json, server_ == Server::kNode ? "pid" : "master_pid");
  }

  std::optional<Response> get(const std::string& path) { return http_request(port_, "GET", path); }

  // /die-mid (`query` picks what dies for gunicorn): the client must see a 502 (with
  // `sub_status`: 502.5 when the supervised child died, 502.3 when it lives on) or a response cut
  // short, its connection closed within kDeathBound, never a hang.
  void expect_cut_response(const std::string& query, const std::string& sub_status) {
    Client c(port_, 15s);
    ASSERT_TRUE(c.connected());
    // Connection: close, so that a 502 answer closes the connection too.
    ASSERT_TRUE(
        c.send("GET /die-mid" + query + " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
    auto start = Clock::now();
    EXPECT_TRUE(c.closed_within(kDeathBound)) << "still open after 10 s\n" << sitehost_->log();
    auto ms = std::chrono::duration_cast<Ms>(Clock::now() - start).count();
    const std::string& got = c.pending();
    size_t head_end = got.find("\r\n\r\n");
    if (got.rfind("HTTP/1.1 502", 0) == 0) {
      EXPECT_NE(got.find(sub_status), std::string::npos) << got.substr(0, 2000);
    } else if (!got.empty()) {
      ASSERT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got.substr(0, 2000);
      ASSERT_NE(head_end, std::string::npos) << got.substr(0, 2000);
      EXPECT_LT(static_cast<long>(got.size() - head_end - 4), kDieMidLength);
    }  // nothing at all: the connection was closed before the head, also a cut
    std::printf("[          ] %s /die-mid%s: %zu bytes then closed after %ld ms (%s)\n", name(),
                query.c_str(), got.size(), static_cast<long>(ms),
                got.empty() ? "nothing" : got.substr(0, got.find("\r\n")).c_str());
  }

  Server server_ = Server::kNode;
};

class ThirdPartyChild : public ThirdPartyFixture, public ::testing::WithParamInterface<Server> {
 protected:
  void SetUp() override {
    ThirdPartyFixture::SetUp();
    start(GetParam());
  }
};

TEST_P(ThirdPartyChild, GetAndPostWithTokenAndForwardedFor) {
  Client c(port_);
  ASSERT_TRUE(c.connected());
  std::string client = local_address(c);

  ASSERT_TRUE(c.send("GET /hello?x=1 HTTP/1.1\r\nHost: example.test\r\nX-Test: get-1\r\n\r\n"));
  auto g = c.read_response();
  ASSERT_TRUE(g) << sitehost_->log();
  EXPECT_EQ(g->status, 200) << g->body;
  EXPECT_EQ(g->header("Content-Type"), "application/json");
  EXPECT_EQ(g->header("X-Child"), name());
  EXPECT_EQ(g->header("X-Echo-Test"), "get-1");
  EXPECT_EQ(json_str(g->body, "server"), name()) << g->body;
  EXPECT_EQ(json_str(g->body, "method"), "GET");
  EXPECT_EQ(json_str(g->body, "path"), "/hello");
  EXPECT_EQ(json_int(g->body, "body_length"), 0);
  EXPECT_EQ(json_str(g->body, "x_test"), "get-1");
  std::string token = json_str(g->body, "token_env");
  EXPECT_EQ(token.size(), 32u) << g->body;  // 128 bits, hex
  EXPECT_EQ(json_str(g->body, "token_header"), token) << g->body;
  EXPECT_EQ(json_str(g->body, "forwarded_for"), client) << g->body;

  // Same client connection: a POST with a body and a status of the child's choosing.
  std::string body = fmt::format("hello, {}\r\nsecond line", name());
  ASSERT_TRUE(c.send(
      fmt::format("POST /submit?status=201 HTTP/1.1\r\nHost: example.test\r\nX-Test: post-2\r\n"
                  "Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{}",
                  body.size(), body)));
  auto p = c.read_response();
  ASSERT_TRUE(p) << sitehost_->log();
  EXPECT_EQ(p->status, 201) << p->body;
  EXPECT_EQ(p->header("X-Child"), name());
  EXPECT_EQ(p->header("X-Echo-Test"), "post-2");
  EXPECT_EQ(json_str(p->body, "method"), "POST");
  EXPECT_EQ(json_str(p->body, "path"), "/submit");
  EXPECT_EQ(json_int(p->body, "body_length"), static_cast<long>(body.size()));
  EXPECT_EQ(json_str(p->body, "body_sha256"), sha256_hex(body));
  EXPECT_EQ(json_str(p->body, "token_header"), token);
  EXPECT_EQ(json_str(p->body, "forwarded_for"), client) << p->body;
  EXPECT_EQ(supervised_pid(p->body), supervised_pid(g->body));
}

TEST_P(ThirdPartyChild, Upload20MiBAndDownload20MiBByteExact) {
  const std::string upload = pseudo_random_bytes(kLargeBody);
  const std::string expected_sha = sha256_hex(upload);
  {
    Client c(port_, 30s);
    c.read_while_sending();
    ASSERT_TRUE(c.send(
        fmt::format("PUT /upload HTTP/1.1\r\nHost: h\r\nContent-Type: application/octet-stream\r\n"
                    "Content-Length: {}\r\n\r\n",
                    upload.size())));
    for (size_t at = 0; at < upload.size(); at += 1u << 20)
      ASSERT_TRUE(c.send(upload.substr(at, 1u << 20))) << "upload stopped at byte " << at;
    auto r = c.read_response();
    ASSERT_TRUE(r) << sitehost_->log();
    EXPECT_EQ(r->status, 200) << r->body.substr(0, 2000);
    EXPECT_EQ(json_int(r->body, "body_length"), static_cast<long>(kLargeBody)) << r->body;
    EXPECT_EQ(json_str(r->body, "body_sha256"), expected_sha) << r->body;
  }
  {
    Client c(port_, 30s);
    ASSERT_TRUE(c.send(fmt::format("GET /download?n={} HTTP/1.1\r\nHost: h\r\n\r\n", kLargeBody)));
    auto r = c.read_response();
    ASSERT_TRUE(r) << sitehost_->log();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("Content-Length"), std::to_string(kLargeBody));
    ASSERT_EQ(r->body.size(), kLargeBody);
    size_t bad = 0;
    while (bad < kLargeBody && static_cast<unsigned char>(r->body[bad]) == bad % 251) ++bad;
    EXPECT_EQ(bad, kLargeBody) << "first wrong byte at offset " << bad;
  }
}

// Each part must reach the client while the child still waits to write the next one: part N+1
// is written only after the test, having read part N, asks /release. Nothing depends on when
// the response head arrives, only on the parts.
TEST_P(ThirdPartyChild, StreamedPartsArriveBeforeTheNextIsWritten) {
  Client s(port_, 15s);
  ASSERT_TRUE(s.send("GET /stream?id=s1 HTTP/1.1\r\nHost: h\r\n\r\n"));
  for (int part = 1; part <= 2; ++part) {
    ASSERT_TRUE(read_until_contains(s, fmt::format("part {} of 3\n", part)))
        << "part " << part
        << " did not arrive while the child waits to write the next; got: " << s.pending() << "\n"
        << sitehost_->log();
    EXPECT_EQ(s.pending().find(fmt::format("part {} of 3", part + 1)), std::string::npos);
    auto release = get("/release?id=s1");
    ASSERT_TRUE(release) << sitehost_->log();
    ASSERT_EQ(release->status, 200) << "the stream was not waiting: " << release->body;
  }
  auto r = s.read_response();
  ASSERT_TRUE(r) << s.pending() << sitehost_->log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(r->body, "part 1 of 3\npart 2 of 3\npart 3 of 3\n");
}

// For gunicorn the worker SIGKILLs the master (the process sitehost supervises) and exits.
TEST_P(ThirdPartyChild, ChildDyingMidResponseIsCutThenRestarted) {
  auto first = get("/before");
  ASSERT_TRUE(first) << sitehost_->log();
  ASSERT_EQ(first->status, 200);
  long pid1 = supervised_pid(first->body);
  ASSERT_GT(pid1, 0) << first->body;

  ASSERT_NO_FATAL_FAILURE(
      expect_cut_response(server_ == Server::kNode ? "" : "?who=master", "502.5"));
  EXPECT_TRUE(wait_until([&] { return process_exited(pid1); }, 5s)) << pid1;

  auto next = get("/after");
  ASSERT_TRUE(next) << sitehost_->log();
  EXPECT_EQ(next->status, 200) << next->body;
  long pid2 = supervised_pid(next->body);
  EXPECT_GT(pid2, 0) << next->body;
  EXPECT_NE(pid2, pid1) << "the next request was not served by a restarted child";
}

INSTANTIATE_TEST_SUITE_P(Servers, ThirdPartyChild,
                         ::testing::Values(Server::kNode, Server::kGunicorn), [](const auto& info) {
                           return info.param == Server::kNode ? "Node" : "Gunicorn";
                         });

// gunicorn's own supervision: a worker that dies mid-response is replaced by the master, which
// sitehost supervises and which lives on, so sitehost restarts nothing.
class ThirdPartyGunicorn : public ThirdPartyFixture {
 protected:
  void SetUp() override {
    ThirdPartyFixture::SetUp();
    start(Server::kGunicorn);
  }
};

TEST_F(ThirdPartyGunicorn, WorkerDyingMidResponseIsCutAndTheMasterRespawnsIt) {
  auto first = get("/before");
  ASSERT_TRUE(first) << sitehost_->log();
  ASSERT_EQ(first->status, 200);
  long worker1 = json_int(first->body, "pid");
  long master = json_int(first->body, "master_pid");

  ASSERT_NO_FATAL_FAILURE(expect_cut_response("?who=worker", "502.3"));

  auto next = get("/after");
  ASSERT_TRUE(next) << sitehost_->log();
  EXPECT_EQ(next->status, 200) << next->body;
  EXPECT_EQ(json_int(next->body, "master_pid"), master) << "sitehost restarted gunicorn";
  EXPECT_NE(json_int(next->body, "pid"), worker1) << next->body;
  EXPECT_TRUE(wait_until([&] { return process_gone(worker1); }, 5s)) << worker1;
}

}  // namespace
}  // namespace sitehost::test
