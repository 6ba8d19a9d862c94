// Hot swap of in-process handlers over HTTP: a deploy replaces the handler file (rename over it,
// or overwrite in place) while clients keep sending requests; no request fails, new requests
// reach the new version, requests in flight finish on the old one, a half-written or bad file is
// never served, requests that outlive shutdown_time_limit are aborted before the old version is
// unloaded, and shadow copies are removed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "tests/inproc/inproc_test_util.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;

// The safe deploy: write aside, rename over.
void deploy_by_rename(const fs::path& from, const fs::path& to) {
  fs::path aside = to.string() + ".tmp";
  fs::copy_file(from, aside, fs::copy_options::overwrite_existing);
  fs::rename(aside, to);
}

// What `cp new.so app.so` does: truncate the deployed file and write the new bytes into it.
void write_in_place(const fs::path& to, const std::string& bytes) {
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size()) ++n;
  return n;
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    names.push_back(entry.path().filename().string());
  return names;
}

std::string body_of(uint16_t port, const std::string& path = "/") {
  auto r = http_request(port, "GET", path);
  if (!r) return "(no response)";
  if (r->status != 200) return "(status " + std::to_string(r->status) + ")";
  return r->body;
}

// One in-process site ("app") serving a copy of a sample library from dir/deploy/app.so, with
// its shadow copies in dir/shadow.
class HotSwap : public ::testing::Test {
 protected:
  void start(const std::string& app, const std::string& extra = "",
             const std::string& server_extra = "detailed_errors = true\n") {
    lib_ = dir_.write("deploy/app.so", read_file(app_library(app)));
    shadow_ = dir_ / "shadow";
    port_ = free_port();
    host_ = std::make_unique<Sitehost>(
        dir_, inproc_config(port_, dir_.path(),
                            {{"app", "/", lib_,
                              "shadow_copy_directory = \"" + shadow_.string() + "\"\n" + extra}},
                            server_extra));
    ASSERT_TRUE(host_->wait_listening(port_)) << host_->log();
  }
  void TearDown() override {
    if (!host_) return;
    EXPECT_EQ(host_->stop(), 0) << host_->log();
    // Every generation was unloaded and its copy removed.
    EXPECT_EQ(files_in(shadow_), std::vector<std::string>{}) << host_->log();
  }
  bool log_has(const std::string& text) const {
    return host_->log().find(text) != std::string::npos;
  }
  bool serves(const std::string& body, Ms timeout = 10s) {
    return wait_until([&] { return body_of(port_) == body; }, timeout);
  }

  TempDir dir_;
  fs::path lib_;
  fs::path shadow_;
  uint16_t port_ = 0;
  std::unique_ptr<Sitehost> host_;
};

