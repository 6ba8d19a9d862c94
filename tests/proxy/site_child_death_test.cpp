// How the out-of-process Site learns that its child died: from the child's exit (libuv's exit
// callback) and its own kill/stop decisions only, never from /proc or waitid per connection.
#include <signal.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/proxy/site_fixture.h"

namespace sitehost::proxy::test {
namespace {

using Clock = std::chrono::steady_clock;

// Runs `fn` when the test body ends, also after a failed ASSERT: declared after the exchanges,
// it stops the site before they are destroyed.
struct AtExit {
  std::function<void()> fn;
  ~AtExit() { fn(); }
};

// A child whose main thread exited while another thread serves: alive and answering, though its
// thread-group leader is a zombie in /proc. Every response closes the connection, so every
// request connects anew.
TEST_F(ProxySiteTest, ChildWhoseMainThreadExitedKeepsServing) {
  config_.arguments = {(children_dir() / "main_thread_exits.py").string()};
  long pid = 0;
  std::vector<std::unique_ptr<FakeExchange>> exchanges;
  AtExit stop_first{[this] { stop_site(); }};
  for (int i = 0; i < 4; ++i) {
    exchanges.push_back(get("/n" + std::to_string(i)));
    FakeExchange* ex = exchanges.back().get();
    ASSERT_TRUE(wait(*ex, 10s)) << "request " << i << " never ended";
    ASSERT_TRUE(ex->finished) << ex->error_status << "." << ex->error_substatus << " "
                              << ex->error_detail;
    EXPECT_EQ(ex->status, 200);
    if (i == 0) pid = std::strtol(ex->body.c_str(), nullptr, 10);
    EXPECT_EQ(std::strtol(ex->body.c_str(), nullptr, 10), pid) << "the child was restarted";
  }
  EXPECT_EQ(pids().size(), 1u);
}

// SIGKILL (by pid, from status()) under steady traffic, half of it on fresh connections: every
// request ends within a bounded time, either answered (by the old child or, after the restart,
// by the new one) or 502.5 naming the signal; none is 502.3 and none hangs.
TEST_F(ProxySiteTest, KillUnderSteadyRequestsEndsEveryRequestBounded) {
  constexpr size_t kConcurrent = 8;
  fetch("/warm-up");
  ProxyStatus status = site().status();
  ASSERT_EQ(status.pids.size(), 1u);
  const pid_t first = status.pids.front();

  struct Request {
    std::string target;
    std::unique_ptr<FakeExchange> exchange;
  };
  std::deque<Request> in_flight;
  AtExit stop_first{[this] { stop_site(); }};
  size_t sent = 0, ok_old = 0, ok_new = 0, crashed = 0;
  bool killed = false;
  auto issue = [&] {
    FakeExchange::Options o;
    o.target = "/sleep?ms=" + std::to_string(sent % 3 * 10) + "&n=" + std::to_string(sent);
    if (sent % 2) o.headers.emplace_back("X-Close", "1");  // the next one connects anew
    std::string target = o.target;
    in_flight.push_back({target, send(std::move(o))});
    ++sent;
  };
  auto deadline = Clock::now() + 30s;
  while (ok_new < 20 && Clock::now() < deadline) {
    while (in_flight.size() < kConcurrent) issue();
    FakeExchange& ex = *in_flight.front().exchange;
    ASSERT_TRUE(wait(ex, 10s)) << "request " << in_flight.front().target << " hangs";
    if (ex.finished) {
      ASSERT_EQ(ex.status, 200);
      long pid = json_int(ex.body, "pid");
      (pid == first ? ok_old : ok_new)++;
    } else {
      ASSERT_TRUE(ex.errored);
      EXPECT_EQ(ex.error_status, 502) << ex.error_detail;
      EXPECT_EQ(ex.error_substatus, 5) << ex.error_detail;
      EXPECT_NE(ex.error_detail.find("SIGKILL"), std::string::npos) << ex.error_detail;
      ++crashed;
    }
    in_flight.pop_front();
    if (!killed && ok_old >= 20) {
      ASSERT_EQ(::kill(first, SIGKILL), 0);
      killed = true;
    }
  }
  for (auto& r : in_flight) ASSERT_TRUE(wait(*r.exchange, 10s)) << "request " << r.target;
  EXPECT_TRUE(killed);
  EXPECT_GE(ok_new, 20u) << ok_old << " answered by the first child, " << crashed << " 502.5";
  // Only what was in flight at the kill may fail: the requests the child was handling, and those
  // sent on pooled connections before sitehost saw the child close them.
  EXPECT_LE(crashed, 2 * kConcurrent);
  EXPECT_EQ(pids().size(), 2u);
  EXPECT_EQ(site().status().restarts, 1u);
}

// A live child that closes a connection without answering: no exit follows, so once the exit
// grace (2 s, or request_timeout if shorter) has passed it is a 502.3 (a crash would have been a
// 502.5), and the child keeps serving.
class LiveChildDrop : public ProxySiteTest {
 protected:
  void expect_5023_within(std::chrono::milliseconds request_timeout, long min_ms, long max_ms) {
    config_.request_timeout = request_timeout;
    long pid = json_int(fetch("/warm-up"), "pid");
    auto start = Clock::now();
    auto ex = get("/drop");
    ASSERT_TRUE(wait(*ex, 20s));
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    EXPECT_TRUE(ex->errored);
    EXPECT_EQ(ex->error_status, 502);
    EXPECT_EQ(ex->error_substatus, 3);
    EXPECT_NE(ex->error_detail.find("closed the connection before responding"), std::string::npos)
        << ex->error_detail;
    EXPECT_GE(ms, min_ms);
    EXPECT_LT(ms, max_ms);
    EXPECT_EQ(json_int(fetch("/after"), "pid"), pid);
  }
};

TEST_F(LiveChildDrop, Is5023AfterAShortRequestTimeout) {
  expect_5023_within(1s, 950, 3000);
}

// With a long request_timeout, the wait for an exit that does not come is the exit grace.
TEST_F(LiveChildDrop, WaitsOnlyTheExitGraceUnderALongRequestTimeout) {
  expect_5023_within(60s, 1900, 10000);
}

}  // namespace
}  // namespace sitehost::proxy::test
