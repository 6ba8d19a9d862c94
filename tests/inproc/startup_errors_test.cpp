// Loader and startup failures over HTTP: each answers its IIS-style status with a page naming
// the code, logs why once, and stays failed (cheaply) until the library file changes.
#include <gtest/gtest.h>
#include <sitehost/handler.h>

#include "tests/inproc/inproc_test_util.h"

namespace sitehost::test {
namespace {

class StartupErrors : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    port_ = free_port();
    auto arm64 = craft_elf(app_library("hello"), *dir_ / "arm64.so", 0, EM_AARCH64);
    auto x86 = craft_elf(app_library("hello"), *dir_ / "x86.so", ELFCLASS32, EM_386);
    host_ = std::make_unique<Sitehost>(
        *dir_, inproc_config(port_, dir_->path(),
                             {
                                 {"missing", "/missing", dir_->path() / "nope.so", ""},
                                 {"arm64", "/arm64", arm64, ""},
                                 {"x86", "/x86", x86, ""},
                                 {"pie", "/pie", apps_dir() / "plain_executable", ""},
                                 {"exe", "/exe", apps_dir() / "plain_executable_nopie", ""},
                                 {"entry", "/entry", app_library("missing_entry"), ""},
                                 {"abi", "/abi", app_library("abi_mismatch"), ""},
                                 {"fails", "/fails", app_library("fails_init"), ""},
                                 {"hangs", "/hangs", app_library("hangs_init"),
                                  "startup_time_limit = \"1s\"\n"},
                                 {"hello", "/hello", app_library("hello"), ""},
                             }));
    ASSERT_TRUE(host_->wait_listening(port_)) << host_->log();
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(host_->stop(), 0) << host_->log();
    host_.reset();
    dir_.reset();
  }

  static Response get(const std::string& path) {
    auto r = http_request(port_, "GET", path);
    EXPECT_TRUE(r) << path;
    return r ? *r : Response{};
  }
  static bool page_has(const Response& r, const std::string& text) {
    return r.body.find(text) != std::string::npos;
  }

  static std::unique_ptr<TempDir> dir_;
  static uint16_t port_;
  static std::unique_ptr<Sitehost> host_;
};

std::unique_ptr<TempDir> StartupErrors::dir_;
uint16_t StartupErrors::port_;
std::unique_ptr<Sitehost> StartupErrors::host_;

TEST_F(StartupErrors, MissingLibraryIs500_38) {
  auto r = get("/missing/");
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(page_has(r, "500.38")) << r.body;
  EXPECT_TRUE(page_has(r, "application library not found")) << r.body;
  EXPECT_TRUE(page_has(r, "nope.so")) << r.body;
}

TEST_F(StartupErrors, WrongMachineIs500_32AndSaysWhatWasExpected) {
  auto r = get("/arm64/x");
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(page_has(r, "500.32")) << r.body;
  EXPECT_TRUE(page_has(r, "aarch64")) << r.body;
  EXPECT_TRUE(page_has(r, "64-bit little-endian x86-64")) << r.body;
}

TEST_F(StartupErrors, WrongClassIs500_32) {
  auto r = get("/x86/");
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(page_has(r, "500.32")) << r.body;
  EXPECT_TRUE(page_has(r, "32-bit")) << r.body;
}

TEST_F(StartupErrors, ExecutablesAre500_33) {
  auto pie = get("/pie/");
  EXPECT_EQ(pie.status, 500);
  EXPECT_TRUE(page_has(pie, "500.33")) << pie.body;
  EXPECT_TRUE(page_has(pie, "position-independent executable")) << pie.body;
  auto exe = get("/exe/");
  EXPECT_EQ(exe.status, 500);
  EXPECT_TRUE(page_has(exe, "500.33")) << exe.body;
  EXPECT_TRUE(page_has(exe, "not a shared library")) << exe.body;
}

TEST_F(StartupErrors, MissingEntryPointsAre500_33NamingTheSymbol) {
  auto r = get("/entry/");
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(page_has(r, "500.33")) << r.body;
  EXPECT_TRUE(page_has(r, "sitehost_handler_request")) << r.body;
}

TEST_F(StartupErrors, AbiMismatchIs500_33NamingTheVersions) {
  auto r = get("/abi/");
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(page_has(r, "500.33")) << r.body;
  EXPECT_TRUE(page_has(r, "2.0")) << r.body;
  EXPECT_TRUE(page_has(r, "1." + std::to_string(SITEHOST_HANDLER_ABI_MINOR))) << r.body;
}

