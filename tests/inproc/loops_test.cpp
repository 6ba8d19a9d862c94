// In-process hosting on several event loops (`[server] event_loops = 2`): one loaded generation
// serves both loops; requests are answered by both; hot swap, drain and force_abort, startup
// waits and sync I/O work across loops; a serial app's calls never overlap.
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/inproc/inproc_test_util.h"
#include "tests/support/event_loops.h"
#include "tests/support/load.h"
#include "tests/support/site_config.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;

// GET /status from the admin API on a unix socket: the whole answer (it closes after it).
std::string admin_status(const fs::path& socket_path) {
  return admin_exchange(socket_path, "GET", "/status");
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    names.push_back(entry.path().filename().string());
  return names;
}

void deploy_by_rename(const fs::path& from, const fs::path& to) {
  fs::path aside = to.string() + ".tmp";
  fs::copy_file(from, aside, fs::copy_options::overwrite_existing);
  fs::rename(aside, to);
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size()) ++n;
  return n;
}

// One in-process site "app" on two event loops, with the admin API on a unix socket and the
// deployed library at dir/deploy/app.so (shadow copies in dir/shadow).
class Loops : public ::testing::Test {
 protected:
  void start(const std::string& app, const std::string& extra = "") {
    lib_ = dir_.write("deploy/app.so", read_file(app_library(app)));
    shadow_ = dir_ / "shadow";
    admin_ = dir_ / "admin.sock";
    port_ = free_port();
    std::string server =
        "detailed_errors = true\nevent_loops = 2\nadmin = " + toml_string(admin_.string()) + "\n";
    host_ = std::make_unique<Sitehost>(
        dir_, inproc_config(port_, dir_.path(),
                            {{"app", "/", lib_,
                              "shadow_copy_directory = \"" + shadow_.string() + "\"\n" + extra}},
                            server));
    ASSERT_TRUE(host_->wait_listening(port_)) << host_->log();
    ASSERT_TRUE(wait_until([&] { return !admin_status(admin_).empty(); })) << host_->log();
  }
  void TearDown() override {
    if (!host_) return;
    EXPECT_EQ(host_->stop(), 0) << host_->log();
    EXPECT_EQ(files_in(shadow_), std::vector<std::string>{}) << host_->log();
  }
  bool log_has(const std::string& text) const {
    return host_->log().find(text) != std::string::npos;
  }
  // Both loops have answered requests (tests/support/event_loops.h).
  void expect_both_loops_served() {
    std::string status;
    EXPECT_TRUE(every_loop_served(port_, admin_, 2, "/", status)) << status;
  }

  TempDir dir_;
  fs::path lib_, shadow_, admin_;
  uint16_t port_ = 0;
  std::unique_ptr<Sitehost> host_;
};

constexpr int kConnections = 16;

