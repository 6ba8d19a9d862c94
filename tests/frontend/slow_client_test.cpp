// Slow clients through the real binary: slowloris (a head sent byte by byte), slow POST (a body
// that stalls) and slow read (a client that hardly reads), by slowhttptest (Debian), a tool
// nobody here wrote, and by hand. header_timeout, body_timeout and send_timeout each cut them,
// while a client that keeps sending within the timeouts is served.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <thread>

#include "tests/support/harness.h"
#include "tests/support/site_config.h"
#include "tests/support/tools.h"

namespace sitehost::test {
namespace {

constexpr const char* kSlowhttptest = "/usr/bin/slowhttptest";

class SlowClients : public ::testing::Test {
 protected:
  void start(const std::vector<std::pair<std::string, std::string>>& server_keys) {
    port = free_port();
    ConfigBuilder b(dir, port);
    for (const auto& [k, v] : server_keys) b.server(k, v);
    b.inproc_app("hello", "hello");
    b.inproc_app("echo", "echo", "/echo");
    b.inproc_app("bulk", "bulk", "/bulk");
    server = std::make_unique<Sitehost>(dir, b.str());
    ASSERT_TRUE(server->wait_listening(port)) << server->log();
  }

  void TearDown() override {
    if (server && server->process().running()) {
      EXPECT_EQ(server->stop(), 0) << server->log();
    }
  }

  // slowhttptest in `mode` against `target` for at most `seconds` (3 s probe), with a report.
  ProgramResult slowhttptest(const std::vector<std::string>& mode, const std::string& target,
                             int seconds = 20) {
    std::vector<std::string> argv{kSlowhttptest};
    argv.insert(argv.end(), mode.begin(), mode.end());
    const std::string url = fmt::format("http://127.0.0.1:{}{}", port, target);
    const std::string report = (dir / "report").string();
    argv.insert(argv.end(),
                {"-u", url, "-l", std::to_string(seconds), "-p", "3", "-g", "-o", report});
    return run_tool(dir.path(), argv, 60s);
  }

  size_t log_count(const std::string& needle) const {
    const std::string log = server->log();
    size_t n = 0;
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  }

  void expect_served() const {
    auto r = http_request(port, "GET", "/");
    ASSERT_TRUE(r) << server->log();
    EXPECT_EQ(r->status, 200);
  }

  TempDir dir;
  uint16_t port = 0;
  std::unique_ptr<Sitehost> server;
};

bool have_slowhttptest() {
  return std::filesystem::exists(kSlowhttptest);
}

// The timeout is between two reads, not for the whole body (nginx's client_body_timeout): a
// body that keeps coming, more slowly than the timeout in total, is served. The pauses are the
// behaviour under test (a slow sender), not synchronisation.
TEST_F(SlowClients, BodyTrickledWithinBodyTimeoutIsServed) {
  ASSERT_NO_FATAL_FAILURE(start({{"body_timeout", "\"1s\""}}));
  Client c(port, 10s);
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"));
  for (char ch : std::string("abcde")) {
    std::this_thread::sleep_for(400ms);
    ASSERT_TRUE(c.send(std::string(1, ch)));
  }
  auto r = c.read_response();
  ASSERT_TRUE(r) << server->log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "abcde");
}

// A head with Content-Length and no body byte: 408 after body_timeout, then the close.
TEST_F(SlowClients, StalledBodyIs408AndTheConnectionCloses) {
  ASSERT_NO_FATAL_FAILURE(start({{"body_timeout", "\"1s\""}}));
  Client c(port, 10s);
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << server->log();
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(c.closed_within(3s));
  EXPECT_NE(server->log().find("request body stalled for body_timeout"), std::string::npos);
  expect_served();
}

TEST_F(SlowClients, SlowhttptestSlowPostIsCut) {
  if (!have_slowhttptest()) GTEST_SKIP() << "slowhttptest is not installed (tools/setup)";
  ASSERT_NO_FATAL_FAILURE(start({{"body_timeout", "\"1s\""}}));
  // 40 connections, each sends a bit of an 8 KiB body every 5 s: the server must not wait.
  ProgramResult r = slowhttptest(
      {"-B", "-c", "40", "-r", "40", "-i", "5", "-s", "8192", "-t", "POST", "-x", "10"}, "/echo");
  EXPECT_NE(r.output.find("No open connections left"), std::string::npos) << r.output;
  EXPECT_GE(log_count("request body stalled for body_timeout"), 40u) << server->log();
  expect_served();
}

TEST_F(SlowClients, SlowhttptestSlowlorisIsCut) {
  if (!have_slowhttptest()) GTEST_SKIP() << "slowhttptest is not installed (tools/setup)";
  ASSERT_NO_FATAL_FAILURE(start({{"header_timeout", "\"1s\""}}));
  // 40 connections, each sends another header line every 5 s and never ends the head.
  ProgramResult r = slowhttptest({"-H", "-c", "40", "-r", "40", "-i", "5", "-x", "24"}, "/");
  EXPECT_NE(r.output.find("No open connections left"), std::string::npos) << r.output;
  expect_served();
}

// The slow reader reads one byte every 5 s through a one-byte window: sitehost's writes stop
// moving and send_timeout cuts each connection. slowhttptest cannot see the close until it
// drains what its socket buffered, so the server's log is the witness.
TEST_F(SlowClients, SlowhttptestSlowReadIsCut) {
  if (!have_slowhttptest()) GTEST_SKIP() << "slowhttptest is not installed (tools/setup)";
  ASSERT_NO_FATAL_FAILURE(start({{"send_timeout", "\"1s\""}}));
  std::thread attack([&] {
    slowhttptest(
        {"-X", "-c", "20", "-r", "20", "-w", "1", "-y", "1", "-n", "5", "-z", "1", "-k", "1"},
        "/bulk?bytes=67108864", 6);
  });
  EXPECT_TRUE(
      wait_until([&] { return log_count("no write progress within send_timeout") >= 20; }, 30s))
      << server->log();
  expect_served();
  attack.join();
}

}  // namespace
}  // namespace sitehost::test
