// `sitehost import` on the web.config that `dotnet publish` generated for the test app: the
// printed [[site]] table, behind a [server] table, runs the app and serves it.
#include <gtest/gtest.h>

#include <string>

#include "tests/aspnetcore/aspnetcore_fixture.h"
#include "tests/support/site_config.h"

namespace sitehost::test {
namespace {

TEST_F(AspNetCore, PublishedWebConfigImportsAndRuns) {
  std::error_code ec;
  std::filesystem::copy(aspnetcore_build("v1"), app_dir(), std::filesystem::copy_options::recursive,
                        ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(std::filesystem::exists(app_dir() / "web.config"));
  // stdout (the TOML) and stderr (the warnings) apart.
  std::string command = sitehost_binary().string() + " import " +
                        (app_dir() / "web.config").string() + " --name imported --binding " +
                        "http://127.0.0.1:" + std::to_string(http_port_) + " >" +
                        (dir_ / "site.toml").string() + " 2>" + (dir_ / "import.err").string();
  ProgramResult r = run_program({"/bin/sh", "-c", command}, dir_ / "import.out");
  ASSERT_EQ(r.exit_code, 0) << read_file(dir_ / "import.err");
  std::string site = read_file(dir_ / "site.toml");
  std::string warnings = read_file(dir_ / "import.err");
  EXPECT_NE(site.find("[[site]]"), std::string::npos) << site;
  EXPECT_NE(site.find("SiteApp.dll"), std::string::npos) << site;
  EXPECT_EQ(site.find(".\\\\"), std::string::npos) << "a Windows path survived:\n" << site;
  // hostingModel="inprocess" (the publish default) runs out of process, and says why.
  EXPECT_NE(warnings.find("web.config:"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("inprocess"), std::string::npos) << warnings;

  server_ = std::make_unique<Sitehost>(dir_, "[server]\ndetailed_errors = true\n\n" + site);
  ASSERT_TRUE(server_->wait_listening(http_port_)) << server_->log();
  auto hello = request("GET", "/");
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->status, 200) << hello->body << server_->log();
  EXPECT_EQ(hello->body, "Hello from ASP.NET Core\n");
  EXPECT_GT(app_pid(), 0);
}

}  // namespace
}  // namespace sitehost::test
