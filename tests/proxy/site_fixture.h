// Fixture for driving the out-of-process Site directly (no front end): a libuv loop in the test
// thread, a temp folder as physical_path, python child servers from tests/proxy/children, and
// after every test: the site stopped, the loop closed cleanly, and no child process left.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <uv.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "proxy/proxy_site.h"
#include "shared/log/logger.h"
#include "tests/proxy/fake_exchange.h"
#include "tests/proxy/proxy_test_util.h"

namespace sitehost::proxy::test {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

using sitehost::test::children_dir;
using sitehost::test::has_header;
using sitehost::test::json_int;
using sitehost::test::json_str;
using sitehost::test::process_exited;
using sitehost::test::process_gone;

inline std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);  // polling a condition nothing notifies us about
  }
  return true;
}

class ProxySiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    std::string templ = (fs::temp_directory_path() / "sitehost-proxy-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    app_ = dir_ / "app";
    fs::create_directories(app_);
    ASSERT_EQ(log_.configure((dir_ / "error.log").string(), "", LogLevel::kDebug), "");
    config_.name = "app";
    config_.physical_path = app_;
    config_.hosting_model = HostingModel::kOutOfProcess;
    config_.process_path = "/usr/bin/python3";
    config_.arguments = {(children_dir() / "echo.py").string()};
    config_.request_timeout = 20s;
    config_.startup_time_limit = 20s;
    config_.shutdown_time_limit = 3s;
    config_.stdout_log_file = app_ / "logs" / "stdout";
  }

  void TearDown() override {
    stop_site();
    // Close the loop: every handle must have been closed by the site.
    auto deadline = std::chrono::steady_clock::now() + 5s;
    int r = UV_EBUSY;
    while (std::chrono::steady_clock::now() < deadline) {
      uv_run(&loop_, UV_RUN_NOWAIT);
      r = uv_loop_close(&loop_);
      if (r == 0) break;
      std::this_thread::sleep_for(1ms);
    }
    EXPECT_EQ(r, 0) << "handles left open on the loop";
    if (r != 0)
      uv_walk(
          &loop_,
          [](uv_handle_t* h, void*) {
            ADD_FAILURE() << "open handle of type " << uv_handle_type_name(h->type);
          },
          nullptr);
    for (pid_t pid : pids())
      EXPECT_TRUE(wait_for([&] { return process_gone(pid); }, 5s)) << "child " << pid << " left";
    std::error_code ec;
    if (!HasFailure())
      fs::remove_all(dir_, ec);
    else
      std::fprintf(stderr, "kept %s for inspection\n", dir_.c_str());
  }

  ProxySite& site() {
    if (!site_) {
      context_ = SiteContext{&loop_, &log_, &server_};
      site_ = std::make_unique<ProxySite>(config_, context_);
    }
    return *site_;
  }

  void stop_site(std::chrono::milliseconds timeout = 30s) {
    if (!site_) return;
    bool stopped = false;
    site_->stop([&] { stopped = true; });
    EXPECT_TRUE(run_until(
        &loop_, [&] { return stopped; }, timeout))
        << "stop did not complete";
    site_.reset();
  }

  std::unique_ptr<FakeExchange> send(FakeExchange::Options o) {
    auto ex = std::make_unique<FakeExchange>(&loop_, config_, std::move(o));
    site().handle(*ex);
    return ex;
  }
  std::unique_ptr<FakeExchange> get(const std::string& target) {
    FakeExchange::Options o;
    o.target = target;
    return send(o);
  }
  bool wait(FakeExchange& ex, std::chrono::milliseconds timeout = 20s) {
    return run_until(
        &loop_, [&] { return ex.done(); }, timeout);
  }
  // A GET answered; the body returned.
  std::string fetch(const std::string& target) {
    auto ex = get(target);
    EXPECT_TRUE(wait(*ex)) << target;
    EXPECT_TRUE(ex->finished) << target << " → " << ex->error_status << " " << ex->error_detail;
    return ex->body;
  }

  std::vector<pid_t> pids() const {
    std::vector<pid_t> out;
    std::ifstream in(app_ / "pids");
    long pid;
    while (in >> pid) out.push_back(static_cast<pid_t>(pid));
    return out;
  }
  std::string error_log() const { return slurp(dir_ / "error.log"); }

  uv_loop_t loop_;
  fs::path dir_;
  fs::path app_;
  Logger log_;
  ServerConfig server_;
  SiteConfig config_;
  SiteContext context_;
  std::unique_ptr<ProxySite> site_;
};

}  // namespace sitehost::proxy::test
