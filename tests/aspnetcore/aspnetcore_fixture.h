// The ASP.NET Core suite's fixture: the published test app (tests/apps/aspnetcore, an ordinary
// `dotnet new web` app with no sitehost-specific code) copied into a site folder and run
// out-of-process behind the real sitehost binary the way IIS starts it: process_path = "dotnet",
// arguments = "SiteApp.dll". Real clients (curl, the harness's Client, TLS) on 127.0.0.1 / ::1.
// When dotnet is not on PATH every test skips with one line; when it is, a missing app build
// fails the test (tests/support/aspnetcore.h).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/aspnetcore.h"
#include "tests/support/harness.h"
#include "tests/support/tools.h"

namespace sitehost::test {

// The suite's certificates, made once with the openssl CLI: localhost.pem/.key (the https
// binding's), ca.pem/.key and client.pem/.key (CN=sitehost test client, signed by ca).
struct AspNetCoreCerts {
  AspNetCoreCerts();
  TempDir dir;
  bool ok = false;
  std::string error;
  std::filesystem::path operator/(const std::string& name) const { return dir / name; }
};

class AspNetCore : public ::testing::Test {
 protected:
  struct Site {
    std::string build = "v1";  // aspnetcore_build(): "v1", "v2" or "slim"
    std::string path = "/";    // the site's base path
    std::string process_path = "dotnet";
    // Default: the build's assembly (SiteApp.dll / SlimApp.dll); "" = no arguments.
    std::optional<std::string> arguments = {};
    bool https = false;                   // an https binding on https_port_ (localhost.pem)
    bool ipv6 = false;                    // a binding on [::1]:http_port_ too
    std::string client_certificate = {};  // "optional" / "required" on the https binding
    std::map<std::string, std::string> environment = {};
    std::map<std::string, std::string> keys = {};         // more [[site]] keys, TOML literals
    std::map<std::string, std::string> server_keys = {};  // more [server] keys, TOML literals
  };

  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  // Stops sitehost (exit code 0 expected) and checks that no process of the app is left.
  void TearDown() override;

  // Copies the build into app_dir(), writes the config and starts sitehost; waits until it
  // listens. The app itself starts on the first request (as under IIS).
  void start(const Site& site);
  std::string config(const Site& site) const;

  // curl on SCHEME://localhost:PORT + target (https: the suite's CA trusted); `args` go before
  // the URL. Bounded (30 s).
  CurlResult curl(const std::string& target, std::vector<std::string> args = {},
                  const std::string& scheme = "http");
  // One plain request on a fresh connection (Connection: close).
  std::optional<Response> request(const std::string& method, const std::string& target,
                                  const std::string& body = {},
                                  const std::vector<std::string>& headers = {});
  // The pid of the app process that answers now (GET <path>pid); -1 on failure. Every pid
  // seen is checked to be gone after the test.
  long app_pid(const std::string& base = "");

  std::filesystem::path app_dir() const { return dir_ / "app"; }
  Sitehost& server() { return *server_; }

  static std::unique_ptr<AspNetCoreCerts> certs_;
  TempDir dir_;
  uint16_t http_port_ = 0;
  uint16_t https_port_ = 0;
  std::unique_ptr<Sitehost> server_;
  std::vector<long> pids_;
};

// A value of the app's /whoami JSON: the string (or number, as text) after "key":, "" when
// absent; headers are under "headers".
std::string json_value(const std::string& json, const std::string& key);
// NAME's value in /proc/PID/environ; nullopt when absent or unreadable.
std::optional<std::string> process_environment(long pid, const std::string& name);

}  // namespace sitehost::test