// Clients that keep sending requests until stopped: one on a keep-alive connection, one opening
// a connection per request. Every answer must be a 200 from one of the versions.
class Load {
 public:
  explicit Load(uint16_t port) : port_(port) {
    threads_.emplace_back([this] { keep_alive(); });
    threads_.emplace_back([this] { fresh_connections(); });
  }
  ~Load() { stop(); }
  void stop() {
    stopping_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  uint64_t requests() const { return requests_; }
  uint64_t failures() const { return failures_; }
  std::string failure_log() {
    std::lock_guard lock(mutex_);
    return failure_log_;
  }
  // True once both clients have seen `body` (they see the new version only after the swap).
  bool both_saw(const std::string& body) {
    std::lock_guard lock(mutex_);
    return last_[0] == body && last_[1] == body;
  }

 private:
  void record(int who, const std::optional<Response>& r) {
    ++requests_;
    std::lock_guard lock(mutex_);
    if (r && r->status == 200 && (r->body == "version v1\n" || r->body == "version v2\n")) {
      last_[who] = r->body;
      return;
    }
    ++failures_;
    if (failure_log_.size() < 4096)
      failure_log_ += r ? "status " + std::to_string(r->status) + ": " + r->body + "\n"
                        : std::string("no response\n");
  }
  void keep_alive() {
    auto client = std::make_unique<Client>(port_);
    while (!stopping_) {
      bool sent = client->send("GET /ka HTTP/1.1\r\nHost: a\r\n\r\n");
      auto r = sent ? client->read_response() : std::nullopt;
      record(0, r);
      if (!r) client = std::make_unique<Client>(port_);  // counted; carry on
    }
  }
  void fresh_connections() {
    while (!stopping_) record(1, http_request(port_, "GET", "/fresh"));
  }

  uint16_t port_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> failures_{0};
  std::mutex mutex_;
  std::string last_[2];
  std::string failure_log_;
  std::vector<std::thread> threads_;
};

TEST_F(HotSwap, EightDeploysUnderContinuousLoadFailNoRequest) {
  start("version");
  ASSERT_EQ(body_of(port_), "version v1\n") << host_->log();
  Load load(port_);
  ASSERT_TRUE(wait_until([&] { return load.both_saw("version v1\n"); })) << load.failure_log();

  const std::string v1 = read_file(app_library("version"));
  const std::string v2 = read_file(app_library("version_v2"));
  constexpr int kDeploys = 8;
  for (int i = 0; i < kDeploys; ++i) {
    const bool to_v2 = i % 2 == 0;
    const std::string want = to_v2 ? "version v2\n" : "version v1\n";
    if (i % 4 < 2)  // two by rename, two in place, ...
      deploy_by_rename(app_library(to_v2 ? "version_v2" : "version"), lib_);
    else
      write_in_place(lib_, to_v2 ? v2 : v1);
    ASSERT_TRUE(wait_until([&] { return load.both_saw(want); }, 10s))
        << "deploy " << i << "\n"
        << load.failure_log() << host_->log();
    ASSERT_TRUE(wait_until([&] { return count(host_->log(), "hot swap: generation") == i + 1u; }))
        << host_->log();
  }
  load.stop();
  EXPECT_EQ(load.failures(), 0u) << load.failure_log();
  EXPECT_GT(load.requests(), 100u);
  RecordProperty("requests", std::to_string(load.requests()));
  std::string log = host_->log();
  EXPECT_EQ(count(log, "hot swap: generation"), size_t{kDeploys}) << log;
  EXPECT_EQ(log.find("hot swap failed"), std::string::npos) << log;
  EXPECT_EQ(log.find("500.3"), std::string::npos) << log;
  // Each old generation was unloaded once its requests were over: one shadow copy is left.
  EXPECT_TRUE(wait_until([&] { return files_in(shadow_).size() == 1; })) << host_->log();
  EXPECT_TRUE(wait_until([&] {
    return count(host_->log(), "shut down and unloaded") == size_t{kDeploys};
  })) << host_->log();
}

TEST_F(HotSwap, TheDeployedFileIsNeverMappedOnlyItsShadowCopy) {
  start("version");
  ASSERT_EQ(body_of(port_), "version v1\n") << host_->log();
  std::string maps = read_file("/proc/" + std::to_string(host_->process().pid()) + "/maps");
  EXPECT_EQ(maps.find(lib_.string()), std::string::npos) << maps;
  auto copies = files_in(shadow_);
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_NE(maps.find((shadow_ / copies[0]).string()), std::string::npos) << maps;
  EXPECT_NE(copies[0].find("-g1-app.so"), std::string::npos) << copies[0];
}

TEST_F(HotSwap, AHalfWrittenFileIsNeverLoaded) {
  start("version");
  ASSERT_EQ(body_of(port_), "version v1\n") << host_->log();
  const std::string v2 = read_file(app_library("version_v2"));
  {
    // cp over the file, stopping halfway for longer than the settle time.
    std::ofstream out(lib_, std::ios::binary | std::ios::trunc);
    out.write(v2.data(), static_cast<std::streamsize>(v2.size() / 2));
    out.flush();
    ASSERT_TRUE(wait_until([&] { return log_has("is incomplete"); })) << host_->log();
    for (int i = 0; i < 5; ++i) EXPECT_EQ(body_of(port_), "version v1\n");
    out.write(v2.data() + v2.size() / 2, static_cast<std::streamsize>(v2.size() - v2.size() / 2));
  }
  EXPECT_TRUE(serves("version v2\n")) << host_->log();
  std::string log = host_->log();
  EXPECT_EQ(log.find("500.33"), std::string::npos) << log;
  EXPECT_EQ(log.find("hot swap failed"), std::string::npos) << log;
  EXPECT_EQ(count(log, "hot swap: generation"), 1u) << log;
}

TEST_F(HotSwap, ABadNewLibraryLeavesTheOldOneServing) {
  start("version");
  ASSERT_EQ(body_of(port_), "version v1\n") << host_->log();

  // init fails: 500.30, logged; the old generation carries on.
  deploy_by_rename(app_library("fails_init"), lib_);
  ASSERT_TRUE(wait_until([&] { return log_has("hot swap failed (500.30)"); })) << host_->log();
  EXPECT_TRUE(log_has("missing setting ORDERS_DB")) << host_->log();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(body_of(port_), "version v1\n");

  // Not a library at all: 500.33.
  fs::path garbage = dir_.write("garbage.so", std::string(20000, 'x'));
  deploy_by_rename(garbage, lib_);
  ASSERT_TRUE(wait_until([&] { return log_has("hot swap failed (500.33)"); })) << host_->log();
  EXPECT_TRUE(log_has("generation 1 keeps serving")) << host_->log();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(body_of(port_), "version v1\n");
  // The failed copies are gone; the serving one stays.
  EXPECT_EQ(files_in(shadow_).size(), 1u);

  // A good build afterwards is swapped in.
  deploy_by_rename(app_library("version_v2"), lib_);
  EXPECT_TRUE(serves("version v2\n")) << host_->log();
  EXPECT_EQ(count(host_->log(), "hot swap failed"), 2u) << host_->log();
}

TEST_F(HotSwap, AnInitThatOverrunsItsLimitLeavesTheOldOneServing) {
  start("version", "startup_time_limit = \"1s\"\nenvironment = { HANGS_INIT_MS = \"3000\" }\n");
  ASSERT_EQ(body_of(port_), "version v1\n") << host_->log();
  deploy_by_rename(app_library("hangs_init"), lib_);
  ASSERT_TRUE(wait_until([&] { return log_has("hot swap failed (500.37)"); })) << host_->log();
  EXPECT_EQ(body_of(port_), "version v1\n");
  // The late init returns on its own thread, which shuts it down and removes its copy.
  EXPECT_TRUE(wait_until([&] { return files_in(shadow_).size() == 1; }, 5s)) << host_->log();
  EXPECT_EQ(body_of(port_), "version v1\n");
}

TEST_F(HotSwap, ASlowRequestInFlightFinishesOnTheOldVersion) {
  start("version");
  ASSERT_EQ(body_of(port_), "version v1\n") << host_->log();
  Client slow(port_, 15s);
  auto sent = std::chrono::steady_clock::now();
  ASSERT_TRUE(slow.send("GET /?ms=6000 HTTP/1.1\r\nHost: a\r\n\r\n"));
  deploy_by_rename(app_library("version_v2"), lib_);
  ASSERT_TRUE(serves("version v2\n")) << host_->log();
  EXPECT_LT(std::chrono::steady_clock::now() - sent, 6000ms) << "the swap waited for the request";
  EXPECT_TRUE(log_has("generation 1 finishes its 1 request(s) in flight")) << host_->log();
  EXPECT_FALSE(log_has("generation 1 shut down")) << host_->log();

  auto r = slow.read_response();
  ASSERT_TRUE(r) << host_->log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "version v1\n");
  EXPECT_TRUE(wait_until([&] { return log_has("generation 1 shut down and unloaded"); }))
      << host_->log();
  EXPECT_TRUE(wait_until([&] { return files_in(shadow_).size() == 1; })) << host_->log();
  EXPECT_FALSE(log_has("aborting them")) << host_->log();
  // The keep-alive connection goes on, now on the new version.
  ASSERT_TRUE(slow.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto next = slow.read_response();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "version v2\n");
}

