// Out-of-process hosting on two event loops through the real sitehost binary (`event_loops = 2`):
// every loop has its own lane (keep-alive pools, waiting requests, request_timeout sweep) while
// one supervisor on the control thread owns the child. Requests on both loops are answered (read
// back from /status "loops"), first requests on both loops wait for one starting child, a crash
// under load restarts the child, a recycle under load fails nothing, request_timeout is 502.3 on
// both loops. Children are tracked through ./pids (never killed by name).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "tests/proxy/proxy_test_util.h"
#include "tests/support/event_loops.h"
#include "tests/support/harness.h"
#include "tests/support/load.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;

// GET /status on the admin unix socket: the whole answer (the admin API closes after it).
std::string admin_status(const fs::path& socket_path) {
  return admin_exchange(socket_path, "GET", "/status");
}

// Keep-alive GETs in a loop; remembers the child pids that answered. A 502 whose page says
// 502.5 (the child died while handling the request: documented) is counted apart; any other
// non-200 fails.
class PidLoad {
 public:
  PidLoad(uint16_t port, int threads)
      : load_([port] { return std::make_unique<Client>(port, 10s); },
              "GET /load HTTP/1.1\r\nHost: localhost\r\n\r\n",
              [this](const Response& r) { return record(r); }, threads) {}

  void stop() { load_.stop(); }
  long sent() const { return load_.sent(); }
  long failed() const { return load_.failed(); }
  long process_failures() const { return process_failures_; }
  std::string errors() const { return load_.errors(); }
  long last_pid() const { return last_pid_; }
  std::set<long> pids() const {
    std::lock_guard lock(mutex_);
    return pids_;
  }

 private:
  std::string record(const Response& r) {
    if (r.status == 502 && r.body.find("502.5") != std::string::npos) {
      ++process_failures_;
      return {};
    }
    if (r.status != 200) return fmt::format("HTTP {}: {}", r.status, r.body.substr(0, 500));
    long pid = json_int(r.body, "pid");
    last_pid_ = pid;
    std::lock_guard lock(mutex_);
    pids_.insert(pid);
    return {};
  }

  std::atomic<long> last_pid_{0};
  std::atomic<long> process_failures_{0};
  mutable std::mutex mutex_;
  std::set<long> pids_;
  KeepAliveLoad load_;  // last: its threads use the members above
};

class ProxyLanes : public ChildrenTest {
 protected:
  void start(const std::string& site_keys = "") {
    fs::copy_file(children_dir() / "echo.py", app_ / "app.py",
                  fs::copy_options::overwrite_existing);
    std::string config = fmt::format(
        "[server]\nevent_loops = 2\ndetailed_errors = true\nlog_level = \"debug\"\n"
        "admin = \"{}\"\n"
        "[[site]]\nname = \"app\"\nbindings = [\"http://127.0.0.1:{}\"]\n"
        "physical_path = \"{}\"\nhosting_model = \"outofprocess\"\n"
        "process_path = \"/usr/bin/python3\"\narguments = [\"app.py\"]\n{}\n",
        admin_socket().string(), port_, app_.string(), site_keys);
    sitehost_.emplace(dir_, config);
    ASSERT_TRUE(sitehost_->wait_listening(port_)) << sitehost_->log();
    ASSERT_TRUE(wait_until([&] { return fs::exists(admin_socket()); }, 5s));
  }
  fs::path admin_socket() const { return dir_ / "admin.sock"; }

  // Both loops answered requests (tests/support/event_loops.h).
  void expect_both_loops_served() {
    std::string status;
    EXPECT_TRUE(every_loop_served(port_, admin_socket(), 2, "/", status)) << status;
  }

  // `connections` clients at once, each on its own connection (so the kernel spreads them over
  // both loops' listeners), each sending `per_connection` keep-alive GETs of `target`; returns
  // the statuses.
  std::vector<int> burst(int connections, int per_connection, const std::string& target) {
    std::vector<int> statuses(static_cast<size_t>(connections * per_connection), 0);
    std::vector<std::thread> threads;
    for (int c = 0; c < connections; ++c)
      threads.emplace_back([&, c] {
        Client client(port_, 20s);
        for (int i = 0; i < per_connection; ++i) {
          if (!client.send("GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n")) return;
          auto r = client.read_response();
          if (!r) return;
          statuses[static_cast<size_t>(c * per_connection + i)] = r->status;
        }
      });
    for (auto& t : threads) t.join();
    return statuses;
  }

  long pid_now() {
    auto r = http_request(port_, "GET", "/");
    return r && r->status == 200 ? json_int(r->body, "pid") : -1;
  }
};

