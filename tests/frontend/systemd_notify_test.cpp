// sitehost under systemd's Type=notify (sd_notify(3)), through the real binary: a test binds the
// notification socket (a path, or an abstract name) and reads what sitehost tells it: READY=1 once
// every binding accepts, RELOADING=1 + MONOTONIC_USEC then READY=1 around every reload (also a
// failed one), STOPPING=1, STATUS= lines, WATCHDOG=1, ERRNO= on a failed start. And the variables
// systemd hands sitehost never reach an out-of-process child.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>

#include "tests/support/harness.h"
#include "tests/support/notify_receiver.h"
#include "tests/support/site_config.h"

namespace sitehost::test {
namespace {

class SystemdNotify : public ::testing::Test {
 protected:
  // Two in-process sites, each on a port of its own (`port`, `port2`).
  std::string two_sites(const std::string& admin = "\"off\"") const {
    ConfigBuilder b(dir, port);
    b.server("admin", admin);
    b.inproc_app("hello", "hello");
    SiteSpec second;
    second.name = "second";
    second.bindings = {"http://127.0.0.1:" + std::to_string(port2)};
    second.keys["handler"] = toml_string((apps_dir() / "hello.so").string());
    b.site(second);
    return b.str();
  }

  // Starts sitehost with NOTIFY_SOCKET set to the receiver (a path unless `abstract`).
  void start(const std::string& config, std::map<std::string, std::string> env = {},
             bool abstract = false) {
    notify =
        std::make_unique<NotifyReceiver>(abstract ? "@sitehost-test-" + std::to_string(::getpid()) +
                                                        "-" + dir.path().filename().string()
                                                  : (dir / "notify.sock").string());
    env["NOTIFY_SOCKET"] = notify->address();
    server = std::make_unique<Sitehost>(dir, config, env);
  }

  // Waits for READY=1 as the first message and asserts that, when it arrives, both ports accept.
  void expect_ready_with_listeners_open() {
    auto ready = notify->next(30s);
    ASSERT_TRUE(ready) << "no READY=1\n" << server->log();
    EXPECT_TRUE(Client(port, 1s).connected()) << "READY before 127.0.0.1:" << port << " accepts";
    EXPECT_TRUE(Client(port2, 1s).connected()) << "READY before 127.0.0.1:" << port2 << " accepts";
    EXPECT_EQ(notify_value(*ready, "READY"), "1") << *ready;
    EXPECT_EQ(notify_value(*ready, "MAINPID"), std::to_string(server->process().pid())) << *ready;
    EXPECT_NE(ready->find("STATUS=serving 2 site(s), 0 connection(s)"), std::string::npos)
        << *ready;
    EXPECT_EQ(http_request(port, "GET", "/")->status, 200);
    EXPECT_EQ(http_request(port2, "GET", "/")->status, 200);
  }

  void TearDown() override {
    if (server && server->process().running()) {
      EXPECT_EQ(server->stop(), 0) << server->log();
    }
  }

