// Overlapped recycle of the out-of-process Site, driven directly (fake exchanges, real children):
// reload() and deployed-file changes start a new generation beside the serving one, swap to it
// once ready, drain the old children (bounded by shutdown_time_limit) and stop them; a new
// generation that fails to start leaves the old one serving; status() reports it all.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <set>

#include <fmt/format.h>

#include "tests/proxy/site_fixture.h"

namespace sitehost::proxy::test {
namespace {

using Clock = std::chrono::steady_clock;

long elapsed_ms(Clock::time_point since) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

class RecycleTest : public ProxySiteTest {
 protected:
  // The app as a script inside physical_path (watched as the first argument).
  void use_script(const std::string& child = "echo.py") {
    put_script(child);
    config_.arguments = {"app.py"};
  }
  void put_script(const std::string& child) {
    fs::path tmp = app_ / "app.py.tmp";
    fs::copy_file(children_dir() / child, tmp, fs::copy_options::overwrite_existing);
    fs::rename(tmp, app_ / "app.py");  // as a deploy would: never a half-written file
  }
  long pid_of_fetch(const std::string& target = "/") { return json_int(fetch(target), "pid"); }
  bool wait_generation(uint64_t generation, std::chrono::milliseconds timeout = 15s) {
    return run_until(
        &loop_, [&] { return site().status().generation >= generation; }, timeout);
  }
  bool wait_gone(long pid, std::chrono::milliseconds timeout = 10s) {
    return run_until(
        &loop_, [&] { return process_gone(static_cast<pid_t>(pid)); }, timeout);
  }
  bool wait_drained(std::chrono::milliseconds timeout = 10s) {
    return run_until(
        &loop_, [&] { return site().status().draining_pids.empty(); }, timeout);
  }
  void spin(std::chrono::milliseconds how_long) {
    run_until(
        &loop_, [] { return false; }, how_long);
  }
};

TEST_F(RecycleTest, ReloadSwapsInANewChildAndStopsTheOld) {
  long first = pid_of_fetch();
  ASSERT_GT(first, 0);
  site().reload();
  EXPECT_EQ(site().status().state, ProxyStatus::State::kRecycling);
  EXPECT_EQ(site().status().starting_pids.size(), 1u);
  ASSERT_TRUE(wait_generation(2)) << error_log();
  long second = pid_of_fetch();
  EXPECT_GT(second, 0);
  EXPECT_NE(first, second);
  EXPECT_TRUE(wait_gone(first));
  EXPECT_TRUE(wait_drained());
  ProxyStatus s = site().status();
  EXPECT_EQ(s.state, ProxyStatus::State::kRunning);
  EXPECT_EQ(s.generation, 2u);
  EXPECT_EQ(s.recycles, 1u);
  EXPECT_EQ(s.recycle_failures, 0u);
  EXPECT_EQ(s.restarts, 0u);
  EXPECT_EQ(s.pids, std::vector<pid_t>{static_cast<pid_t>(second)});
  EXPECT_TRUE(s.last_error.empty()) << s.last_error;
  std::string log = error_log();
  EXPECT_NE(log.find("generation 2 ready"), std::string::npos) << log;
  EXPECT_NE(log.find("stopping the application process (pid " + std::to_string(first)),
            std::string::npos)
      << log;
  EXPECT_EQ(pids().size(), 2u);
}

TEST_F(RecycleTest, ReloadWithNoChildRunningHasNothingToReplace) {
  site().reload();
  ProxyStatus s = site().status();
  EXPECT_EQ(s.state, ProxyStatus::State::kNotStarted);
  EXPECT_EQ(s.generation, 1u);
  EXPECT_TRUE(s.starting_pids.empty());
  spin(200ms);
  EXPECT_TRUE(pids().empty());
  EXPECT_GT(pid_of_fetch(), 0);
  EXPECT_EQ(pids().size(), 1u);
}

TEST_F(RecycleTest, RequestInFlightOnTheOldChildCompletes) {
  long first = pid_of_fetch();
  auto slow = get("/sleep?ms=1500");
  spin(300ms);  // the request reached the child
  site().reload();
  ASSERT_TRUE(wait_generation(2)) << error_log();
  long second = pid_of_fetch();
  EXPECT_NE(first, second);
  EXPECT_FALSE(slow->ended());
  EXPECT_FALSE(process_gone(static_cast<pid_t>(first)));  // still serving the slow request
  EXPECT_EQ(site().status().draining_pids, std::vector<pid_t>{static_cast<pid_t>(first)});
  ASSERT_TRUE(wait(*slow));
  EXPECT_TRUE(slow->finished) << slow->error_status << " " << slow->error_detail;
  EXPECT_EQ(json_int(slow->body, "pid"), first);
  EXPECT_TRUE(wait_gone(first));
}

TEST_F(RecycleTest, TunnelOnTheOldChildRunsUntilItCloses) {
  long first = pid_of_fetch();
  FakeExchange::Options o;
  o.target = "/upgrade";
  o.upgrade = true;
  o.headers = {{"Host", "h"}, {"Connection", "Upgrade"}, {"Upgrade", "echo"}};
  auto ex = send(o);
  ASSERT_TRUE(run_until(
      &loop_, [&] { return ex->status == 101 && ex->read_body_calls > 0; }, 10s));
  site().reload();
  ASSERT_TRUE(wait_generation(2)) << error_log();
  EXPECT_NE(pid_of_fetch(), first);
  ex->tunnel_send("still there?");
  ASSERT_TRUE(run_until(
      &loop_, [&] { return ex->body == "still there?"; }, 5s))
      << ex->body;
  EXPECT_FALSE(process_gone(static_cast<pid_t>(first)));
  ex->tunnel_close();
  ASSERT_TRUE(wait(*ex));
  EXPECT_TRUE(ex->finished);
  EXPECT_TRUE(wait_gone(first));
}

TEST_F(RecycleTest, DrainIsBoundedByShutdownTimeLimit) {
  config_.shutdown_time_limit = 1s;
  long first = pid_of_fetch();
  auto slow = get("/sleep?ms=10000");
  spin(300ms);
  site().reload();
  ASSERT_TRUE(wait_generation(2)) << error_log();
  auto swapped = Clock::now();
  ASSERT_TRUE(wait(*slow, 5s));
  long ms = elapsed_ms(swapped);
  EXPECT_TRUE(slow->errored);
  EXPECT_GE(ms, 700);
  EXPECT_LT(ms, 2500);
  EXPECT_TRUE(wait_gone(first, 5s));
  EXPECT_NE(error_log().find("after shutdown_time_limit (1000 ms): cut"), std::string::npos)
      << error_log();
}

TEST_F(RecycleTest, OldChildIgnoringSigtermIsKilledAfterShutdownTimeLimit) {
  config_.shutdown_time_limit = 1s;
  config_.environment = {{"ECHO_IGNORE_SIGTERM", "1"}};
  long first = pid_of_fetch();
  site().reload();
  ASSERT_TRUE(wait_generation(2)) << error_log();
  auto swapped = Clock::now();
  ASSERT_TRUE(wait_gone(first, 5s));
  EXPECT_GE(elapsed_ms(swapped), 900);
  EXPECT_NE(error_log().find("SIGKILL to its process group"), std::string::npos) << error_log();
  EXPECT_GT(pid_of_fetch(), 0);
}

TEST_F(RecycleTest, NewChildThatFailsToStartLeavesTheOldServing) {
  use_script();
  long first = pid_of_fetch();
  put_script("exit_at_start.py");
  site().reload();
  // Requests keep going to the old child while the new one fails (twice: two attempts).
  for (int i = 0; i < 3; ++i) EXPECT_EQ(pid_of_fetch(), first);
  ASSERT_TRUE(run_until(
      &loop_, [&] { return site().status().recycle_failures == 1; }, 15s))
      << error_log();
  ProxyStatus s = site().status();
  EXPECT_EQ(s.generation, 1u);
  EXPECT_EQ(s.state, ProxyStatus::State::kRunning);
  EXPECT_EQ(s.pids, std::vector<pid_t>{static_cast<pid_t>(first)});
  EXPECT_TRUE(s.starting_pids.empty());
  EXPECT_NE(s.last_error.find("the new version did not start"), std::string::npos) << s.last_error;
  EXPECT_NE(s.last_error.find("exited with code 3"), std::string::npos) << s.last_error;
  EXPECT_NE(site().status_json().find("\"recycle_failures\":1"), std::string::npos);
  std::string log = error_log();
  EXPECT_NE(log.find("generation 1 keeps serving"), std::string::npos) << log;
  EXPECT_NE(log.find("appsettings.json missing"), std::string::npos) << log;  // its output
  EXPECT_EQ(pid_of_fetch(), first);
  EXPECT_FALSE(process_gone(static_cast<pid_t>(first)));

  // The fixed version goes in.
  put_script("echo.py");
  site().reload();
  ASSERT_TRUE(wait_generation(2)) << error_log();
  EXPECT_NE(pid_of_fetch(), first);
  EXPECT_TRUE(wait_gone(first));
}

TEST_F(RecycleTest, NewChildThatNeverListensLeavesTheOldServing) {
  config_.startup_time_limit = 1s;
  use_script();
  long first = pid_of_fetch();
  put_script("never_listens.py");
  site().reload();
  auto start = Clock::now();
  ASSERT_TRUE(run_until(
      &loop_, [&] { return site().status().recycle_failures == 1; }, 10s))
      << error_log();
  EXPECT_GE(elapsed_ms(start), 900);
  EXPECT_NE(site().status().last_error.find("startup_time_limit"), std::string::npos)
      << site().status().last_error;
  EXPECT_EQ(pid_of_fetch(), first);
  EXPECT_TRUE(wait_drained());  // the failed child is gone
  for (pid_t pid : pids())
    if (pid != first) {
      EXPECT_TRUE(wait_gone(pid)) << pid;
    }
}

TEST_F(RecycleTest, RecyclesDoNotCountTowardRapidFailProtection) {
  config_.rapid_fails_per_minute = 1;
  long previous = pid_of_fetch();
  for (uint64_t g = 2; g <= 4; ++g) {
    site().reload();
    ASSERT_TRUE(wait_generation(g)) << error_log();
    long now = pid_of_fetch();
    EXPECT_NE(now, previous);
    previous = now;
  }
  EXPECT_TRUE(site().status().last_error.empty()) << site().status().last_error;
}

// A new version that fails does count; a deploy then starts a fresh window.
TEST_F(RecycleTest, FailedNewVersionCountsTowardRapidFailProtection) {
  config_.rapid_fails_per_minute = 1;
  use_script();
  long first = pid_of_fetch();
  put_script("exit_at_start.py");
  site().reload();
  ASSERT_TRUE(run_until(
      &loop_, [&] { return site().status().recycle_failures == 1; }, 15s))
      << error_log();
  EXPECT_EQ(pid_of_fetch(), first);  // serving on
  auto crash = get("/crash");
  ASSERT_TRUE(wait(*crash));
  EXPECT_TRUE(wait_gone(first));
  auto blocked = get("/");
  ASSERT_TRUE(wait(*blocked));
  EXPECT_EQ(blocked->error_status, 502);
  EXPECT_NE(blocked->error_detail.find("rapid-fail protection"), std::string::npos)
      << blocked->error_detail;
  put_script("echo.py");
  site().reload();  // nothing running: the next request starts the new version
  long second = pid_of_fetch();
  EXPECT_GT(second, 0);
  EXPECT_NE(second, first);
}

TEST_F(RecycleTest, DeployedScriptChangeTriggersARecycleOnceSettled) {
  use_script();
  long first = pid_of_fetch();
  ASSERT_NE(site().deploy_watch(), nullptr);
  const auto& files = site().deploy_watch()->files();
  EXPECT_NE(std::find(files.begin(), files.end(), app_ / "app.py"), files.end());
  // A file still being written (a chunk every 200 ms) is not acted on.
  for (int i = 0; i < 5; ++i) {
    std::ofstream(app_ / "app.py", std::ios::app) << "# deploy chunk " << i << "\n";
    spin(200ms);
    EXPECT_EQ(site().status().state, ProxyStatus::State::kRunning) << i;
    EXPECT_EQ(site().status().generation, 1u) << i;
  }
  ASSERT_TRUE(wait_generation(2, 5s)) << error_log();
  long second = pid_of_fetch();
  EXPECT_NE(first, second);
  EXPECT_TRUE(wait_gone(first));
  // Replaced by a rename (a new inode), as deploy tools do.
  put_script("echo.py");
  ASSERT_TRUE(wait_generation(3, 5s)) << error_log();
  EXPECT_NE(pid_of_fetch(), second);
  EXPECT_NE(error_log().find("a deployed file changed"), std::string::npos);
}

TEST_F(RecycleTest, RemovedScriptIsNotRecycledUntilItIsBack) {
  use_script();
  long first = pid_of_fetch();
  fs::remove(app_ / "app.py");
  spin(900ms);
  EXPECT_EQ(site().status().generation, 1u);
  EXPECT_EQ(pid_of_fetch(), first);
  put_script("echo.py");
  ASSERT_TRUE(wait_generation(2, 5s)) << error_log();
  EXPECT_NE(pid_of_fetch(), first);
}

TEST_F(RecycleTest, RequestsWaitingForAStartingChildMoveToTheNewGeneration) {
  use_script("never_listens.py");
  auto waiting = get("/");
  ASSERT_TRUE(run_until(
      &loop_, [&] { return pids().size() == 1; }, 5s));
  long stuck = pids()[0];
  EXPECT_EQ(site().status().state, ProxyStatus::State::kStarting);
  put_script("echo.py");
  site().reload();
  ASSERT_TRUE(wait(*waiting));
  EXPECT_TRUE(waiting->finished) << waiting->error_status << " " << waiting->error_detail;
  long served = json_int(waiting->body, "pid");
  EXPECT_GT(served, 0);
  EXPECT_NE(served, stuck);
  EXPECT_EQ(site().status().generation, 2u);
  EXPECT_TRUE(wait_gone(stuck));
}

TEST_F(RecycleTest, EveryProcessIsReplaced) {
  config_.processes = 2;
  config_.preload = true;
  site().start();
  ASSERT_TRUE(run_until(
      &loop_, [&] { return site().status().pids.size() == 2; }, 10s));
  std::vector<pid_t> old = site().status().pids;
  site().reload();
  ASSERT_TRUE(wait_generation(2)) << error_log();
  std::vector<pid_t> now = site().status().pids;
  ASSERT_EQ(now.size(), 2u);
  for (pid_t p : now) EXPECT_EQ(std::find(old.begin(), old.end(), p), old.end());
  std::set<long> served;
  for (int i = 0; i < 4; ++i) served.insert(pid_of_fetch());
  EXPECT_EQ(served, (std::set<long>{now[0], now[1]}));
  for (pid_t p : old) EXPECT_TRUE(wait_gone(p)) << p;
}

uint16_t free_loopback_port() {
  std::mt19937 rng(static_cast<unsigned>(::getpid()));
  for (int i = 0; i < 100; ++i) {
    auto port = static_cast<uint16_t>(20000 + rng() % 20000);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return port;
  }
  return 0;
}

TEST_F(RecycleTest, FixedPortRecycleStartsTheNewChildOnceTheOldIsGone) {
  uint16_t port = free_loopback_port();
  ASSERT_NE(port, 0);
  config_.environment = {{"ASPNETCORE_PORT", std::to_string(port)}};
  std::string body = fetch("/");
  long first = json_int(body, "pid");
  EXPECT_EQ(json_int(body, "port"), port);
  auto slow = get("/sleep?ms=500");
  spin(100ms);
  site().reload();
  auto waiting = get("/");  // waits for the new child instead of failing
  ASSERT_TRUE(wait(*slow));
  EXPECT_TRUE(slow->finished);
  EXPECT_EQ(json_int(slow->body, "pid"), first);
  ASSERT_TRUE(wait(*waiting));
  EXPECT_TRUE(waiting->finished) << waiting->error_status << " " << waiting->error_detail;
  long second = json_int(waiting->body, "pid");
  EXPECT_NE(second, first);
  EXPECT_EQ(json_int(waiting->body, "port"), port);
  EXPECT_TRUE(process_gone(static_cast<pid_t>(first)));
  EXPECT_EQ(site().status().generation, 2u);
}

TEST_F(RecycleTest, StatusCountsRestartsAndReportsJson) {
  long first = pid_of_fetch();
  auto crash = get("/crash");
  ASSERT_TRUE(wait(*crash));
  EXPECT_TRUE(wait_gone(first));
  EXPECT_GT(pid_of_fetch(), 0);
  ProxyStatus s = site().status();
  EXPECT_EQ(s.restarts, 1u);
  EXPECT_NE(s.last_error.find("exited with code 3"), std::string::npos) << s.last_error;
  site().reload();
  ASSERT_TRUE(wait_generation(2)) << error_log();
  EXPECT_TRUE(wait_drained());
  std::string json = site().status_json();
  EXPECT_NE(json.find("\"state\":\"running\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"generation\":2"), std::string::npos) << json;
  EXPECT_NE(json.find(fmt::format("\"pids\":[{}]", site().status().pids.at(0))), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"draining_pids\":[]"), std::string::npos) << json;
  EXPECT_NE(json.find("\"restarts\":1,\"recycles\":1"), std::string::npos) << json;
  EXPECT_NE(json.find("\"last_error_unix_ms\":"), std::string::npos) << json;
}

TEST_F(RecycleTest, StopDuringARecycleStopsEveryGeneration) {
  long first = pid_of_fetch();
  auto slow = get("/sleep?ms=800");
  spin(200ms);
  site().reload();
  stop_site();  // TearDown: every child gone, every handle closed
  EXPECT_TRUE(slow->ended());
  EXPECT_TRUE(process_gone(static_cast<pid_t>(first)));
}

TEST_F(RecycleTest, StopWhileTheOldGenerationDrains) {
  long first = pid_of_fetch();
  auto slow = get("/sleep?ms=800");
  spin(200ms);
  site().reload();
  ASSERT_TRUE(wait_generation(2)) << error_log();
  stop_site();
  EXPECT_TRUE(slow->finished);
  EXPECT_EQ(json_int(slow->body, "pid"), first);
}

}  // namespace
}  // namespace sitehost::proxy::test