TEST_F(HotSwap, ARequestOutlivingShutdownTimeLimitIsAbortedBeforeTheUnload) {
  auto record = dir_ / "aborts.txt";
  start("abort_probe", "shutdown_time_limit = \"1s\"\nenvironment = { ABORT_PROBE_FILE = \"" +
                           record.string() + "\" }\n");
  Client c(port_, 15s);
  ASSERT_TRUE(c.send("GET /wait?ms=30000 HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(wait_until([&] {
    return read_file(record).find("started /wait?ms=30000") != std::string::npos;
  })) << host_->log();

  deploy_by_rename(app_library("hello"), lib_);
  // (Not by asking: a request to the probe would hang on the old version.)
  ASSERT_TRUE(wait_until([&] { return log_has("hot swap: generation 2 serves"); }, 10s))
      << host_->log();
  auto swapped = std::chrono::steady_clock::now();
  EXPECT_EQ(body_of(port_), "Hello, World!");
  // The app hears about it through its abort callback, then the old version is unloaded.
  ASSERT_TRUE(wait_until(
      [&] { return read_file(record).find("aborted /wait?ms=30000") != std::string::npos; }, 5s))
      << read_file(record) << host_->log();
  EXPECT_GE(std::chrono::steady_clock::now() - swapped, 500ms);
  auto r = c.read_response();
  ASSERT_TRUE(r) << host_->log();
  EXPECT_EQ(r->status, 503);
  EXPECT_TRUE(wait_until([&] { return log_has("generation 1 shut down and unloaded"); }))
      << host_->log();
  std::string log = host_->log();
  EXPECT_NE(log.find("1 request(s) still running on generation 1 after shutdown_time_limit"),
            std::string::npos)
      << log;
  // Aborted first, unloaded after.
  EXPECT_LT(log.find("aborting them"), log.find("generation 1 shut down and unloaded")) << log;
  EXPECT_TRUE(wait_until([&] { return files_in(shadow_).size() == 1; })) << host_->log();
}

