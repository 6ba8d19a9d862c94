// Out-of-process hosting through the real sitehost binary: real clients, real child processes
// (python servers from tests/proxy/children, sitehost-app, python3 -m http.server), loopback only.
// After every test: sitehost stopped and no child process left (checked through ./pids, which
// every test child appends its pid to).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tests/proxy/proxy_test_util.h"
#include "tests/support/harness.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

long elapsed_ms(Clock::time_point since) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

class ProxyIntegration : public ChildrenTest {
 protected:
  std::string config(const std::string& site_keys, const std::string& server_keys = "") const {
    return fmt::format(
        "[server]\ndetailed_errors = true\nlog_level = \"debug\"\n{}\n"
        "[[site]]\nname = \"app\"\nbindings = [\"http://127.0.0.1:{}\"]\n"
        "physical_path = \"{}\"\nhosting_model = \"outofprocess\"\n{}\n",
        server_keys, port_, app_.string(), site_keys);
  }
  std::string python_site(const std::string& script, const std::string& more = "") const {
    return fmt::format("process_path = \"/usr/bin/python3\"\narguments = [\"{}\"]\n{}",
                       (children_dir() / script).string(), more);
  }

  void start(const std::string& site_keys, const std::string& server_keys = "") {
    sitehost_.emplace(dir_, config(site_keys, server_keys));
    ASSERT_TRUE(sitehost_->wait_listening(port_)) << sitehost_->log();
  }

  std::optional<Response> get(const std::string& path,
                              const std::vector<std::string>& headers = {}) {
    return http_request(port_, "GET", path, {}, "localhost", headers);
  }
};

TEST_F(ProxyIntegration, ForwardsWithHeaderRulesAndKeepAlive) {
  start(python_site("echo.py"));
  Client c(port_);
  ASSERT_TRUE(c.connected());
  sockaddr_in local{};
  socklen_t len = sizeof local;
  ::getsockname(c.fd(), reinterpret_cast<sockaddr*>(&local), &len);
  std::string client = fmt::format("127.0.0.1:{}", ntohs(local.sin_port));
  std::string req =
      "GET /x?y=1 HTTP/1.1\r\nHost: example.test\r\nConnection: keep-alive, X-Drop\r\n"
      "X-Drop: 1\r\nKeep-Alive: timeout=5\r\nMS-ASPNETCORE-TOKEN: forged\r\n"
      "X-Forwarded-For: 203.0.113.7:99\r\nX-Custom: kept\r\n\r\n";
  ASSERT_TRUE(c.send(req));
  auto r1 = c.read_response();
  ASSERT_TRUE(r1) << sitehost_->log();
  EXPECT_EQ(r1->status, 200) << r1->body;
  EXPECT_EQ(r1->header("Content-Type"), "application/json");
  const std::string& b = r1->body;
  EXPECT_TRUE(has_header(b, "Host", "example.test")) << b;
  EXPECT_TRUE(has_header(b, "X-Custom", "kept"));
  EXPECT_TRUE(has_header(b, "X-Forwarded-For", "203.0.113.7:99, " + client)) << b;
  EXPECT_TRUE(has_header(b, "X-Forwarded-Proto", "http")) << b;
  EXPECT_EQ(b.find("forged"), std::string::npos);
  EXPECT_EQ(b.find("X-Drop"), std::string::npos);
  EXPECT_EQ(b.find("Keep-Alive"), std::string::npos);
  EXPECT_NE(b.find("MS-ASPNETCORE-TOKEN"), std::string::npos);
  // Same client connection, same child connection.
  ASSERT_TRUE(c.send("POST /y HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\nhello"));
  auto r2 = c.read_response();
  ASSERT_TRUE(r2);
  EXPECT_EQ(json_int(r2->body, "body_length"), 5);
  EXPECT_EQ(json_int(r1->body, "client_port"), json_int(r2->body, "client_port"));
  // Chunked upload, re-framed for the child.
  ASSERT_TRUE(
      c.send("PUT /z HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
             "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"));
  auto r3 = c.read_response();
  ASSERT_TRUE(r3);
  EXPECT_EQ(json_int(r3->body, "body_length"), 7);
}

