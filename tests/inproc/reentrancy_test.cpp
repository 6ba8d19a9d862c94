// The ABI's re-entrancy rule: a server function never runs another request's callbacks (nor
// applies its queued calls) before it returns, so an app may hold one non-recursive lock around
// all its server calls and callbacks (tests/apps/one_lock.c).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/inproc/inproc_test_util.h"

namespace sitehost::test {
namespace {

class OneLock : public ::testing::Test {
 protected:
  void SetUp() override {
    record_ = dir_ / "one_lock.txt";
    port_ = free_port();
    host_ = std::make_unique<Sitehost>(
        dir_,
        inproc_config(port_, dir_.path(),
                      {{"app", "/", app_library("one_lock"),
                        "environment = { ONE_LOCK_FILE = \"" + record_.string() + "\" }\n"}}));
    ASSERT_TRUE(host_->wait_listening(port_)) << host_->log();
  }
  void TearDown() override {
    EXPECT_EQ(host_->stop(), 0) << host_->log();
    EXPECT_EQ(host_->log().find("self-deadlock"), std::string::npos) << host_->log();
  }
  size_t records(const std::string& line) const {
    std::string text = read_file(record_);
    size_t n = 0;
    for (size_t at = 0; (at = text.find(line, at)) != std::string::npos; at += line.size()) ++n;
    return n;
  }

  TempDir dir_;
  std::filesystem::path record_;
  uint16_t port_ = 0;
  std::unique_ptr<Sitehost> host_;
};

// A request's queued abort-callback registration (made by the app thread after the client left,
// so the callback is owed at once) must not run inside another request's server call made on
// the loop thread under the app's lock: that callback takes the same lock.
TEST_F(OneLock, ALoopThreadCallNeverRunsAnotherRequestsCallback) {
  for (int round = 1; round <= 3; ++round) {
    {
      Client victim(port_);
      ASSERT_TRUE(
          victim.send("POST /victim HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nten bytes."));
      ASSERT_TRUE(wait_until([&] { return records("victim-started") == size_t(round); }))
          << host_->log();
    }  // the client leaves: the body read fails, the request is aborted
    ASSERT_TRUE(wait_until([&] { return records("victim-read -8") == size_t(round); }))
        << read_file(record_) << host_->log();
    auto r = http_request(port_, "GET", "/trigger");
    ASSERT_TRUE(r) << "the loop thread deadlocked\n" << host_->log();
    EXPECT_EQ(r->body, "triggered\n");
    // The victim's callback ran later, from the loop, and finished it.
    EXPECT_TRUE(wait_until([&] { return records("victim-abort") == size_t(round); }))
        << read_file(record_) << host_->log();
  }
}

// App threads finish requests (their calls are queued for the loop) while loop-thread handlers
// make calls under the same lock: every request is answered.
TEST_F(OneLock, AppThreadsAndLoopThreadCallsUnderOneLockAnswerEveryRequest) {
  std::atomic<int> ok{0};
  auto client = [&](const char* path) {
    Client c(port_);
    for (int i = 0; i < 200; ++i) {
      if (!c.send(std::string("GET ") + path + " HTTP/1.1\r\nHost: a\r\n\r\n")) return;
      auto r = c.read_response();
      if (!r || r->status != 200) return;
      ++ok;
    }
  };
  std::thread a(client, "/thread"), b(client, "/loop"), c(client, "/thread");
  a.join();
  b.join();
  c.join();
  EXPECT_EQ(ok.load(), 600) << host_->log();
}

}  // namespace
}  // namespace sitehost::test
