// The app's life around requests: client disconnects reach the app as aborts, app_offline.htm,
// startup failures, graceful shutdown with requests in flight, and a hot deploy during traffic:
// once, for every variant.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/matrix/matrix_fixture.h"
#include "tests/support/load.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;

using Lifecycle = Matrix;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size()) ++n;
  return n;
}

// abort_probe records "started <target>" / "aborted <target>" lines in this file.
App abort_probe(const TempDir& dir) {
  return {.library = "abort_probe",
          .environment = {{"ABORT_PROBE_FILE", (dir / "probe.log").string()}}};
}

TEST_P(Lifecycle, ClientDisconnectAbortsTheRequest) {
  ASSERT_NO_FATAL_FAILURE(start(abort_probe(dir)));
  const fs::path probe = dir / "probe.log";
  {
    auto c = connect();
    ASSERT_TRUE(c->connected());
    ASSERT_TRUE(c->send("GET /gone?ms=30000 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    ASSERT_TRUE(wait_until([&] { return count(read_file(probe), "started /gone") == 1; })) << log();
  }  // the client disconnects with the request in flight
  EXPECT_TRUE(wait_until([&] { return count(read_file(probe), "aborted /gone") == 1; }))
      << read_file(probe) << log();
  auto r = request("GET", "/after?ms=1");
  ASSERT_TRUE(r) << log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "not aborted\n");
  EXPECT_EQ(count(read_file(probe), "aborted"), 1u);
}

TEST_P(Lifecycle, AppOfflineServes503UntilRemoved) {
  ASSERT_NO_FATAL_FAILURE(start({.library = "hello"}));
  ASSERT_EQ(status_of("/"), 200) << log();
  const std::string page = "<html><body>Down for maintenance</body></html>\n";
  const fs::path offline = site_dir / "app_offline.htm";
  dir.write("site/app_offline.htm", page);
  ASSERT_TRUE(wait_until([&] { return status_of("/") == 503; }, 3s)) << log();
  auto r = request("GET", "/any/path");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, page);
  EXPECT_EQ(r->header("Content-Type"), "text/html");
  fs::remove(offline);
  ASSERT_TRUE(wait_until([&] { return status_of("/") == 200; }, 5s)) << log();
  auto back = request("GET", "/");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->body, "Hello, World!");
}

// fails_init's init fails; the out-of-process analogue is a child that says the same and exits
// before it listens. Both get their model's documented page, with the reason (detailed_errors).
TEST_P(Lifecycle, FailingAppGetsItsStartupErrorPage) {
  const std::string reason = "missing setting ORDERS_DB";
  // The same library in both models: in-process its init fails inside sitehost (500.30);
  // out-of-process sitehost-app exits with the reason before it listens (502.5).
  App app{.library = "fails_init", .site_keys = {{"startup_time_limit", "\"5s\""}}};
  ASSERT_NO_FATAL_FAILURE(start(app));
  auto r = request("GET", "/", {}, {}, 15s);
  ASSERT_TRUE(r) << log();
  const char* code = variant().in_process() ? "500.30" : "502.5";
  EXPECT_EQ(r->status, variant().in_process() ? 500 : 502);
  EXPECT_NE(r->body.find(code), std::string::npos) << r->body;
  EXPECT_NE(r->body.find(reason), std::string::npos) << r->body;
  // A failed app stays failed and cheap: the same page again.
  auto again = request("GET", "/", {}, {}, 15s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, r->status);
  EXPECT_NE(again->body.find(code), std::string::npos) << again->body;
}

TEST_P(Lifecycle, GracefulShutdownFinishesRequestsInFlight) {
  ASSERT_NO_FATAL_FAILURE(start(abort_probe(dir)));
  const fs::path probe = dir / "probe.log";
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(connect(10s));
    ASSERT_TRUE(clients.back()->connected());
    ASSERT_TRUE(clients.back()->send("GET /inflight" + std::to_string(i) +
                                     "?ms=800 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  }
  ASSERT_TRUE(wait_until([&] { return count(read_file(probe), "started /inflight") == 3; }))
      << log();
  server->process().signal(SIGTERM);
  // No new connections once stopping (the listener closes at once).
  EXPECT_TRUE(wait_until([&] { return !connect(200ms)->connected(); }, 3s));
  for (auto& c : clients) {
    auto r = c->read_response();
    ASSERT_TRUE(r) << log();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "not aborted\n");
    EXPECT_EQ(r->header("Connection"), "close");
  }
  clients.clear();  // else sitehost's lingering close waits for them
  auto status = server->process().wait_exit(15s);
  ASSERT_TRUE(status) << "sitehost did not exit\n" << log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << log();
  EXPECT_EQ(count(read_file(probe), "aborted"), 0u) << read_file(probe);
}

TEST_P(Lifecycle, HotDeployFailsNoRequest) {
  ASSERT_NO_FATAL_FAILURE(start({.library = "version"}));
  auto first = request("GET", "/");
  ASSERT_TRUE(first) << log();
  ASSERT_EQ(first->body, "version v1\n") << log();
  std::atomic<long> v2{0};
  KeepAliveLoad load([this] { return connect(10s); },
                     "GET /load HTTP/1.1\r\nHost: localhost\r\n\r\n",
                     [&](const Response& r) {
                       if (r.status != 200 || r.body.rfind("version ", 0) != 0)
                         return std::to_string(r.status) + " " + r.body.substr(0, 300);
                       if (r.body == "version v2\n") ++v2;
                       return std::string();
                     },
                     3);
  ASSERT_TRUE(wait_until([&] { return load.sent() >= 20; }, 10s)) << load.errors() << log();
  // In-process: a hot swap of the handler; out-of-process: an overlapped recycle of the child
  // (app.so is the watched first argument of sitehost-app).
  deploy("version_v2");
  EXPECT_TRUE(wait_until([&] { return v2 >= 20; }, 15s)) << load.errors() << log();
  load.stop();
  EXPECT_EQ(load.failed(), 0) << load.errors() << log();
  EXPECT_GT(load.sent(), 40);
  auto after = request("GET", "/");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->body, "version v2\n");
}

SITEHOST_MATRIX_SUITE(Lifecycle);

}  // namespace
}  // namespace sitehost::test