// handler.h: views stay valid until the app finishes the request. An aborted request (its
// client got the 503) is still the app's: views it took before the abort and ones it takes after
// must still show its own request, while other requests reuse the front end's pooled request
// state and buffers.
TEST_F(HotSwap, AnAbortedRequestsViewsStayItsOwnUntilTheAppFinishes) {
  auto record = dir_ / "views.txt";
  start("view_probe", "shutdown_time_limit = \"1s\"\nenvironment = { VIEW_PROBE_FILE = \"" +
                          record.string() + "\" }\n");
  Client c(port_, 15s);
  ASSERT_TRUE(c.send(
      "GET /held/path-one?q=query-one HTTP/1.1\r\nHost: host-one\r\nX-Probe: value-one\r\n\r\n"));
  ASSERT_TRUE(wait_until([&] {
    return read_file(record).find("started /held/path-one?q=query-one") != std::string::npos;
  })) << host_->log();
  sockaddr_storage mine{};
  socklen_t len = sizeof mine;
  ASSERT_EQ(getsockname(c.fd(), reinterpret_cast<sockaddr*>(&mine), &len), 0);
  const int my_port = ntohs(reinterpret_cast<sockaddr_in*>(&mine)->sin_port);

  deploy_by_rename(app_library("hello"), lib_);
  ASSERT_TRUE(wait_until([&] { return log_has("hot swap: generation 2 serves"); }, 10s))
      << host_->log();
  ASSERT_TRUE(wait_until(
      [&] { return read_file(record).find("aborted /held/path-one") != std::string::npos; }, 5s))
      << read_file(record) << host_->log();
  auto r = c.read_response();
  ASSERT_TRUE(r) << host_->log();
  EXPECT_EQ(r->status, 503);
  // Other requests meanwhile: they take the pooled request state and buffers the aborted one
  // would have given back.
  for (int i = 0; i < 4; ++i) {
    Client other(port_);
    ASSERT_TRUE(
        other.send("GET /zzzzzzzzzzzzzzzzzz/other?x=other-query HTTP/1.1\r\nHost: other-host-xx\r\n"
                   "X-Other: other-value-xxxxxxxxxxxxxxxx\r\nX-More: more\r\n\r\n"));
    auto o = other.read_response();
    ASSERT_TRUE(o) << host_->log();
    EXPECT_EQ(o->body, "Hello, World!");
  }
  dir_.write("views.txt.go", "");
  ASSERT_TRUE(
      wait_until([&] { return read_file(record).find("\nlate ") != std::string::npos; }, 10s))
      << read_file(record) << host_->log();
  const std::string views =
      "method=GET target=/held/path-one?q=query-one path_base= path=/held/path-one "
      "query=q=query-one protocol=HTTP/1.1 host=host-one cert=0 remote_port=" +
      std::to_string(my_port) + " local_port=" + std::to_string(port_) +
      " tls=0 content_length=-1 headers=2 [Host: host-one] [X-Probe: value-one]\n";
  std::string text = read_file(record);
  EXPECT_NE(text.find("early " + views), std::string::npos) << text;
  EXPECT_NE(text.find("late " + views), std::string::npos) << text;
  // The app finished it: the old generation goes.
  EXPECT_TRUE(wait_until([&] { return log_has("generation 1 shut down and unloaded"); }))
      << host_->log();
}

