// The out-of-process Site when things go wrong: timeouts, crashes, failed starts, rapid-fail
// protection, broken HTTP, client disconnects, graceful and forced stops, stdout capture.
#include <signal.h>

#include <regex>

#include "tests/proxy/site_fixture.h"

namespace sitehost::proxy::test {
namespace {

using Clock = std::chrono::steady_clock;

long elapsed_ms(Clock::time_point since) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

TEST_F(ProxySiteTest, RequestTimeoutIs5023) {
  config_.request_timeout = 1s;
  fetch("/warm-up");
  auto start = Clock::now();
  auto ex = get("/sleep?ms=4000");
  ASSERT_TRUE(wait(*ex, 10s));
  long ms = elapsed_ms(start);
  EXPECT_TRUE(ex->errored);
  EXPECT_EQ(ex->error_status, 502);
  EXPECT_EQ(ex->error_substatus, 3);
  EXPECT_NE(ex->error_detail.find("request_timeout"), std::string::npos) << ex->error_detail;
  EXPECT_GE(ms, 950);
  EXPECT_LT(ms, 2000);
  // The site still works afterwards (on another connection).
  EXPECT_EQ(json_str(fetch("/after"), "path"), "/after");
}

TEST_F(ProxySiteTest, CrashBeforeResponseIs5025AndRestarts) {
  long first = json_int(fetch("/first"), "pid");
  auto ex = get("/crash");
  ASSERT_TRUE(wait(*ex));
  EXPECT_TRUE(ex->errored);
  EXPECT_EQ(ex->error_status, 502);
  EXPECT_EQ(ex->error_substatus, 5);
  EXPECT_NE(ex->error_detail.find("while handling the request"), std::string::npos)
      << ex->error_detail;
  EXPECT_EQ(pids().size(), 1u);  // a request that reached the child is never re-sent
  EXPECT_TRUE(run_until(
      &loop_, [&] { return process_gone(static_cast<pid_t>(first)); }, 5s));
  long second = json_int(fetch("/second"), "pid");
  EXPECT_GT(second, 0);
  EXPECT_NE(first, second);
  EXPECT_NE(error_log().find("it is restarted by the next request"), std::string::npos);
}

TEST_F(ProxySiteTest, CrashMidResponseCutsTheClient) {
  auto ex = get("/crash-mid");
  ASSERT_TRUE(wait(*ex));
  EXPECT_TRUE(ex->errored);
  EXPECT_TRUE(ex->error_after_head);  // the head went out: the connection is cut
  EXPECT_GE(ex->body_bytes, 1000u);
}

// A request sent before sitehost noticed the crash waits for the restart instead of failing
// (no pooled connection here: the child closed it; a request sent on a pooled connection at the
// very moment the child dies cannot be told apart from one the child was handling: 502.5).
TEST_F(ProxySiteTest, RequestRightAfterACrashWaitsForTheRestart) {
  FakeExchange::Options o;
  o.headers.emplace_back("X-Close", "1");
  auto ex = send(o);
  ASSERT_TRUE(wait(*ex));
  ASSERT_TRUE(ex->finished);
  long first = json_int(ex->body, "pid");
  ASSERT_TRUE(run_until(
      &loop_, [&] { return site().buffers().in_use() == 0; }, 5s));
  ASSERT_EQ(::kill(static_cast<pid_t>(first), SIGKILL), 0);
  ASSERT_TRUE(wait_for([&] { return process_exited(first); }, 5s));
  std::string body = fetch("/second");  // the loop has not seen the exit yet
  EXPECT_GT(json_int(body, "pid"), 0);
  EXPECT_NE(json_int(body, "pid"), first);
}

TEST_F(ProxySiteTest, KilledIdleChildIsRestartedByNextRequest) {
  long first = json_int(fetch("/first"), "pid");
  ASSERT_EQ(::kill(static_cast<pid_t>(first), SIGKILL), 0);
  ASSERT_TRUE(run_until(
      &loop_, [&] { return process_gone(static_cast<pid_t>(first)); }, 5s));
  std::string body = fetch("/second");
  EXPECT_NE(json_int(body, "pid"), first);
}

TEST_F(ProxySiteTest, RapidFailProtection) {
  config_.rapid_fails_per_minute = 1;
  for (int i = 0; i < 2; ++i) {
    auto ex = get("/crash");
    ASSERT_TRUE(wait(*ex));
    EXPECT_EQ(ex->error_substatus, 5) << ex->error_detail;
  }
  size_t started = pids().size();
  EXPECT_EQ(started, 2u);
  auto blocked = get("/blocked");
  ASSERT_TRUE(wait(*blocked));
  EXPECT_TRUE(blocked->errored);
  EXPECT_EQ(blocked->error_status, 502);
  EXPECT_EQ(blocked->error_substatus, 5);
  EXPECT_NE(blocked->error_detail.find("rapid-fail"), std::string::npos) << blocked->error_detail;
  EXPECT_EQ(pids().size(), started);  // not started again
}

TEST_F(ProxySiteTest, StartupTimeLimit) {
  config_.arguments = {(children_dir() / "never_listens.py").string()};
  config_.startup_time_limit = 1s;
  auto start = Clock::now();
  auto ex = get("/");
  ASSERT_TRUE(wait(*ex, 10s));
  long ms = elapsed_ms(start);
  EXPECT_TRUE(ex->errored);
  EXPECT_EQ(ex->error_status, 502);
  EXPECT_EQ(ex->error_substatus, 5);
  EXPECT_NE(ex->error_detail.find("startup_time_limit"), std::string::npos) << ex->error_detail;
  EXPECT_NE(ex->error_detail.find("never_listens: up"), std::string::npos) << ex->error_detail;
  EXPECT_GE(ms, 950);
  EXPECT_LT(ms, 2500);
  ASSERT_EQ(pids().size(), 1u);
  EXPECT_TRUE(run_until(
      &loop_, [&] { return process_gone(pids()[0]); }, 5s));
}

TEST_F(ProxySiteTest, ExitAtStartShowsOutputAndRetriesOnce) {
  config_.arguments = {(children_dir() / "exit_at_start.py").string()};
  auto ex = get("/");
  ASSERT_TRUE(wait(*ex));
  EXPECT_TRUE(ex->errored);
  EXPECT_EQ(ex->error_status, 502);
  EXPECT_EQ(ex->error_substatus, 5);
  EXPECT_NE(ex->error_detail.find("exited with code 3"), std::string::npos) << ex->error_detail;
  EXPECT_NE(ex->error_detail.find("appsettings.json missing"), std::string::npos)
      << ex->error_detail;
  EXPECT_EQ(pids().size(), 2u);  // two attempts, each with a new port
}

TEST_F(ProxySiteTest, MissingProgramIs5025) {
  config_.process_path = app_ / "no-such-program";
  auto ex = get("/");
  ASSERT_TRUE(wait(*ex));
  EXPECT_EQ(ex->error_substatus, 5);
  EXPECT_NE(ex->error_detail.find("does not exist"), std::string::npos) << ex->error_detail;
}

TEST_F(ProxySiteTest, StdoutLogFileNaming) {
  config_.stdout_log_enabled = true;
  config_.stdout_log_file = app_ / "logs" / "deep" / "stdout";
  long pid = json_int(fetch("/"), "pid");
  std::regex name("stdout_\\d{14}_" + std::to_string(pid) + "\\.log");
  fs::path found;
  for (auto& e : fs::directory_iterator(app_ / "logs" / "deep"))
    if (std::regex_match(e.path().filename().string(), name)) found = e.path();
  ASSERT_FALSE(found.empty());
  EXPECT_TRUE(run_until(
      &loop_, [&] { return slurp(found).find("echo: listening on") != std::string::npos; }, 5s));
}

TEST_F(ProxySiteTest, StdoutToErrorLogWhenDisabled) {
  long pid = json_int(fetch("/"), "pid");
  EXPECT_TRUE(run_until(
      &loop_,
      [&] {
        return error_log().find("child " + std::to_string(pid) + ": echo: listening on") !=
               std::string::npos;
      },
      5s))
      << error_log();
}

TEST_F(ProxySiteTest, GracefulStopUsesSigtermThenSigkill) {
  config_.arguments = {(children_dir() / "ignore_sigterm.py").string()};
  config_.shutdown_time_limit = 1s;
  std::string body = fetch("/");
  ASSERT_EQ(pids().size(), 2u);  // the child and its helper in the same process group
  auto start = Clock::now();
  stop_site();
  long ms = elapsed_ms(start);
  EXPECT_GE(ms, 950);
  EXPECT_LT(ms, 3000);
  for (pid_t pid : pids()) EXPECT_TRUE(wait_for([&] { return process_gone(pid); }, 5s)) << pid;
  EXPECT_NE(error_log().find("SIGKILL to its process group"), std::string::npos);
}

TEST_F(ProxySiteTest, StopIsQuickForAWellBehavedChild) {
  fetch("/");
  auto start = Clock::now();
  stop_site();
  EXPECT_LT(elapsed_ms(start), 900);
  EXPECT_TRUE(process_gone(pids()[0]));
}

TEST_F(ProxySiteTest, StopLetsInFlightRequestsFinish) {
  fetch("/");
  auto slow = get("/sleep?ms=400");
  bool stopped = false;
  run_until(
      &loop_, [] { return false; }, 50ms);  // the request reaches the child
  site().stop([&] { stopped = true; });
  auto refused = get("/late");
  ASSERT_TRUE(run_until(
      &loop_, [&] { return stopped; }, 10s));
  EXPECT_TRUE(slow->finished) << slow->error_detail;
  EXPECT_EQ(slow->status, 200);
  EXPECT_TRUE(refused->errored);
  EXPECT_EQ(refused->error_status, 503);
  site_.reset();
}

TEST_F(ProxySiteTest, ClientDisconnectClosesChildConnection) {
  auto ex = get("/wait-close?id=a");
  ASSERT_TRUE(run_until(
      &loop_, [&] { return fs::exists(app_ / "open-a"); }, 10s));
  ex->abort();
  ASSERT_TRUE(wait(*ex));
  EXPECT_TRUE(run_until(
      &loop_, [&] { return fs::exists(app_ / "closed-a"); }, 5s));
}

TEST_F(ProxySiteTest, GarbageIs5023) {
  auto ex = get("/garbage");
  ASSERT_TRUE(wait(*ex));
  EXPECT_TRUE(ex->errored);
  EXPECT_EQ(ex->error_status, 502);
  EXPECT_EQ(ex->error_substatus, 3);
  EXPECT_FALSE(ex->error_after_head);
}

TEST_F(ProxySiteTest, ShortBodyCutsTheClient) {
  auto ex = get("/short");
  ASSERT_TRUE(wait(*ex));
  EXPECT_TRUE(ex->errored);
  EXPECT_EQ(ex->error_status, 502);
  EXPECT_TRUE(ex->error_after_head);
  EXPECT_EQ(ex->body, "short");
}

TEST_F(ProxySiteTest, UnexpectedSwitchingProtocolsIs5023) {
  auto ex = get("/upgrade");  // not an Upgrade request
  ASSERT_TRUE(wait(*ex));
  EXPECT_TRUE(ex->errored);
  EXPECT_EQ(ex->error_substatus, 3);
}

TEST_F(ProxySiteTest, UpgradeBecomesATunnel) {
  config_.request_timeout = 1s;  // must not apply to the tunnel
  FakeExchange::Options o;
  o.target = "/upgrade";
  o.upgrade = true;
  o.headers = {{"Host", "h"}, {"Connection", "Upgrade"}, {"Upgrade", "echo"}};
  auto ex = send(o);
  ASSERT_TRUE(run_until(
      &loop_, [&] { return ex->status == 101 && ex->read_body_calls > 0; }, 10s));
  EXPECT_EQ(ex->header("Upgrade"), "echo");
  ex->tunnel_send("hello ");
  ASSERT_TRUE(run_until(
      &loop_, [&] { return ex->body == "hello "; }, 5s))
      << ex->body;
  run_until(
      &loop_, [] { return false; }, 1500ms);  // longer than request_timeout: still open
  EXPECT_FALSE(ex->ended());
  ex->tunnel_send(std::string(200000, 'z'));
  ASSERT_TRUE(run_until(
      &loop_, [&] { return ex->body.size() == 200006; }, 5s));
  ex->tunnel_close();  // client EOF → half-close → the child closes → tunnel ends
  ASSERT_TRUE(wait(*ex));
  EXPECT_TRUE(ex->finished);
}

}  // namespace
}  // namespace sitehost::proxy::test
