// An unmodified ASP.NET Core app started the way IIS starts it: the child environment Kestrel's
// IIS integration reads, the pairing token end to end, the path base, the published apphost,
// the slim builder integrated through the hosting-startup variable, start-up failures.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>

#include "tests/aspnetcore/aspnetcore_fixture.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;

TEST_F(AspNetCore, StartedAsIisStartsItWithTheIisIntegrationEnvironment) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  auto hello = request("GET", "/");
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->status, 200) << server().log();
  EXPECT_EQ(hello->body, "Hello from ASP.NET Core\n");
  long pid = app_pid();
  ASSERT_GT(pid, 0);
  auto port = process_environment(pid, "ASPNETCORE_PORT");
  ASSERT_TRUE(port);
  EXPECT_EQ(process_environment(pid, "ASPNETCORE_APPL_PATH"), "/");
  EXPECT_GE(process_environment(pid, "ASPNETCORE_TOKEN").value_or("").size(), 16u);
  EXPECT_EQ(process_environment(pid, "ASPNETCORE_IIS_HTTPAUTH"), "anonymous;");
  EXPECT_EQ(process_environment(pid, "ASPNETCORE_IIS_WEBSOCKETS_SUPPORTED"), "true");
  EXPECT_EQ(process_environment(pid, "ASPNETCORE_IIS_PHYSICAL_PATH"), app_dir().string());
  EXPECT_NE(process_environment(pid, "ASPNETCORE_HOSTINGSTARTUPASSEMBLIES")
                .value_or("")
                .find("Microsoft.AspNetCore.Server.IISIntegration"),
            std::string::npos);
  // Kestrel's start-up lines reach sitehost's log.
  EXPECT_TRUE(wait_until([&] {
    return server().log().find("Now listening on: http://127.0.0.1:" + *port) != std::string::npos;
  })) << server().log();
}

// The app's own IIS middleware checks the token: straight to the child's port it is 400.
TEST_F(AspNetCore, PairingTokenRefusesRequestsThatBypassSitehost) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  long pid = app_pid();
  ASSERT_GT(pid, 0);
  uint16_t port = static_cast<uint16_t>(std::stoi(*process_environment(pid, "ASPNETCORE_PORT")));
  std::string token = process_environment(pid, "ASPNETCORE_TOKEN").value_or("");
  auto direct = http_request(port, "GET", "/whoami");
  ASSERT_TRUE(direct);
  EXPECT_EQ(direct->status, 400);
  auto forged = http_request(port, "GET", "/whoami", {}, "localhost", {"MS-ASPNETCORE-TOKEN: x"});
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 400);
  auto with_token =
      http_request(port, "GET", "/whoami", {}, "localhost", {"MS-ASPNETCORE-TOKEN: " + token});
  ASSERT_TRUE(with_token);
  EXPECT_EQ(with_token->status, 200);  // the 400s were the token, nothing else
  // Through sitehost: a client's own token header is replaced, never passed on.
  auto through = request("GET", "/whoami", {}, {"MS-ASPNETCORE-TOKEN: forged"});
  ASSERT_TRUE(through);
  EXPECT_EQ(through->status, 200);
  EXPECT_EQ(through->body.find("forged"), std::string::npos) << through->body;
}

TEST_F(AspNetCore, PathBaseReachesTheAppAndItsLinks) {
  ASSERT_NO_FATAL_FAILURE(start({.path = "/app"}));
  auto r = request("GET", "/app/whoami?x=1");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << server().log();
  EXPECT_EQ(json_value(r->body, "pathBase"), "/app") << r->body;
  EXPECT_EQ(json_value(r->body, "path"), "/whoami") << r->body;
  EXPECT_EQ(json_value(r->body, "link").rfind("/app", 0), 0u) << r->body;
  EXPECT_EQ(app_pid("/app") > 0, true);
  auto outside = request("GET", "/whoami");
  ASSERT_TRUE(outside);
  EXPECT_EQ(outside->status, 404);  // no site there
}

TEST_F(AspNetCore, PublishedApphostExecutableRunsToo) {
  ASSERT_NO_FATAL_FAILURE(start({.process_path = "SiteApp", .arguments = ""}));
  auto r = request("GET", "/whoami");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << server().log();
  long pid = app_pid();
  ASSERT_GT(pid, 0);
  EXPECT_EQ(
      fs::read_symlink("/proc/" + std::to_string(pid) + "/exe").filename().string().find("dotnet"),
      std::string::npos);  // the apphost (it loads the runtime into itself)
}

// CreateSlimBuilder adds no IIS integration, and its SlimWebHostBuilder runs no hosting startups
// (so ANCM's ASPNETCORE_HOSTINGSTARTUPASSEMBLIES entry cannot turn it on: no token check, no
// path base). sitehost's ASPNETCORE_URLS makes it listen on the port handed over all the same.
TEST_F(AspNetCore, SlimBuilderAppListensOnThePortHandedOver) {
  ASSERT_NO_FATAL_FAILURE(start({.build = "slim"}));
  auto r = request("GET", "/whoami");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << server().log();
  EXPECT_EQ(json_value(r->body, "path"), "/whoami") << r->body;
  auto hello = request("GET", "/");
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->status, 200);
  long pid = app_pid();
  ASSERT_GT(pid, 0);
  EXPECT_EQ(process_environment(pid, "ASPNETCORE_URLS"),
            "http://127.0.0.1:" + process_environment(pid, "ASPNETCORE_PORT").value_or("?"));
}

TEST_F(AspNetCore, StartupExceptionIs5025WithItsTextAndStdoutLog) {
  ASSERT_NO_FATAL_FAILURE(start({.environment = {{"SITEAPP_THROW_AT_STARTUP", "1"}},
                                 .keys = {{"stdout_log_enabled", "true"},
                                          {"rapid_fails_per_minute", "1"},
                                          {"startup_time_limit", "\"30s\""}}}));
  auto r = request("GET", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502) << server().log();
  EXPECT_NE(r->body.find("502.5"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("SITEAPP_THROW_AT_STARTUP"), std::string::npos) << r->body;
  // The stdout log file (logs/stdout_<time>_<pid>.log) holds the .NET exception.
  std::regex name(R"(stdout_\d{14}_\d+\.log)");
  EXPECT_TRUE(wait_until([&] {
    std::error_code ec;
    for (auto& e : fs::directory_iterator(app_dir() / "logs", ec))
      if (std::regex_match(e.path().filename().string(), name) &&
          read_file(e.path()).find("System.InvalidOperationException") != std::string::npos)
        return true;
    return false;
  })) << server().log();
}

TEST_F(AspNetCore, StartupExceptionTextStaysHiddenWithoutDetailedErrors) {
  ASSERT_NO_FATAL_FAILURE(start({.environment = {{"SITEAPP_THROW_AT_STARTUP", "1"}},
                                 .keys = {{"rapid_fails_per_minute", "1"}},
                                 .server_keys = {{"detailed_errors", "false"}}}));
  auto r = request("GET", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(r->body.find("SITEAPP_THROW_AT_STARTUP"), std::string::npos) << r->body;
  // The log says why all the same.
  EXPECT_TRUE(wait_until([&] {
    return server().log().find("SITEAPP_THROW_AT_STARTUP") != std::string::npos;
  })) << server().log();
}

}  // namespace
}  // namespace sitehost::test