TEST_F(HotSwap, ADeletedLibraryKeepsTheRunningVersion) {
  start("version");
  ASSERT_EQ(body_of(port_), "version v1\n") << host_->log();
  fs::remove(lib_);
  ASSERT_TRUE(wait_until([&] { return log_has("is gone; generation 1 keeps serving"); }))
      << host_->log();
  EXPECT_EQ(body_of(port_), "version v1\n");
  deploy_by_rename(app_library("version_v2"), lib_);
  EXPECT_TRUE(serves("version v2\n")) << host_->log();
}

TEST_F(HotSwap, AFailedFirstStartRecoversWhenAGoodBuildIsDeployed) {
  start("fails_init");
  auto r = http_request(port_, "GET", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  write_in_place(lib_, read_file(app_library("version_v2")));
  EXPECT_TRUE(serves("version v2\n")) << host_->log();
  EXPECT_TRUE(log_has("changed since the failed start")) << host_->log();
  EXPECT_EQ(host_->log().find("500.33"), std::string::npos) << host_->log();
}

// `sitehost ctl reload SITE` (Site::reload): the same swap, without a file change.
TEST_F(HotSwap, CtlReloadSwapsInAFreshInstance) {
  start("version", "", "admin = \"" + (dir_ / "admin.sock").string() + "\"\n");
  ASSERT_EQ(body_of(port_), "version v1\n") << host_->log();
  auto ctl = [&](const std::vector<std::string>& words) {
    std::vector<std::string> argv = {sitehost_binary().string(), "ctl", "-c",
                                     host_->config_path().string()};
    argv.insert(argv.end(), words.begin(), words.end());
    Process p(argv, dir_ / "ctl.out");
    auto status = p.wait_exit(10s);
    EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << p.output();
    return p.output();
  };
  EXPECT_NE(ctl({"reload", "app"}).find("reloading"), std::string::npos);
  ASSERT_TRUE(wait_until([&] { return log_has("hot swap: generation 2 serves"); })) << host_->log();
  EXPECT_TRUE(log_has("site app: reload requested")) << host_->log();
  EXPECT_EQ(body_of(port_), "version v1\n");
  EXPECT_TRUE(wait_until([&] { return log_has("generation 1 shut down and unloaded"); }))
      << host_->log();
  std::string status = ctl({"status"});
  EXPECT_NE(status.find("\"generation\":2"), std::string::npos) << status;
  EXPECT_NE(status.find("\"swaps\":1"), std::string::npos) << status;
  EXPECT_NE(status.find("\"last_error\":null"), std::string::npos) << status;
}

}  // namespace
}  // namespace sitehost::test