TEST_F(ProxyIntegration, SitehostAppRejectsRequestsWithoutToken) {
  start(fmt::format("process_path = \"{}\"\narguments = [\"{}\"]\n", sitehost_app_binary().string(),
                    (apps_dir() / "info.so").string()));
  auto through = get("/");
  ASSERT_TRUE(through) << sitehost_->log();
  EXPECT_EQ(through->status, 200) << through->body;
  std::smatch m;
  std::string log = sitehost_->log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("as pid (\\d+) on 127\\.0\\.0\\.1:(\\d+)")))
      << log;
  auto child_port = static_cast<uint16_t>(std::stoi(m[2]));
  long child_pid = std::stol(m[1]);
  auto direct = http_request(child_port, "GET", "/");
  ASSERT_TRUE(direct);
  EXPECT_EQ(direct->status, 400);
  Client c(child_port);
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: h\r\nMS-ASPNETCORE-TOKEN: nope\r\n\r\n"))
      << sitehost_->log();
  auto wrong = c.read_response();
  ASSERT_TRUE(wrong) << c.pending() << child_port << "\n" << sitehost_->log();
  EXPECT_EQ(wrong->status, 400);
  ASSERT_EQ(sitehost_->stop(), 0);
  sitehost_.reset();
  EXPECT_TRUE(wait_until([&] { return process_gone(child_pid); }, 5s));
}

TEST_F(ProxyIntegration, StockPythonHttpServer) {
  std::ofstream(app_ / "file.txt") << "served by python3 -m http.server\n";
  start(
      "process_path = \"/bin/sh\"\narguments = [\"-c\", \"echo $$ >> pids; exec python3 -m "
      "http.server --bind 127.0.0.1 $ASPNETCORE_PORT\"]\n");
  auto r = get("/file.txt");
  ASSERT_TRUE(r) << sitehost_->log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "served by python3 -m http.server\n");
}

#ifdef __SANITIZE_ADDRESS__
constexpr uint64_t kLarge = 256ull << 20;
#else
constexpr uint64_t kLarge = 1ull << 30;
#endif

TEST_F(ProxyIntegration, LargeBodiesBothWaysWithBoundedRss) {
  start(python_site("echo.py", "max_allowed_content_length = \"4GB\"\n"));
  ASSERT_TRUE(get("/warm-up"));
  pid_t pid = sitehost_->process().pid();
  long base_kb = status_kb(pid, "VmRSS");

  {  // upload
    Client c(port_, 30s);
    ASSERT_TRUE(c.send(
        fmt::format("PUT /upload HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n", kLarge)));
    std::string block(1 << 20, 'u');
    for (uint64_t sent = 0; sent < kLarge; sent += block.size()) ASSERT_TRUE(c.send(block));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(json_int(r->body, "body_length"), static_cast<long>(kLarge))
        << r->status << r->body.substr(0, 2000) << sitehost_->log();
  }
  {  // download, counted, not kept
    Client c(port_, 30s);
    ASSERT_TRUE(c.send(fmt::format("GET /big?n={} HTTP/1.1\r\nHost: h\r\n\r\n", kLarge)));
    std::string& buf = c.pending();
    uint64_t body = 0;
    size_t head_end = std::string::npos;
    char chunk[1 << 16];
    auto deadline = Clock::now() + 120s;
    while (Clock::now() < deadline) {
      pollfd p{c.fd(), POLLIN, 0};
      ::poll(&p, 1, 1000);
      ssize_t n = ::recv(c.fd(), chunk, sizeof chunk, MSG_DONTWAIT);
      if (n == 0) break;
      if (n < 0) continue;
      if (head_end == std::string::npos) {
        buf.append(chunk, static_cast<size_t>(n));
        head_end = buf.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          EXPECT_NE(buf.find(fmt::format("Content-Length: {}", kLarge)), std::string::npos);
          body = buf.size() - head_end - 4;
        }
      } else {
        body += static_cast<uint64_t>(n);
      }
      if (body >= kLarge) break;
    }
    EXPECT_EQ(body, kLarge);
  }
  long peak_kb = status_kb(pid, "VmHWM");
  EXPECT_LT(peak_kb - base_kb, 64 * 1024)
      << "sitehost grew from " << base_kb << " kB to " << peak_kb;
}

TEST_F(ProxyIntegration, RequestTimeoutIs5023WithinOneSecond) {
  start(python_site("echo.py", "request_timeout = \"2s\"\n"));
  ASSERT_TRUE(get("/warm-up"));
  auto start = Clock::now();
  auto r = get("/sleep?ms=6000");
  long ms = elapsed_ms(start);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_NE(r->body.find("502.3"), std::string::npos) << r->body;
  EXPECT_GE(ms, 1950);
  EXPECT_LT(ms, 3000);
}

