// app_offline.htm through the real binary: 503 with the file as body, requests in flight finish,
// the app is stopped and starts again once the file is gone, and fast toggling never leaves a site
// stuck. The fixture's sites all share the test folder as physical_path.
#include <algorithm>
#include <filesystem>
#include <thread>

#include "tests/frontend/frontend_fixture.h"

namespace sitehost::test {
namespace {

class AppOffline : public FrontendTest {
 protected:
  std::filesystem::path offline_file() const { return dir / "app_offline.htm"; }
  void take_offline(const std::string& page) const { dir.write("app_offline.htm", page); }
  void bring_online() const { std::filesystem::remove(offline_file()); }

  int status_of(const std::string& path) {
    auto r = http_request(port, "GET", path);
    return r ? r->status : -1;
  }
  size_t count_in_log(const std::string& text) const {
    std::string log = server->log();
    size_t n = 0;
    for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
    return n;
  }
};

TEST_F(AppOffline, AnswersWithTheFileAnd503UntilItIsRemoved) {
  start();
  ASSERT_EQ(status_of("/"), 200);
  const std::string page = "<html><body><h1>Down for maintenance</h1></body></html>\n";
  take_offline(page);
  ASSERT_TRUE(wait_until([&] { return status_of("/") == 503; }, 3s)) << server->log();
  auto r = http_request(port, "GET", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, page);
  EXPECT_EQ(r->header("Content-Type"), "text/html");
  EXPECT_EQ(status_of("/info"), 503);  // every site in this folder
  Client head(port);
  ASSERT_TRUE(head.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto h = head.read_response(true);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 503);
  EXPECT_EQ(h->header("Content-Length"), std::to_string(page.size()));
  EXPECT_NE(server->log().find("site hello: app_offline.htm found"), std::string::npos);

  // A new content is served once the file changes (read on change, not per request).
  const std::string second = "<p>back soon</p>";
  take_offline(second);
  ASSERT_TRUE(wait_until(
      [&] {
        auto x = http_request(port, "GET", "/");
        return x && x->body == second;
      },
      3s))
      << server->log();

  bring_online();
  ASSERT_TRUE(wait_until([&] { return status_of("/") == 200; }, 3s)) << server->log();
  EXPECT_EQ(http_request(port, "GET", "/")->body, "Hello, World!");
  EXPECT_NE(server->log().find("site hello: app_offline.htm removed"), std::string::npos);
}

TEST_F(AppOffline, RequestInFlightFinishesThenTheAppStopsAndStartsAgainAfterRemoval) {
  start({{"log_level", "\"debug\""}});
  ASSERT_EQ(status_of("/slow?ms=1"), 200);
  ASSERT_EQ(count_in_log("site slow: app started"), 1u);

  Client slow(port, 10s);
  ASSERT_TRUE(slow.send("GET /slow?ms=1500 HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(wait_until([&] {
    return server->log().find("dispatch GET /slow?ms=1500") != std::string::npos;
  })) << server->log();
  take_offline("offline");
  // New requests are refused at once, while the one in flight carries on.
  ASSERT_TRUE(wait_until([&] { return status_of("/slow?ms=1") == 503; }, 3s)) << server->log();
  EXPECT_EQ(server->log().find("site slow: stopped"), std::string::npos)
      << "stopped under a request in flight";
  auto r = slow.read_response();
  ASSERT_TRUE(r) << server->log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "slept 1500 ms\n");
  // ... and then the app is shut down and unloaded.
  ASSERT_TRUE(wait_until([&] { return count_in_log("site slow: stopped") == 1; }, 5s))
      << server->log();
  EXPECT_NE(server->log().find("site slow: generation 1 shut down and unloaded"),
            std::string::npos);

  bring_online();
  ASSERT_TRUE(wait_until([&] { return status_of("/slow?ms=1") == 200; }, 3s)) << server->log();
  EXPECT_EQ(count_in_log("site slow: app started"), 2u) << server->log();
}

TEST_F(AppOffline, FastTogglingNeverLeavesASiteStuck) {
  start();
  ASSERT_EQ(status_of("/"), 200);
  // Every request is answered, 200 or 503 (one that asked for a start the stop overtook too).
  auto answered = [&] {
    int s = status_of("/");
    EXPECT_TRUE(s == 200 || s == 503) << "status " << s << "\n" << server->log();
  };
  for (int i = 0; i < 60; ++i) {
    take_offline("<p>toggle</p>");
    if (i % 3 == 0) answered();
    std::this_thread::sleep_for(Ms(i % 7));
    bring_online();
    if (i % 4 == 0) answered();
    std::this_thread::sleep_for(Ms(i % 5));
  }
  // Removed last: serving again within the re-check interval, whatever events were coalesced.
  ASSERT_TRUE(wait_until([&] { return status_of("/") == 200; }, 2s)) << server->log();
  EXPECT_EQ(http_request(port, "GET", "/")->body, "Hello, World!");
  take_offline("<p>final</p>");
  ASSERT_TRUE(wait_until([&] { return status_of("/") == 503; }, 2s)) << server->log();
  bring_online();
  ASSERT_TRUE(wait_until([&] { return status_of("/") == 200; }, 2s)) << server->log();
  // A burst of requests while toggling gets only 200 or 503, never an error or a dropped
  // connection.
  for (int i = 0; i < 30; ++i) {
    if (i % 2)
      take_offline("x");
    else
      bring_online();
    answered();
  }
  bring_online();
  ASSERT_TRUE(wait_until([&] { return status_of("/") == 200; }, 2s)) << server->log();
}

TEST_F(AppOffline, PresentAtStartKeepsTheAppFromStarting) {
  take_offline("<p>not yet</p>");
  start();
  auto r = http_request(port, "GET", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "<p>not yet</p>");
  EXPECT_EQ(server->log().find("site hello: starting"), std::string::npos) << server->log();
  bring_online();
  ASSERT_TRUE(wait_until([&] { return status_of("/") == 200; }, 3s)) << server->log();
}

}  // namespace
}  // namespace sitehost::test