TEST_F(Loops, KeepAliveConnectionsAreAnsweredByBothLoops) {
  start("hello");
  std::atomic<int> ok{0}, bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kConnections; ++t)
    threads.emplace_back([&] {
      Client c(port_);
      for (int i = 0; i < 25; ++i) {
        auto r = c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n") ? c.read_response() : std::nullopt;
        (r && r->status == 200 && r->body == "Hello, World!" ? ok : bad)++;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0) << host_->log();
  EXPECT_EQ(ok.load(), kConnections * 25);
  expect_both_loops_served();
  // One generation for both loops: the library was loaded and initialised once.
  EXPECT_EQ(count(host_->log(), "app started in"), 1u) << host_->log();
  EXPECT_EQ(files_in(shadow_).size(), 1u);
}

TEST_F(Loops, HotSwapUnderLoadFailsNoRequest) {
  start("version");
  // The app starts on the first request: generation 1 is v1 before any deploy.
  ASSERT_EQ(http_request(port_, "GET", "/")->body, "version v1\n") << host_->log();
  KeepAliveLoad load([this] { return std::make_unique<Client>(port_); },
                     "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
                     [](const Response& r) -> std::string {
                       if (r.status != 200) return "status " + std::to_string(r.status);
                       if (r.body != "version v1\n" && r.body != "version v2\n") return r.body;
                       return {};
                     },
                     8);
  constexpr int kDeploys = 4;
  for (int i = 0; i < kDeploys; ++i) {
    const std::string next = i % 2 == 0 ? "version v2\n" : "version v1\n";
    deploy_by_rename(app_library(i % 2 == 0 ? "version_v2" : "version"), lib_);
    ASSERT_TRUE(wait_until(
        [&] {
          auto r = http_request(port_, "GET", "/");
          return r && r->body == next;
        },
        15s))
        << host_->log();
  }
  load.stop();
  EXPECT_EQ(load.failed(), 0) << load.errors() << host_->log();
  EXPECT_GT(load.sent(), 100);
  EXPECT_EQ(count(host_->log(), "hot swap: generation"), size_t{kDeploys}) << host_->log();
  EXPECT_TRUE(wait_until([&] {
    return count(host_->log(), "shut down and unloaded") == size_t{kDeploys};
  })) << host_->log();
  EXPECT_TRUE(wait_until([&] { return files_in(shadow_).size() == 1; })) << host_->log();
  expect_both_loops_served();
}

TEST_F(Loops, RequestsInFlightOnBothLoopsDrainThenTheRestAreAborted) {
  auto record = dir_ / "aborts.txt";
  start("abort_probe", "shutdown_time_limit = \"1s\"\nenvironment = { ABORT_PROBE_FILE = \"" +
                           record.string() + "\" }\n");
  // Long requests on many connections (so on both loops), all running on generation 1.
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<Client>(port_, 15s));
    ASSERT_TRUE(clients.back()->send("GET /wait?ms=30000 HTTP/1.1\r\nHost: a\r\n\r\n"));
  }
  ASSERT_TRUE(wait_until([&] { return count(read_file(record), "started /wait") == 8; }))
      << read_file(record) << host_->log();
  deploy_by_rename(app_library("hello"), lib_);
  ASSERT_TRUE(wait_until([&] { return log_has("hot swap: generation 2 serves"); }, 10s))
      << host_->log();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(http_request(port_, "GET", "/")->body, "Hello, World!");
  // After shutdown_time_limit every one of them is aborted on its own loop; the app finishes
  // each from its abort callback; then generation 1 is unloaded.
  for (auto& c : clients) {
    auto r = c->read_response();
    ASSERT_TRUE(r) << host_->log();
    EXPECT_EQ(r->status, 503);
  }
  EXPECT_TRUE(wait_until([&] { return count(read_file(record), "aborted /wait") == 8; }))
      << read_file(record);
  EXPECT_TRUE(wait_until([&] { return log_has("generation 1 shut down and unloaded"); }))
      << host_->log();
  std::string log = host_->log();
  EXPECT_NE(log.find("8 request(s) still running on generation 1"), std::string::npos) << log;
  EXPECT_LT(log.find("aborting them"), log.find("generation 1 shut down and unloaded")) << log;
  expect_both_loops_served();
}

TEST_F(Loops, RequestsWaitingForTheStartOnBothLoopsAreServed) {
  start("hangs_init", "startup_time_limit = \"20s\"\nenvironment = { HANGS_INIT_MS = \"1500\" }\n");
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<Client>(port_, 15s));
    ASSERT_TRUE(clients.back()->send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  }
  for (auto& c : clients) {
    auto r = c->read_response();
    ASSERT_TRUE(r) << host_->log();
    EXPECT_EQ(r->status, 200) << r->body;
  }
  EXPECT_EQ(count(host_->log(), "app started in"), 1u) << host_->log();
  expect_both_loops_served();
}

