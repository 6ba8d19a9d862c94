// In-process hosting over HTTP: the request as the app sees it, several apps in one process,
// completion from other threads, waiting for init, and a graceful stop.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "tests/inproc/inproc_test_util.h"

namespace sitehost::test {
namespace {

class Hosting : public ::testing::Test {
 protected:
  void start(const std::vector<InprocSiteSpec>& sites) {
    port_ = free_port();
    host_ = std::make_unique<Sitehost>(dir_, inproc_config(port_, dir_.path(), sites));
    ASSERT_TRUE(host_->wait_listening(port_)) << host_->log();
  }
  void TearDown() override {
    if (host_) {
      EXPECT_EQ(host_->stop(), 0) << host_->log();
    }
  }

  TempDir dir_;
  uint16_t port_ = 0;
  std::unique_ptr<Sitehost> host_;
};

TEST_F(Hosting, HelloAnswersItsFixedBody) {
  start({{"hello", "/", app_library("hello"), ""}});
  auto r = http_request(port_, "GET", "/anything");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "Hello, World!");
  EXPECT_EQ(r->header("Content-Type"), "text/plain");
  EXPECT_EQ(r->header("Content-Length"), "13");
}

TEST_F(Hosting, KeepAliveRequestsReuseTheConnectionAndTheAdapter) {
  start({{"hello", "/", app_library("hello"), ""}});
  Client c(port_);
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(c.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "Hello, World!");
  }
  // HEAD: the app writes a body, the front end sends none.
  ASSERT_TRUE(c.send("HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto head = c.read_response(true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Content-Length"), "13");
}

TEST_F(Hosting, InfoSeesPathBasePathQueryHeadersAndAddresses) {
  start({{"info", "/app", app_library("info"), "environment = { GREETING = \"hi there\" }\n"}});
  auto r = http_request(port_, "GET", "/app/x/y%20z?a=1&b=2", {}, "example.test",
                        {"X-Custom: \"quoted\" value"});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const std::string& j = r->body;
  EXPECT_NE(j.find("\"method\":\"GET\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"target\":\"/app/x/y%20z?a=1&b=2\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"path_base\":\"/app\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"path\":\"/x/y%20z\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"query\":\"a=1&b=2\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"protocol\":\"HTTP/1.1\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"remote\":\"127.0.0.1:"), std::string::npos) << j;
  EXPECT_NE(j.find("\"local\":\"127.0.0.1:" + std::to_string(port_) + "\""), std::string::npos)
      << j;
  EXPECT_NE(j.find("\"tls\":false"), std::string::npos) << j;
  EXPECT_NE(j.find("[\"Host\",\"example.test\"]"), std::string::npos) << j;
  EXPECT_NE(j.find("[\"X-Custom\",\"\\\"quoted\\\" value\"]"), std::string::npos) << j;
  EXPECT_NE(j.find("\"environment\":{\"GREETING\":\"hi there\"}"), std::string::npos) << j;
  EXPECT_NE(j.find("\"site\":\"info\""), std::string::npos) << j;

  auto root = http_request(port_, "GET", "/app");
  ASSERT_TRUE(root);
  EXPECT_NE(root->body.find("\"path_base\":\"/app\""), std::string::npos) << root->body;
}

TEST_F(Hosting, TwoLibrariesWithClashingSymbolsServeIndependently) {
  start({{"a", "/a", app_library("clash_a"), ""}, {"b", "/b", app_library("clash_b"), ""}});
  for (int i = 0; i < 3; ++i) {
    auto a = http_request(port_, "GET", "/a/");
    auto b = http_request(port_, "GET", "/b/");
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->body, "clash_a");
    EXPECT_EQ(b->body, "clash_b");
  }
}

TEST_F(Hosting, TheSameLibraryServesTwoSitesEachWithItsOwnState) {
  start({{"one", "/one", app_library("info"), "environment = { WHO = \"one\" }\n"},
         {"two", "/two", app_library("info"), "environment = { WHO = \"two\" }\n"}});
  auto one = http_request(port_, "GET", "/one/");
  auto two = http_request(port_, "GET", "/two/");
  ASSERT_TRUE(one && two);
  EXPECT_NE(one->body.find("{\"WHO\":\"one\"}"), std::string::npos) << one->body;
  EXPECT_NE(two->body.find("{\"WHO\":\"two\"}"), std::string::npos) << two->body;
}

