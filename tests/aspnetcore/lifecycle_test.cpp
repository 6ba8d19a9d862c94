// The app's lifetime behind sitehost: request_timeout, client disconnects reaching
// RequestAborted (ANCM's out-of-process mode never tells the app: dotnet/aspnetcore#54936), and
// graceful stop and redeploy (SIGTERM, a config reload, app_offline.htm, publishing a new build):
// in-flight requests finish, the app's ApplicationStopping code runs, and a steady load sees no
// failed request.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>

#include "tests/aspnetcore/aspnetcore_fixture.h"
#include "tests/proxy/proxy_test_util.h"  // process_exited
#include "tests/support/load.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kHelloRequest = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

class AspNetCoreLifecycle : public AspNetCore {
 protected:
  fs::path stopping_file() const { return dir_ / "stopping"; }
  Site site_with_stopping_file(Site site = {}) const {
    site.environment["SITEAPP_STOPPING_FILE"] = stopping_file().string();
    return site;
  }
  // Whether the app's ApplicationStopping handler ran in process `pid`.
  bool stopping_ran(long pid) const {
    return read_file(stopping_file()).find("stopping " + std::to_string(pid) + "\n") !=
           std::string::npos;
  }
  // A request in flight on its own connection (/slow?ms=MS); its response comes from the future.
  std::future<std::optional<Response>> slow_request(int ms) {
    auto c = std::make_shared<Client>(http_port_, 30s);
    c->send("GET /slow?ms=" + std::to_string(ms) + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
    return std::async(std::launch::async, [c] { return c->read_response(); });
  }
  std::unique_ptr<KeepAliveLoad> load(KeepAliveLoad::Check check) {
    return std::make_unique<KeepAliveLoad>(
        [this] { return std::make_unique<Client>(http_port_, 20s); }, kHelloRequest,
        std::move(check), 2);
  }
  static std::string hello_or(const Response& r, int other_status = 0) {
    if (r.status == 200 && r.body == "Hello from ASP.NET Core\n") return {};
    if (other_status && r.status == other_status) return {};
    return "status " + std::to_string(r.status) + ": " + r.body.substr(0, 200);
  }
  // Waits (bounded) until the load has sent `more` requests beyond what it had sent.
  static bool load_advances(const KeepAliveLoad& l, long more = 50) {
    long from = l.sent();
    return wait_until([&] { return l.sent() >= from + more; }, 20s);
  }
};

TEST_F(AspNetCoreLifecycle, RequestTimeoutIs5023OnTheSlowEndpoint) {
  ASSERT_NO_FATAL_FAILURE(start({.keys = {{"request_timeout", "\"2s\""}}}));
  ASSERT_GT(app_pid(), 0);
  auto r = request("GET", "/slow?ms=30000");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_NE(r->body.find("502.3"), std::string::npos) << r->body;
  auto after = request("GET", "/");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);  // the app is still up
}

TEST_F(AspNetCoreLifecycle, ClientDisconnectFiresRequestAborted) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  ASSERT_GT(app_pid(), 0);
  for (int i = 1; i <= 2; ++i) {
    {
      Client c(http_port_);
      ASSERT_TRUE(c.send("GET /hang HTTP/1.1\r\nHost: localhost\r\n\r\n"));
      // The request reached the app before the client leaves: wait for the app to count it.
      ASSERT_TRUE(wait_until([&] {
        auto r = request("GET", "/hanging");
        return r && r->body == "1\n";
      })) << server().log();
    }  // the client goes away mid-request
    EXPECT_TRUE(wait_until([&] {
      auto r = request("GET", "/aborted");
      return r && r->body == std::to_string(i) + "\n";
    })) << "RequestAborted did not fire";
  }
}

TEST_F(AspNetCoreLifecycle, SigtermFinishesInFlightAndRunsApplicationStopping) {
  ASSERT_NO_FATAL_FAILURE(start(site_with_stopping_file()));
  long pid = app_pid();
  ASSERT_GT(pid, 0);
  auto in_flight = slow_request(1500);
  ASSERT_TRUE(wait_until([&] {
    auto r = request("GET", "/hanging");
    return r && r->body == "1\n";
  })) << server().log();
  server().process().signal(SIGTERM);
  auto r = in_flight.get();
  ASSERT_TRUE(r) << server().log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "slow done\n");
  EXPECT_EQ(server().process().wait_exit(30s), 0) << server().log();
  EXPECT_TRUE(stopping_ran(pid)) << read_file(stopping_file()) << server().log();
  EXPECT_NE(server().log().find("ApplicationStopping ran"), std::string::npos);
}