TEST_F(StartupErrors, InitFailureIs500_30WithWhatTheAppWroteToStderr) {
  auto r = get("/fails/");
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(page_has(r, "500.30")) << r.body;
  EXPECT_TRUE(page_has(r, "missing setting ORDERS_DB")) << r.body;  // init's error message
  EXPECT_TRUE(page_has(r, "cannot open database &#39;orders&#39;")) << r.body;  // its stderr
  EXPECT_TRUE(page_has(r, "fails_init: giving up")) << r.body;                  // what it logged
  // The stderr line still reached the real stderr (the tee loses nothing).
  EXPECT_TRUE(wait_until(
      [] { return host_->log().find("fails_init: cannot open database") != std::string::npos; }));
}

TEST_F(StartupErrors, AFailedAppStaysFailedAndIsNotRestartedPerRequest) {
  auto first = get("/fails/a");
  for (int i = 0; i < 5; ++i) {
    auto again = get("/fails/b");
    EXPECT_EQ(again.status, 500);
    EXPECT_TRUE(page_has(again, "500.30"));
  }
  std::string log = host_->log();
  size_t starts = 0;
  for (size_t at = 0; (at = log.find("site fails: starting", at)) != std::string::npos; ++at)
    ++starts;
  EXPECT_EQ(starts, 1u) << log;
  EXPECT_NE(log.find("site fails: app failed to start (500.30)"), std::string::npos) << log;
}

TEST_F(StartupErrors, InitNotReturningInTimeIs500_37) {
  auto started = std::chrono::steady_clock::now();
  auto r = get("/hangs/");
  auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(page_has(r, "500.37")) << r.body;
  EXPECT_TRUE(page_has(r, "startup_time_limit")) << r.body;
  EXPECT_TRUE(page_has(r, "hangs_init: waiting")) << r.body;  // stderr captured until the limit
  EXPECT_GE(waited, 900ms);
  EXPECT_LT(waited, 5s);
  // And it stays failed, answering at once.
  started = std::chrono::steady_clock::now();
  auto again = get("/hangs/");
  EXPECT_TRUE(page_has(again, "500.37"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 900ms);
}

TEST_F(StartupErrors, OtherSitesServeWhileSomeFail) {
  auto r = get("/hello/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "Hello, World!");
}

// A failed library is started again once its file has changed and settled.
TEST(StartupRecovery, AReplacedLibraryIsLoadedAgain) {
  TempDir dir;
  uint16_t port = free_port();
  auto lib = dir.write("lib/app.so", read_file(app_library("fails_init")));
  Sitehost host(dir, inproc_config(port, dir.path(), {{"app", "/", lib, ""}}));
  ASSERT_TRUE(host.wait_listening(port)) << host.log();
  auto r = http_request(port, "GET", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  // Deploy a working build the safe way (write aside, rename over).
  auto fresh = dir.write("lib/app.so.new", read_file(app_library("hello")));
  std::filesystem::rename(fresh, lib);
  EXPECT_TRUE(wait_until(
      [&] {
        auto again = http_request(port, "GET", "/");
        return again && again->status == 200 && again->body == "Hello, World!";
      },
      20s))  // a TSan build on a loaded machine once needed more than 5 s for the new start
      << host.log();
  EXPECT_NE(host.log().find("changed since the failed start"), std::string::npos);
  EXPECT_EQ(host.stop(), 0) << host.log();
}

TEST(StartupRecovery, DetailsAreHiddenWithoutDetailedErrors) {
  TempDir dir;
  uint16_t port = free_port();
  Sitehost host(dir, inproc_config(port, dir.path(), {{"app", "/", app_library("fails_init"), ""}},
                                   "detailed_errors = false\n"));
  ASSERT_TRUE(host.wait_listening(port)) << host.log();
  auto r = http_request(port, "GET", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_NE(r->body.find("500.30"), std::string::npos) << r->body;
  EXPECT_EQ(r->body.find("ORDERS_DB"), std::string::npos) << r->body;
  EXPECT_EQ(r->body.find("cannot open database"), std::string::npos) << r->body;
  // The log still says why.
  EXPECT_NE(host.log().find("missing setting ORDERS_DB"), std::string::npos) << host.log();
  EXPECT_EQ(host.stop(), 0);
}

}  // namespace
}  // namespace sitehost::test