TEST_F(ProxyLanes, KeepAliveConnectionsAreAnsweredOnBothLoops) {
  start();
  std::vector<int> statuses = burst(24, 10, "/");
  for (size_t i = 0; i < statuses.size(); ++i) ASSERT_EQ(statuses[i], 200) << i;
  expect_both_loops_served();
  EXPECT_EQ(pids().size(), 1u) << sitehost_->log();  // one child for both loops
}

TEST_F(ProxyLanes, FirstRequestsOnBothLoopsWaitForTheStartingChild) {
  start("environment = { ECHO_START_DELAY_MS = \"700\" }\n");
  std::vector<int> statuses = burst(24, 1, "/");
  for (size_t i = 0; i < statuses.size(); ++i) EXPECT_EQ(statuses[i], 200) << i;
  expect_both_loops_served();
  EXPECT_EQ(pids().size(), 1u) << sitehost_->log();  // both lanes waited for one start
}

TEST_F(ProxyLanes, ChildCrashUnderLoadRestartsIt) {
  start();
  long first = pid_now();
  ASSERT_GT(first, 0) << sitehost_->log();
  PidLoad load(port_, 6);
  ASSERT_TRUE(wait_until([&] { return load.sent() > 50; }, 10s));
  ASSERT_EQ(::kill(static_cast<pid_t>(first), SIGKILL), 0);  // the tracked pid
  ASSERT_TRUE(wait_until(
      [&] {
        long pid = load.last_pid();
        return pid > 0 && pid != first;
      },
      15s))
      << sitehost_->log();
  long after = load.sent();
  ASSERT_TRUE(wait_until([&] { return load.sent() > after + 50; }, 10s));
  load.stop();
  // Requests the child was handling when it died get 502.5 (docs/out-of-process.md); nothing
  // else fails, and at most the requests in flight then (one per client).
  EXPECT_EQ(load.failed(), 0) << load.errors() << sitehost_->log();
  EXPECT_LE(load.process_failures(), 6);
  EXPECT_EQ(pids().size(), 2u) << sitehost_->log();
  expect_both_loops_served();
  EXPECT_NE(admin_status(admin_socket()).find("\"child_crashes\": 1"), std::string::npos);
}

TEST_F(ProxyLanes, RecycleUnderLoadFailsNothing) {
  start();
  long first = pid_now();
  ASSERT_GT(first, 0) << sitehost_->log();
  PidLoad load(port_, 6);
  ASSERT_TRUE(wait_until([&] { return load.last_pid() == first; }, 5s));
  std::vector<long> seen{first};
  for (int i = 0; i < 3; ++i) {
    fs::last_write_time(app_ / "app.py", fs::file_time_type::clock::now());
    ASSERT_TRUE(wait_until(
        [&] {
          long pid = load.last_pid();
          return pid > 0 && std::find(seen.begin(), seen.end(), pid) == seen.end();
        },
        15s))
        << "recycle " << i << "\n"
        << sitehost_->log();
    seen.push_back(load.last_pid());
    long sent = load.sent();
    // Traffic on the new child before the next deploy (an event, not a sleep).
    ASSERT_TRUE(wait_until([&] { return load.sent() > sent + 30; }, 10s));
  }
  load.stop();
  EXPECT_EQ(load.failed(), 0) << load.errors() << sitehost_->log();
  EXPECT_EQ(load.process_failures(), 0) << sitehost_->log();
  EXPECT_EQ(pids().size(), 4u) << sitehost_->log();
  for (size_t i = 0; i + 1 < seen.size(); ++i)
    EXPECT_TRUE(wait_until([&] { return process_gone(seen[i]); }, 10s)) << seen[i];
  expect_both_loops_served();
  std::string log = sitehost_->log();
  EXPECT_NE(log.find("generation 4 ready"), std::string::npos) << log;
  EXPECT_EQ(log.find("[error]"), std::string::npos) << log;
}

TEST_F(ProxyLanes, RequestTimeoutIs5023OnBothLoops) {
  start("request_timeout = \"400ms\"\n");
  ASSERT_GT(pid_now(), 0) << sitehost_->log();
  std::vector<int> statuses = burst(12, 1, "/sleep?ms=5000");
  for (size_t i = 0; i < statuses.size(); ++i) EXPECT_EQ(statuses[i], 502) << i;
  expect_both_loops_served();
  std::string log = sitehost_->log();
  EXPECT_NE(log.find("request_timeout"), std::string::npos) << log;
}

}  // namespace
}  // namespace sitehost::test
