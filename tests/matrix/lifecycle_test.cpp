// The app's life around requests: client disconnects (and HTTP/2 stream resets) reach the app as
// aborts, app_offline.htm, startup failures, graceful shutdown with requests in flight, and a hot
// deploy during traffic: once, for every variant.
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

class Lifecycle : public Matrix {
 protected:
  void graceful_shutdown_over_h2();
};

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
  if (variant().h2) {
    // A reset stream is its request's abort; a dropped connection aborts every open stream.
    auto c = h2();
    ASSERT_TRUE(c);
    const int32_t reset = c->submit(h2_get("/reset?ms=30000"));
    ASSERT_TRUE(wait_until([&] { return count(read_file(probe), "started /reset") == 1; }, 5s))
        << log();
    ASSERT_TRUE(c->rst(reset));
    EXPECT_TRUE(wait_until([&] { return count(read_file(probe), "aborted /reset") == 1; }))
        << read_file(probe) << log();
    c->submit(h2_get("/gone1?ms=30000"));
    c->submit(h2_get("/gone2?ms=30000"));
    ASSERT_TRUE(wait_until([&] { return count(read_file(probe), "started /gone") == 2; }, 5s))
        << log();
    c.reset();  // the client disconnects with both in flight
  } else {
    auto c = connect();
    ASSERT_TRUE(c->connected());
    ASSERT_TRUE(c->send("GET /gone?ms=30000 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    ASSERT_TRUE(wait_until([&] { return count(read_file(probe), "started /gone") == 1; })) << log();
  }  // the client disconnects with the request in flight
  const size_t gone = variant().h2 ? 2 : 1;
  EXPECT_TRUE(wait_until([&] { return count(read_file(probe), "aborted /gone") == gone; }))
      << read_file(probe) << log();
  auto r = request("GET", "/after?ms=1");
  ASSERT_TRUE(r) << log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "not aborted\n");
  EXPECT_EQ(count(read_file(probe), "aborted"), gone + (variant().h2 ? 1 : 0));
}

// HTTP/2: RST_STREAM aborts that request only; the connection and its other streams go on.
TEST_P(Lifecycle, ResetAbortsOnlyItsRequest) {
  if (!variant().h2) GTEST_SKIP() << "n/a: HTTP/2 only";
  ASSERT_NO_FATAL_FAILURE(start(abort_probe(dir)));
  const fs::path probe = dir / "probe.log";
  auto c = h2();
  ASSERT_TRUE(c);
  const int32_t doomed = c->submit(h2_get("/doomed?ms=30000"));
  const int32_t kept = c->submit(h2_get("/kept?ms=400"));
  ASSERT_TRUE(wait_until([&] { return count(read_file(probe), "started /") == 2; }, 5s)) << log();
  ASSERT_TRUE(c->rst(doomed));
  EXPECT_TRUE(wait_until([&] { return count(read_file(probe), "aborted /doomed") == 1; }))
      << read_file(probe) << log();
  H2Response r = c->wait(kept);
  EXPECT_EQ(r.status, 200) << log();
  EXPECT_EQ(r.body, "not aborted\n");
  H2Response after = c->exchange(h2_get("/after?ms=1"));
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.body, "not aborted\n");
  EXPECT_FALSE(c->closed()) << c->error();
  EXPECT_EQ(count(read_file(probe), "aborted"), 1u) << read_file(probe);
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

// HTTP/2: SIGTERM sends GOAWAY whose last stream id covers the streams in flight; they complete,
// then the connection closes and sitehost exits.
void Lifecycle::graceful_shutdown_over_h2() {
  const fs::path probe = dir / "probe.log";
  auto c = h2(10s);
  ASSERT_TRUE(c);
  std::vector<int32_t> streams;
  for (int i = 0; i < 3; ++i)
    streams.push_back(c->submit(h2_get("/inflight" + std::to_string(i) + "?ms=800")));
  ASSERT_TRUE(wait_until([&] { return count(read_file(probe), "started /inflight") == 3; }, 5s))
      << log();
  server->process().signal(SIGTERM);
  ASSERT_TRUE(c->wait_goaway(5s)) << log();
  EXPECT_EQ(c->goaway_error(), static_cast<uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_GE(c->goaway_last_stream(), streams.back());
  // No new connections once stopping (the listener closes at once).
  EXPECT_TRUE(wait_until([&] { return !Client(port, 200ms).connected(); }, 3s));
  for (int32_t id : streams) {
    H2Response r = c->wait(id, 10s);
    EXPECT_EQ(r.status, 200) << log();
    EXPECT_EQ(r.body, "not aborted\n");
  }
  EXPECT_TRUE(c->wait_closed(10s)) << "the connection outlived its streams after GOAWAY";
  c.reset();
  auto status = server->process().wait_exit(15s);
  ASSERT_TRUE(status) << "sitehost did not exit\n" << log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << log();
  EXPECT_EQ(count(read_file(probe), "aborted"), 0u) << read_file(probe);
}

TEST_P(Lifecycle, GracefulShutdownFinishesRequestsInFlight) {
  ASSERT_NO_FATAL_FAILURE(start(abort_probe(dir)));
  if (variant().h2) {
    graceful_shutdown_over_h2();
    return;
  }
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
  KeepAliveLoad load(
      load_session("/load"),
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
