// The environment an out-of-process child starts with: ANCM's variables for Kestrel's IIS
// integration, and who wins when sitehost's environment, the site's and ANCM's rules disagree.
#include "proxy/child_environment.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace sitehost::proxy {
namespace {

std::optional<std::string> value_of(const std::vector<std::string>& env, const std::string& name) {
  for (const std::string& e : env)
    if (e.compare(0, name.size() + 1, name + "=") == 0) return e.substr(name.size() + 1);
  return std::nullopt;
}

std::vector<std::string> environment(const SiteConfig& config, std::vector<const char*> inherited,
                                     uint16_t https_port = 0) {
  inherited.push_back(nullptr);
  return child_base_environment(config, const_cast<char**>(inherited.data()), https_port);
}

TEST(ChildEnvironment, CarriesWhatKestrelsIisIntegrationReads) {
  SiteConfig config;
  auto env = environment(config, {"PATH=/usr/bin", "HOME=/root"}, 8443);
  EXPECT_EQ(value_of(env, "PATH"), "/usr/bin");
  EXPECT_EQ(value_of(env, "ASPNETCORE_IIS_HTTPAUTH"), "anonymous;");
  EXPECT_EQ(value_of(env, "ASPNETCORE_IIS_WEBSOCKETS_SUPPORTED"), "true");
  EXPECT_EQ(value_of(env, "ASPNETCORE_HOSTINGSTARTUPASSEMBLIES"),
            "Microsoft.AspNetCore.Server.IISIntegration");
  EXPECT_EQ(value_of(env, "ASPNETCORE_ANCM_HTTPS_PORT"), "8443");
  EXPECT_FALSE(value_of(environment(config, {}), "ASPNETCORE_ANCM_HTTPS_PORT"));
}

TEST(ChildEnvironment, HostingStartupIsAppendedOnce) {
  SiteConfig config;
  auto env = environment(config, {"ASPNETCORE_HOSTINGSTARTUPASSEMBLIES=Company.Telemetry"});
  EXPECT_EQ(value_of(env, "ASPNETCORE_HOSTINGSTARTUPASSEMBLIES"),
            "Company.Telemetry;Microsoft.AspNetCore.Server.IISIntegration");
  config.environment["ASPNETCORE_HOSTINGSTARTUPASSEMBLIES"] =
      "A; microsoft.aspnetcore.server.iisintegration ;B";
  env = environment(config, {"ASPNETCORE_HOSTINGSTARTUPASSEMBLIES=Company.Telemetry"});
  EXPECT_EQ(value_of(env, "ASPNETCORE_HOSTINGSTARTUPASSEMBLIES"),
            "A; microsoft.aspnetcore.server.iisintegration ;B");
}

TEST(ChildEnvironment, TheSiteWinsOverSitehostAndAncmDefaults) {
  SiteConfig config;
  config.environment["ASPNETCORE_IIS_WEBSOCKETS_SUPPORTED"] = "false";
  config.environment["ASPNETCORE_ANCM_HTTPS_PORT"] = "9443";
  config.environment["GREETING"] = "site";
  auto env = environment(
      config,
      {"GREETING=sitehost", "ASPNETCORE_IIS_HTTPAUTH=windows;", "ASPNETCORE_ANCM_HTTPS_PORT=1"},
      8443);
  EXPECT_EQ(value_of(env, "GREETING"), "site");
  EXPECT_EQ(value_of(env, "ASPNETCORE_IIS_WEBSOCKETS_SUPPORTED"), "false");
  EXPECT_EQ(value_of(env, "ASPNETCORE_ANCM_HTTPS_PORT"), "9443");
  // sitehost's own environment does not decide what the app authenticates.
  EXPECT_EQ(value_of(env, "ASPNETCORE_IIS_HTTPAUTH"), "anonymous;");
  EXPECT_EQ(std::count_if(env.begin(), env.end(),
                          [](const std::string& e) { return e.rfind("GREETING=", 0) == 0; }),
            1);
}

TEST(ChildEnvironment, UrlsAreLeftToTheSlotUnlessTheSiteSetsThem) {
  SiteConfig config;
  auto env = environment(config, {"ASPNETCORE_URLS=http://*:80"});
  EXPECT_FALSE(value_of(env, "ASPNETCORE_URLS"));
  config.environment["ASPNETCORE_URLS"] = "http://127.0.0.1:5005";
  env = environment(config, {"ASPNETCORE_URLS=http://*:80"});
  EXPECT_EQ(value_of(env, "ASPNETCORE_URLS"), "http://127.0.0.1:5005");
}

TEST(ChildEnvironment, PerChildVariablesAreLeftToTheSlot) {
  SiteConfig config;
  config.environment["ASPNETCORE_TOKEN"] = "from-the-site";
  auto env = environment(config, {"ASPNETCORE_PORT=1234", "ASPNETCORE_APPL_PATH=/x"});
  EXPECT_FALSE(value_of(env, "ASPNETCORE_TOKEN"));
  EXPECT_FALSE(value_of(env, "ASPNETCORE_PORT"));
  EXPECT_FALSE(value_of(env, "ASPNETCORE_APPL_PATH"));
}

}  // namespace
}  // namespace sitehost::proxy
