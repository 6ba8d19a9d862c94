// Out-of-process deploys through the real sitehost binary: keep-alive clients keep requesting
// while the app's script (python3 app.py, the first argument, inside physical_path) is touched or
// replaced, or `sitehost ctl reload` is run; no request may fail, requests in flight finish on the
// old child, a new version that does not start leaves the old one serving, and every replaced
// child is gone afterwards (checked through ./pids, which every test child appends its pid to).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tests/proxy/proxy_test_util.h"
#include "tests/support/harness.h"
#include "tests/support/load.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Keep-alive GETs in a loop (tests/support/load.h); remembers which child pids answered. A 5xx
// counts as failed.
class PidLoad {
 public:
  PidLoad(uint16_t port, int threads)
      : load_([port] { return std::make_unique<Client>(port, 10s); },
              "GET /load HTTP/1.1\r\nHost: localhost\r\n\r\n",
              [this](const Response& r) { return record(r); }, threads) {}

  void stop() { load_.stop(); }
  long sent() const { return load_.sent(); }
  long failed() const { return load_.failed(); }
  std::string errors() const { return load_.errors(); }
  long last_pid() const { return last_pid_; }
  std::set<long> pids() const {
    std::lock_guard lock(mutex_);
    return pids_;
  }

 private:
  std::string record(const Response& r) {
    if (r.status >= 500) return fmt::format("HTTP {}: {}", r.status, r.body.substr(0, 500));
    long pid = json_int(r.body, "pid");
    last_pid_ = pid;
    std::lock_guard lock(mutex_);
    pids_.insert(pid);
    return {};
  }

  std::atomic<long> last_pid_{0};
  mutable std::mutex mutex_;
  std::set<long> pids_;
  KeepAliveLoad load_;  // last: its threads use the members above
};

class RecycleIntegration : public ChildrenTest {
 protected:
  void SetUp() override {
    ChildrenTest::SetUp();
    deploy("echo.py");
  }

  // Replaces app.py by a rename (a new inode), as deploy tools do.
  void deploy(const std::string& child) {
    fs::path tmp = app_ / "app.py.tmp";
    fs::copy_file(children_dir() / child, tmp, fs::copy_options::overwrite_existing);
    fs::rename(tmp, app_ / "app.py");
  }
  void touch() { fs::last_write_time(app_ / "app.py", fs::file_time_type::clock::now()); }

  void start(const std::string& site_keys = "") {
    std::string config = fmt::format(
        "[server]\ndetailed_errors = true\nlog_level = \"debug\"\nadmin = \"{}\"\n"
        "[[site]]\nname = \"app\"\nbindings = [\"http://127.0.0.1:{}\"]\n"
        "physical_path = \"{}\"\nhosting_model = \"outofprocess\"\n"
        "process_path = \"/usr/bin/python3\"\narguments = [\"app.py\"]\n{}\n",
        (dir_ / "admin.sock").string(), port_, app_.string(), site_keys);
    sitehost_.emplace(dir_, config);
    ASSERT_TRUE(sitehost_->wait_listening(port_)) << sitehost_->log();
  }

  long pid_now() {
    auto r = http_request(port_, "GET", "/");
    return r && r->status == 200 ? json_int(r->body, "pid") : -1;
  }
  // Waits until requests are answered by another child than `old`; returns its pid (or -1).
  long wait_new_pid(long old, Ms timeout = 10s) {
    long now = -1;
    wait_until(
        [&] {
          now = pid_now();
          return now > 0 && now != old;
        },
        timeout);
    return now != old ? now : -1;
  }