TEST_F(AspNetCoreLifecycle, ReloadReplacesTheAppWithoutAFailedRequest) {
  Site site = site_with_stopping_file();
  ASSERT_NO_FATAL_FAILURE(start(site));
  long old_pid = app_pid();
  ASSERT_GT(old_pid, 0);
  auto l = load([](const Response& r) { return hello_or(r); });
  ASSERT_TRUE(load_advances(*l));
  auto in_flight = slow_request(1500);
  site.environment["SITEAPP_GENERATION"] = "2";  // a changed site: a new process
  server().rewrite_config(config(site));
  server().process().signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return stopping_ran(old_pid); }, 30s)) << server().log();
  ASSERT_TRUE(load_advances(*l));
  l->stop();
  EXPECT_EQ(l->failed(), 0) << l->errors();
  auto r = in_flight.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(app_pid(), old_pid);
  std::cout << "reload under load: " << l->sent() << " requests, " << l->failed() << " failed\n";
}

TEST_F(AspNetCoreLifecycle, AppOfflineStopsTheProcessUntilRemoved) {
  ASSERT_NO_FATAL_FAILURE(start(site_with_stopping_file()));
  long old_pid = app_pid();
  ASSERT_GT(old_pid, 0);
  const std::string offline_page = "<html>down for maintenance</html>";
  auto l = load([&](const Response& r) {
    if (r.status == 503 && r.body == offline_page) return std::string();
    return hello_or(r);
  });
  ASSERT_TRUE(load_advances(*l));
  auto in_flight = slow_request(1500);
  ASSERT_TRUE(wait_until([&] {
    auto r = request("GET", "/hanging");
    return r && r->body == "1\n";
  }));
  std::ofstream(app_dir() / "app_offline.htm") << offline_page;
  // The dotnet process stops (its files may now be replaced), after its in-flight request.
  EXPECT_TRUE(wait_until([&] { return process_exited(old_pid); }, 30s)) << server().log();
  EXPECT_TRUE(stopping_ran(old_pid));
  auto r = in_flight.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto offline = request("GET", "/");
  ASSERT_TRUE(offline);
  EXPECT_EQ(offline->status, 503);
  fs::remove(app_dir() / "app_offline.htm");
  EXPECT_TRUE(wait_until(
      [&] {
        auto back = request("GET", "/");
        return back && back->status == 200;
      },
      30s));
  ASSERT_TRUE(load_advances(*l));
  l->stop();
  EXPECT_EQ(l->failed(), 0) << l->errors();
  EXPECT_NE(app_pid(), old_pid);
  std::cout << "app_offline under load: " << l->sent() << " requests, " << l->failed()
            << " failed\n";
}

// Publishing the second build over the running one, file by file the way deploy tools do (each
// file written beside and renamed over), under load: sitehost starts the new build beside the
// old one and switches over once it answers.
TEST_F(AspNetCoreLifecycle, PublishingANewBuildFailsNoRequest) {
  ASSERT_NO_FATAL_FAILURE(start(site_with_stopping_file()));
  long old_pid = app_pid();
  ASSERT_GT(old_pid, 0);
  auto v = request("GET", "/version");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->body, "v1\n");
  auto l = load([](const Response& r) { return hello_or(r); });
  ASSERT_TRUE(load_advances(*l));
  for (const auto& e : fs::recursive_directory_iterator(aspnetcore_build("v2"))) {
    if (!e.is_regular_file()) continue;
    fs::path target = app_dir() / fs::relative(e.path(), aspnetcore_build("v2"));
    fs::create_directories(target.parent_path());
    fs::copy_file(e.path(), target.string() + ".new", fs::copy_options::overwrite_existing);
    fs::rename(target.string() + ".new", target);
  }
  EXPECT_TRUE(wait_until(
      [&] {
        auto r = request("GET", "/version");
        return r && r->body == "v2\n";
      },
      60s))
      << server().log();
  EXPECT_TRUE(wait_until([&] { return stopping_ran(old_pid); }, 30s));
  ASSERT_TRUE(load_advances(*l));
  l->stop();
  EXPECT_EQ(l->failed(), 0) << l->errors();
  app_pid();
  std::cout << "redeploy under load: " << l->sent() << " requests, " << l->failed() << " failed\n";
}

}  // namespace
}  // namespace sitehost::test