TEST_F(ProxyIntegration, CrashRestartAndRapidFailCutOff) {
  start(python_site("echo.py", "rapid_fails_per_minute = 2\n"));
  auto first = get("/");
  ASSERT_TRUE(first);
  long pid1 = json_int(first->body, "pid");
  auto crash = get("/crash");
  ASSERT_TRUE(crash);
  EXPECT_EQ(crash->status, 502);
  EXPECT_NE(crash->body.find("502.5"), std::string::npos) << crash->body;
  auto second = get("/");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  long pid2 = json_int(second->body, "pid");
  EXPECT_NE(pid1, pid2);
  EXPECT_TRUE(process_gone(pid1));
  for (int i = 0; i < 2; ++i) {
    auto r = get("/crash");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 502);
  }
  size_t started = pids().size();
  EXPECT_EQ(started, 3u);
  auto blocked = get("/");
  ASSERT_TRUE(blocked);
  EXPECT_EQ(blocked->status, 502);
  EXPECT_NE(blocked->body.find("rapid-fail"), std::string::npos) << blocked->body;
  EXPECT_EQ(pids().size(), started);
}

TEST_F(ProxyIntegration, StartupTimeLimit) {
  start(python_site("never_listens.py", "startup_time_limit = \"1s\"\n"));
  auto start = Clock::now();
  auto r = get("/");
  long ms = elapsed_ms(start);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_NE(r->body.find("502.5"), std::string::npos);
  EXPECT_NE(r->body.find("startup_time_limit"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("never_listens: up, but not listening"), std::string::npos) << r->body;
  EXPECT_GE(ms, 950);
  EXPECT_LT(ms, 3000);
  ASSERT_EQ(pids().size(), 1u);
  EXPECT_TRUE(wait_until([&] { return process_gone(pids()[0]); }, 5s));
}

TEST_F(ProxyIntegration, ChildThatNeverStartsShowsItsOutput) {
  start(python_site("exit_at_start.py"));
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_NE(r->body.find("502.5"), std::string::npos);
  EXPECT_NE(r->body.find("appsettings.json missing"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("exited with code 3"), std::string::npos) << r->body;
}

TEST_F(ProxyIntegration, StdoutLogFileNaming) {
  start(
      python_site("echo.py", "stdout_log_enabled = true\nstdout_log_file = \"logs/app/stdout\"\n"));
  auto r = get("/");
  ASSERT_TRUE(r);
  long pid = json_int(r->body, "pid");
  std::regex name("stdout_\\d{14}_" + std::to_string(pid) + "\\.log");
  fs::path found;
  for (auto& e : fs::directory_iterator(app_ / "logs" / "app"))
    if (std::regex_match(e.path().filename().string(), name)) found = e.path();
  ASSERT_FALSE(found.empty());
  EXPECT_TRUE(wait_until(
      [&] { return read_file(found).find("echo: listening") != std::string::npos; }, 5s));
}

TEST_F(ProxyIntegration, GracefulStopSigtermThenSigkillOfTheGroup) {
  start(python_site("ignore_sigterm.py", "shutdown_time_limit = \"1s\"\n"));
  auto r = get("/");
  ASSERT_TRUE(r);
  ASSERT_EQ(pids().size(), 2u);  // the child and a helper in its process group
  auto start = Clock::now();
  EXPECT_EQ(sitehost_->stop(), 0);
  long ms = elapsed_ms(start);
  EXPECT_GE(ms, 950);
  EXPECT_LT(ms, 4000);
  for (long pid : pids()) EXPECT_TRUE(wait_until([&] { return process_gone(pid); }, 5s)) << pid;
  EXPECT_NE(sitehost_->log().find("SIGKILL to its process group"), std::string::npos);
  sitehost_.reset();
}

TEST_F(ProxyIntegration, WebSocketEchoThroughTheTunnel) {
  start(python_site("ws_echo.py", "request_timeout = \"1s\"\n"));
  Process client({"/usr/bin/python3", (children_dir() / "ws_client.py").string(),
                  fmt::format("ws://127.0.0.1:{}/chat", port_)},
                 dir_ / "ws_client.out");
  auto status = client.wait_exit(30s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << client.output() << sitehost_->log();
  EXPECT_NE(client.output().find("OK"), std::string::npos);
}

TEST_F(ProxyIntegration, ClientDisconnectClosesTheChildConnection) {
  start(python_site("echo.py"));
  {
    Client c(port_);
    ASSERT_TRUE(c.send("GET /wait-close?id=q HTTP/1.1\r\nHost: h\r\n\r\n"));
    ASSERT_TRUE(wait_until([&] { return fs::exists(app_ / "open-q"); }, 10s));
  }  // the client goes away
  EXPECT_TRUE(wait_until([&] { return fs::exists(app_ / "closed-q"); }, 5s));
}

// Server-sent events, long polls: a head the child flushed reaches the client at once, before
// any body byte exists (the child holds its body until the test has seen the head).
TEST_F(ProxyIntegration, ResponseHeadIsForwardedBeforeTheFirstBodyByte) {
  start(python_site("echo.py"));
  Client c(port_, 10s);
  ASSERT_TRUE(c.send("GET /head-then-wait?id=h HTTP/1.1\r\nHost: h\r\n\r\n"));
  ASSERT_TRUE(wait_until([&] { return fs::exists(app_ / "head-h"); }, 10s));
  while (c.pending().find("\r\n\r\n") == std::string::npos)
    ASSERT_TRUE(c.read_at_least(c.pending().size() + 1)) << "no head while the body is held";
  EXPECT_EQ(c.pending().rfind("HTTP/1.1 200", 0), 0u) << c.pending();
  EXPECT_NE(c.pending().find("text/event-stream"), std::string::npos) << c.pending();
  EXPECT_EQ(c.pending().find("released"), std::string::npos);
  std::ofstream(app_ / "release-h") << "go\n";
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "released\n");
}

// Clients that reset their connections in the middle of large responses (as wrk does when its
// run ends): every request is accounted as ended, so a stop right after has none in flight and
// does not wait out shutdown_time_limit.
TEST_F(ProxyIntegration, ClientsResettingMidResponseLeaveNoRequestInFlight) {
  start(python_site("echo.py", "shutdown_time_limit = \"20s\"\n"));
  ASSERT_TRUE(get("/warm-up"));
  for (int i = 0; i < 60; ++i) {
    Client c(port_, 10s);
    ASSERT_TRUE(c.send("GET /big?n=20000000 HTTP/1.1\r\nHost: h\r\n\r\n"));
    ASSERT_TRUE(c.read_at_least(static_cast<size_t>(1000 + 3000 * (i % 20))));
    linger reset{1, 0};  // close with RST, unread bytes and all
    ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  }
  ASSERT_TRUE(get("/after"));
  auto started = Clock::now();
  EXPECT_EQ(sitehost_->stop(30s), 0) << sitehost_->log();
  EXPECT_EQ(sitehost_->log().find("request(s) in flight"), std::string::npos) << sitehost_->log();
  EXPECT_LT(elapsed_ms(started), 5000);
  sitehost_.reset();
}

TEST_F(ProxyIntegration, ChildrenDieWithSitehost) {
  start(python_site("echo.py", "processes = 2\npreload = true\n"));
  ASSERT_TRUE(wait_until([&] { return pids().size() == 2; }, 10s));
  sitehost_->process().signal(SIGKILL);
  ASSERT_TRUE(sitehost_->process().wait_exit(5s));
  for (long pid : pids()) EXPECT_TRUE(wait_until([&] { return process_gone(pid); }, 5s)) << pid;
  sitehost_.reset();
}

TEST_F(ProxyIntegration, ReloadRestartsTheChildWithTheNewConfig) {
  start(python_site("echo.py", "environment = { ECHO_EXTRA = \"one\" }\n"));
  auto a = get("/");
  ASSERT_TRUE(a);
  EXPECT_NE(a->body.find("\"env_extra\": \"one\""), std::string::npos);
  sitehost_->rewrite_config(
      config(python_site("echo.py", "environment = { ECHO_EXTRA = \"two\" }\n")));
  sitehost_->process().signal(SIGHUP);
  long old_pid = json_int(a->body, "pid");
  ASSERT_TRUE(wait_until([&] { return process_gone(old_pid); }, 10s)) << sitehost_->log();
  auto b = get("/");
  ASSERT_TRUE(b);
  EXPECT_NE(b->body.find("\"env_extra\": \"two\""), std::string::npos) << b->body;
}

}  // namespace
}  // namespace sitehost::test