  int ctl(const std::vector<std::string>& args, std::string* out) {
    std::vector<std::string> argv{sitehost_binary().string(), "ctl", "-c",
                                  sitehost_->config_path().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    Process p(argv, dir_ / fmt::format("ctl-{}.out", ++ctl_runs_));
    auto status = p.wait_exit(15s);
    if (out) *out = p.output();
    return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }

  int ctl_runs_ = 0;
};

TEST_F(RecycleIntegration, NoRequestFailsAcrossFiveRecycles) {
  start();
  long first = pid_now();
  ASSERT_GT(first, 0) << sitehost_->log();
  PidLoad load(port_, 2);
  ASSERT_TRUE(wait_until([&] { return load.last_pid() == first; }, 5s));
  std::vector<long> seen{first};
  for (int i = 0; i < 5; ++i) {
    if (i % 2 == 0)
      touch();
    else
      deploy("echo.py");
    long previous = seen.back();
    // The clients themselves see the new child (no extra connection needed).
    ASSERT_TRUE(wait_until(
        [&] {
          long pid = load.last_pid();
          return pid > 0 && std::find(seen.begin(), seen.end(), pid) == seen.end();
        },
        10s))
        << "recycle " << i << "\n"
        << sitehost_->log();
    seen.push_back(load.last_pid());
    EXPECT_NE(seen.back(), previous);
    std::this_thread::sleep_for(200ms);  // traffic on the new child before the next deploy
  }
  load.stop();
  EXPECT_EQ(load.failed(), 0) << load.errors() << sitehost_->log();
  EXPECT_GT(load.sent(), 50);
  EXPECT_GE(load.pids().size(), 6u);
  EXPECT_EQ(pids().size(), 6u) << sitehost_->log();  // one new child per recycle, no more
  for (size_t i = 0; i + 1 < seen.size(); ++i)
    EXPECT_TRUE(wait_until([&] { return process_gone(seen[i]); }, 5s)) << seen[i];
  EXPECT_FALSE(process_gone(seen.back()));
  std::string log = sitehost_->log();
  EXPECT_NE(log.find("generation 6 ready"), std::string::npos) << log;
  EXPECT_EQ(log.find("[error]"), std::string::npos) << log;
}

TEST_F(RecycleIntegration, SlowRequestOnTheOldChildCompletes) {
  start();
  long first = pid_now();
  ASSERT_GT(first, 0) << sitehost_->log();
  Client slow(port_, 15s);
  ASSERT_TRUE(slow.send("GET /sleep?ms=2500 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  std::this_thread::sleep_for(300ms);
  touch();
  long second = wait_new_pid(first);
  ASSERT_GT(second, 0) << sitehost_->log();
  EXPECT_FALSE(process_gone(first));  // still answering the slow request
  auto r = slow.read_response();
  ASSERT_TRUE(r) << sitehost_->log();
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json_int(r->body, "pid"), first);
  EXPECT_TRUE(wait_until([&] { return process_gone(first); }, 5s)) << sitehost_->log();
}

TEST_F(RecycleIntegration, NewVersionThatFailsToStartLeavesTheOldServing) {
  start();
  long first = pid_now();
  ASSERT_GT(first, 0) << sitehost_->log();
  PidLoad load(port_, 1);
  deploy("exit_at_start.py");
  ASSERT_TRUE(wait_until(
      [&] { return sitehost_->log().find("the new version did not start") != std::string::npos; },
      10s))
      << sitehost_->log();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(load.last_pid(), first);
  EXPECT_EQ(load.pids(), std::set<long>{first});
  EXPECT_NE(sitehost_->log().find("generation 1 keeps serving"), std::string::npos);
  // The fixed version is picked up.
  deploy("echo.py");
  ASSERT_TRUE(wait_until([&] { return load.last_pid() != first; }, 10s)) << sitehost_->log();
  load.stop();
  EXPECT_EQ(load.failed(), 0) << load.errors() << sitehost_->log();
  EXPECT_TRUE(wait_until([&] { return process_gone(first); }, 5s));
}

TEST_F(RecycleIntegration, OldChildIgnoringSigtermIsKilledAfterTheDrain) {
  start("shutdown_time_limit = \"1s\"\nenvironment = { ECHO_IGNORE_SIGTERM = \"1\" }\n");
  long first = pid_now();
  ASSERT_GT(first, 0) << sitehost_->log();
  touch();
  ASSERT_GT(wait_new_pid(first), 0) << sitehost_->log();
  auto swapped = Clock::now();
  EXPECT_TRUE(wait_until([&] { return process_gone(first); }, 5s)) << sitehost_->log();
  EXPECT_GE(Clock::now() - swapped, 800ms);
  EXPECT_NE(sitehost_->log().find("SIGKILL to its process group"), std::string::npos)
      << sitehost_->log();
}

TEST_F(RecycleIntegration, CtlReloadRecyclesAndStatusShowsIt) {
  start();
  long first = pid_now();
  ASSERT_GT(first, 0) << sitehost_->log();
  ASSERT_TRUE(wait_until([&] { return fs::exists(dir_ / "admin.sock"); }, 5s));
  PidLoad load(port_, 1);
  std::string out;
  ASSERT_EQ(ctl({"reload", "app"}, &out), 0) << out << sitehost_->log();
  ASSERT_TRUE(wait_until([&] { return load.last_pid() != first; }, 10s)) << sitehost_->log();
  load.stop();
  EXPECT_EQ(load.failed(), 0) << load.errors();
  EXPECT_TRUE(wait_until([&] { return process_gone(first); }, 5s));
  ASSERT_EQ(ctl({"status"}, &out), 0) << out;
  EXPECT_NE(out.find("\"generation\":2"), std::string::npos) << out;
  EXPECT_NE(out.find("\"recycles\":1"), std::string::npos) << out;
}

}  // namespace
}  // namespace sitehost::test