  TempDir dir;
  uint16_t port = free_port();
  uint16_t port2 = free_port();
  std::unique_ptr<NotifyReceiver> notify;
  std::unique_ptr<Sitehost> server;
};

TEST_F(SystemdNotify, ReadyOnAPathSocketOnlyOnceEveryBindingAccepts) {
  start(two_sites());
  expect_ready_with_listeners_open();
}

TEST_F(SystemdNotify, ReadyOnAnAbstractSocket) {
  start(two_sites(), {}, /*abstract=*/true);
  expect_ready_with_listeners_open();
}

TEST_F(SystemdNotify, StoppingOnSigterm) {
  start(two_sites());
  ASSERT_TRUE(notify->wait_for("READY=1", 30s)) << server->log();
  server->process().signal(SIGTERM);
  auto stopping = notify->next_event(20s);
  ASSERT_TRUE(stopping) << server->log();
  EXPECT_EQ(notify_value(*stopping, "STOPPING"), "1") << *stopping;
  EXPECT_NE(stopping->find("STATUS=stopping"), std::string::npos) << *stopping;
  auto exited = server->process().wait_exit(20s);
  ASSERT_TRUE(exited && WIFEXITED(*exited)) << server->log();
  EXPECT_EQ(WEXITSTATUS(*exited), 0);
}

// RELOADING=1 carries CLOCK_MONOTONIC of its start; READY=1 ends every reload, a failed one too
// (then STATUS says why, and `sitehost ctl reload` exits 1).
TEST_F(SystemdNotify, ReloadsAreBracketedByReloadingAndReady) {
  std::string admin = toml_string((dir / "admin.sock").string());
  std::string config = two_sites(admin);
  start(config);
  ASSERT_TRUE(notify->wait_for("READY=1", 30s)) << server->log();

  uint64_t before = monotonic_usec();
  server->process().signal(SIGHUP);
  auto reloading = notify->next_event(20s);
  uint64_t after = monotonic_usec();
  ASSERT_TRUE(reloading) << server->log();
  EXPECT_EQ(notify_value(*reloading, "RELOADING"), "1") << *reloading;
  uint64_t stamp = std::stoull(notify_value(*reloading, "MONOTONIC_USEC").value_or("0"));
  EXPECT_GE(stamp, before);
  EXPECT_LE(stamp, after);
  auto ready = notify->next_event(20s);
  ASSERT_TRUE(ready) << server->log();
  EXPECT_EQ(notify_value(*ready, "READY"), "1") << *ready;
  EXPECT_EQ(ready->find("failed"), std::string::npos) << *ready;

  // A config that parses but does not validate: the running one stays.
  ConfigBuilder bad(dir, port);
  bad.server("admin", admin);
  bad.server("header_timeout", "\"soon\"");
  bad.inproc_app("hello", "hello");
  server->rewrite_config(bad.str());
  auto ctl = run_program(
      {sitehost_binary().string(), "ctl", "-c", server->config_path().string(), "reload"},
      dir / "ctl.out");
  EXPECT_EQ(ctl.exit_code, 1) << ctl.output;
  reloading = notify->next_event(20s);
  ASSERT_TRUE(reloading) << server->log();
  EXPECT_EQ(notify_value(*reloading, "RELOADING"), "1") << *reloading;
  ready = notify->next_event(20s);
  ASSERT_TRUE(ready) << server->log();
  EXPECT_EQ(notify_value(*ready, "READY"), "1") << *ready;
  EXPECT_NE(ready->find("STATUS=reload failed, running config kept: "), std::string::npos)
      << *ready;
  EXPECT_NE(ready->find("server.header_timeout"), std::string::npos) << *ready;
  EXPECT_EQ(http_request(port2, "GET", "/")->status, 200);
}

// STATUS= is refreshed every 5 s with what a person wants to read in `systemctl status`.
TEST_F(SystemdNotify, StatusIsRefreshed) {
  start(two_sites());
  ASSERT_TRUE(notify->wait_for("READY=1", 30s)) << server->log();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(http_request(port, "GET", "/")->status, 200);
  bool seen = false;
  for (int tick = 0; tick < 4 && !seen; ++tick) {
    auto status = notify->next(8s);
    ASSERT_TRUE(status) << "no STATUS refresh\n" << server->log();
    seen = *status == "STATUS=serving 2 site(s), 0 connection(s), 3 request(s)";
  }
  EXPECT_TRUE(seen);
}

TEST_F(SystemdNotify, WatchdogPingsAtHalfTheInterval) {
  start(two_sites(), {{"WATCHDOG_USEC", "200000"}});
  ASSERT_TRUE(notify->wait_for("READY=1", 30s)) << server->log();
  auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(notify->wait_for("WATCHDOG=1", 5s)) << server->log();
  // Three pings 100 ms apart; generous for a sanitizer build, far below a 5 s status refresh.
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 3s);
}

// WATCHDOG_PID naming another process: the watchdog is not ours to feed.
TEST_F(SystemdNotify, NoWatchdogForAnotherPid) {
  start(two_sites(), {{"WATCHDOG_USEC", "100000"}, {"WATCHDOG_PID", "1"}});
  ASSERT_TRUE(notify->wait_for("READY=1", 30s)) << server->log();
  EXPECT_FALSE(notify->wait_for("WATCHDOG=1", 1s));
}

TEST_F(SystemdNotify, FailedStartSaysWhy) {
  int taken = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port2);
  ASSERT_EQ(::bind(taken, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(taken, 1), 0);
  start(two_sites());
  auto failed = notify->next(30s);
  ::close(taken);
  ASSERT_TRUE(failed) << server->log();
  EXPECT_EQ(notify_value(*failed, "ERRNO"), std::to_string(EADDRINUSE)) << *failed;
  EXPECT_NE(failed->find("STATUS=failed to start: listen 127.0.0.1:" + std::to_string(port2)),
            std::string::npos)
      << *failed;
  EXPECT_EQ(failed->find("READY=1"), std::string::npos) << *failed;
  auto exited = server->process().wait_exit(20s);
  ASSERT_TRUE(exited && WIFEXITED(*exited)) << server->log();
  EXPECT_EQ(WEXITSTATUS(*exited), 1);
}

// NOTIFY_SOCKET, WATCHDOG_*, LISTEN_* and JOURNAL_STREAM describe sitehost alone: an
// out-of-process child (whose output goes to sitehost's pipes) sees none of them.
TEST_F(SystemdNotify, OutOfProcessChildSeesNoServiceVariables) {
  ConfigBuilder b(dir, port);
  b.server("admin", "\"off\"");
  SiteSpec child;
  child.name = "child";
  child.hosting_model = "outofprocess";
  child.keys["process_path"] = toml_string("/usr/bin/python3");
  child.keys["arguments"] =
      "[" + toml_string((source_dir() / "tests/proxy/children/echo.py").string()) + "]";
  b.site(child);
  start(b.str(), {{"WATCHDOG_USEC", "60000000"},
                  {"WATCHDOG_PID", "1"},
                  {"LISTEN_PID", "1"},
                  {"LISTEN_FDS", "1"},
                  {"LISTEN_FDNAMES", "web"},
                  {"JOURNAL_STREAM", "1:1"}});
  ASSERT_TRUE(notify->wait_for("READY=1", 30s)) << server->log();
  std::optional<Response> r;
  ASSERT_TRUE(wait_until(
      [&] {
        r = http_request(port, "GET", "/env");
        return r && r->status == 200;
      },
      30s))
      << server->log();
  EXPECT_NE(r->body.find("\"systemd_env\": []"), std::string::npos) << r->body;
}

}  // namespace
}  // namespace sitehost::test