TEST_F(Loops, RequestsWaitingOnBothLoopsGetThe50037PageWhenTheStartOverruns) {
  start("hangs_init", "startup_time_limit = \"1s\"\nenvironment = { HANGS_INIT_MS = \"3000\" }\n");
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<Client>(port_, 15s));
    ASSERT_TRUE(clients.back()->send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  }
  for (auto& c : clients) {
    auto r = c->read_response();
    ASSERT_TRUE(r) << host_->log();
    EXPECT_EQ(r->status, 500);
    EXPECT_NE(r->body.find("500.37"), std::string::npos) << r->body;
  }
  // The failed app answers its page cheaply on both loops afterwards.
  for (int i = 0; i < 8; ++i) EXPECT_EQ(http_request(port_, "GET", "/")->status, 500);
  expect_both_loops_served();
  // The late init returns on its own thread, which shuts it down and removes its copy.
  EXPECT_TRUE(wait_until([&] { return files_in(shadow_).empty(); }, 10s)) << host_->log();
}

TEST_F(Loops, SyncIoSiteServesBothLoopsFromItsWorkers) {
  start("sync_io", "allow_synchronous_io = true\n");
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      Client c(port_);
      for (int i = 0; i < 10; ++i) {
        std::string body(1000 + 97 * i, static_cast<char>('a' + t));
        std::string req =
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\n\r\n" + body;
        auto r = c.send(req) ? c.read_response() : std::nullopt;
        if (!r || r->status != 200 || r->body != body) ++bad;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0) << host_->log();
  expect_both_loops_served();
}

// The serial app counts calls into it that overlap (see tests/apps/serial_probe.c).
void run_serial_probe(uint16_t port) {
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kConnections; ++t)
    threads.emplace_back([&, t] {
      Client c(port);
      for (int i = 0; i < 30; ++i) {
        // GETs (entry + write callback) and POSTs (entry + read callbacks + write callback).
        std::string req = (i + t) % 2 ? "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"
                                      : "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"
                                        "hello";
        auto r = c.send(req) ? c.read_response() : std::nullopt;
        if (!r || r->status != 200) ++bad;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  auto r = http_request(port, "GET", "/overlaps");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.rfind("overlaps=0 ", 0), 0u) << r->body;
}

TEST_F(Loops, ASerialAppsCallsNeverOverlap) {
  start("serial_probe");
  run_serial_probe(port_);
  EXPECT_TRUE(log_has("handler ABI 1.3, serial")) << host_->log();
  EXPECT_FALSE(log_has("overlapping calls")) << host_->log();
  expect_both_loops_served();
}

TEST_F(Loops, ALibraryBuiltForAbi12IsSerializedWhateverItClaims) {
  start("serial_probe_abi12");
  run_serial_probe(port_);
  EXPECT_TRUE(log_has("handler ABI 1.2, serial")) << host_->log();
  EXPECT_FALSE(log_has("overlapping calls")) << host_->log();
  expect_both_loops_served();
}

// With allow_synchronous_io the entry point runs on the site's worker threads: still one call at
// a time, with the callbacks on both loops.
TEST_F(Loops, ASerialAppOnWorkerThreadsIsSerializedToo) {
  start("serial_probe", "allow_synchronous_io = true\n");
  run_serial_probe(port_);
  EXPECT_FALSE(log_has("overlapping calls")) << host_->log();
  expect_both_loops_served();
}

TEST_F(Loops, AppOfflineStopsTheAppOnBothLoopsAndItComesBack) {
  start("hello");
  for (int i = 0; i < 8; ++i) ASSERT_EQ(http_request(port_, "GET", "/")->status, 200);
  dir_.write("app_offline.htm", "down for maintenance");
  ASSERT_TRUE(wait_until([&] { return http_request(port_, "GET", "/")->status == 503; }))
      << host_->log();
  ASSERT_TRUE(wait_until([&] { return log_has("site app: stopped"); })) << host_->log();
  fs::remove(dir_ / "app_offline.htm");
  ASSERT_TRUE(wait_until([&] { return http_request(port_, "GET", "/")->status == 200; }))
      << host_->log();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(http_request(port_, "GET", "/")->status, 200);
  expect_both_loops_served();
}

}  // namespace
}  // namespace sitehost::test