TEST_F(Hosting, AResponseCanBeCompletedFromAnotherThread) {
  start({{"thread", "/", app_library("complete_from_thread"), ""}});
  Client c(port_);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(c.send("GET /t" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 201);
    EXPECT_EQ(r->reason, "Made Elsewhere");
    EXPECT_EQ(r->header("X-Loop-Thread"), "headers");
    EXPECT_EQ(r->body,
              "completed from another thread: /t" + std::to_string(i) + "\nsecond chunk\n");
  }
}

TEST_F(Hosting, ASlowAnswerDoesNotBlockTheLoop) {
  start({{"slow", "/slow", app_library("slow"), ""}, {"hello", "/", app_library("hello"), ""}});
  Client slow(port_);
  auto began = std::chrono::steady_clock::now();
  ASSERT_TRUE(slow.send("GET /slow/?ms=1500 HTTP/1.1\r\nHost: a\r\n\r\n"));
  // While the slow app holds its request, others are served at once.
  for (int i = 0; i < 5; ++i) {
    auto r = http_request(port_, "GET", "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "Hello, World!");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - began, 1000ms);
  auto r = slow.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "slept 1500 ms\n");
  EXPECT_GE(std::chrono::steady_clock::now() - began, 1500ms);
}

TEST_F(Hosting, RequestsArrivingDuringInitWaitForIt) {
  start({{"late", "/", app_library("hangs_init"),
          "environment = { HANGS_INIT_MS = \"700\" }\nstartup_time_limit = \"10s\"\n"}});
  auto began = std::chrono::steady_clock::now();
  std::vector<std::future<std::optional<Response>>> answers;
  for (int i = 0; i < 4; ++i)
    answers.push_back(
        std::async(std::launch::async, [&] { return http_request(port_, "GET", "/"); }));
  for (auto& a : answers) {
    auto r = a.get();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->body, "started late\n");
  }
  EXPECT_GE(std::chrono::steady_clock::now() - began, 650ms);
  // Exactly one start served them all.
  std::string log = host_->log();
  EXPECT_NE(log.find("app started in"), std::string::npos) << log;
  EXPECT_EQ(log.find("generation 2"), std::string::npos) << log;
}

TEST_F(Hosting, AnInitReturningAfterItsTimeLimitIsDiscardedSafely) {
  start({{"late", "/", app_library("hangs_init"),
          "environment = { HANGS_INIT_MS = \"1600\" }\nstartup_time_limit = \"1s\"\n"},
         {"hello", "/hello", app_library("hello"), ""}});
  auto r = http_request(port_, "GET", "/");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("500.37"), std::string::npos) << r->body;
  // The abandoned init returns later (and is shut down on its own thread); nothing breaks.
  std::this_thread::sleep_for(900ms);  // let the late return happen: there is no event to await
  auto after = http_request(port_, "GET", "/");
  ASSERT_TRUE(after);
  EXPECT_NE(after->body.find("500.37"), std::string::npos) << after->body;
  auto hello = http_request(port_, "GET", "/hello/");
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->body, "Hello, World!");
}

TEST_F(Hosting, StopFinishesRequestsInFlightThenShutsTheAppDown) {
  start({{"slow", "/", app_library("slow"), ""}});
  Client c(port_);
  ASSERT_TRUE(c.send("GET /?ms=800 HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(wait_until([&] { return host_->log().find("app started") != std::string::npos; }));
  host_->process().signal(SIGTERM);
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "slept 800 ms\n");
  auto status = host_->process().wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << host_->log();
  std::string log = host_->log();
  EXPECT_NE(log.find("generation 1 shut down and unloaded"), std::string::npos) << log;
  host_.reset();
}

TEST_F(Hosting, StoppingWhileTheAppStartsDoesNotWaitForInit) {
  start({{"hangs", "/", app_library("hangs_init"), "startup_time_limit = \"1h\"\n"}});
  Client c(port_);  // starts the app, then goes away: nothing waits for it any more
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(
      wait_until([&] { return host_->log().find("hangs_init: waiting") != std::string::npos; }));
  c.shutdown_write();
  EXPECT_TRUE(c.closed_within(5s));
  auto began = std::chrono::steady_clock::now();
  EXPECT_EQ(host_->stop(5s), 0) << host_->log();
  EXPECT_LT(std::chrono::steady_clock::now() - began, 3s);
  EXPECT_NE(host_->log().find("stopped while the app was starting"), std::string::npos)
      << host_->log();
  host_.reset();
}

}  // namespace
}  // namespace sitehost::test
