#include "shared/config/config_loader.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace sitehost {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Every test gets a fresh folder holding the config file name, two site folders and a plain
// file. TOML texts are raw strings starting with a newline that does not count as a line.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "sitehost-config-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    fs::create_directories(dir_ / "app");
    fs::create_directories(dir_ / "other");
    std::ofstream(dir_ / "file.txt") << "x";
    file_ = (dir_ / "sitehost.toml").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  LoadResult parse(std::string_view text) {
    if (text.starts_with('\n')) text.remove_prefix(1);
    return parse_config(text, file_);
  }
  Config ok(std::string_view text) {
    LoadResult r = parse(text);
    EXPECT_EQ(r.error, "");
    EXPECT_TRUE(r.config.has_value());
    return r.config ? *r.config : Config{};
  }
  std::string error(std::string_view text) {
    LoadResult r = parse(text);
    EXPECT_FALSE(r.config.has_value());
    return r.error;
  }
  // FILE:LINE: KEY: MESSAGE
  std::string at(int line, std::string_view key, std::string_view message) {
    return file_ + ":" + std::to_string(line) + ": " + std::string(key) + ": " +
           std::string(message);
  }

  fs::path dir_;
  std::string file_;
};

// Site "a" as lines 1-6, for tests that append keys at line 7 or later.
constexpr std::string_view kSite = R"(
[[site]]
name = "a"
bindings = ["http://*:8080"]
physical_path = "app"
hosting_model = "inprocess"
handler = "lib/handler.so"
)";

// Out-of-process site "b" as lines 1-6.
constexpr std::string_view kProxySite = R"(
[[site]]
name = "b"
bindings = ["http://*:8080"]
physical_path = "app"
hosting_model = "outofprocess"
process_path = "bin/app"
)";

// Site "a" without bindings as lines 1-5: bindings go on line 6.
constexpr std::string_view kSiteNoBindings = R"(
[[site]]
name = "a"
physical_path = "app"
hosting_model = "inprocess"
handler = "h"
)";

// A site without a name as lines 1-5: the name goes on line 6.
constexpr std::string_view kSiteNoName = R"(
[[site]]
bindings = ["http://*:1"]
physical_path = "/tmp"
hosting_model = "inprocess"
handler = "h"
)";

std::string with(std::string_view base, std::string_view extra) {
  return std::string(base) + std::string(extra);
}

// ---------------------------------------------------------------------------------------------
// Valid configs

TEST_F(ConfigTest, FullConfigWithEveryKey) {
  Config c = ok(R"(
[server]
error_log = "logs/error.log"
access_log = "/var/log/sitehost/access.log"
log_level = "debug"
header_timeout = "10s"
keepalive_timeout = "2m"
max_connections = 500
max_request_line = "4KiB"
max_header_bytes = 32768
max_headers = 50
shutdown_timeout = "00:00:05"
detailed_errors = true

[[site]]
name = "shop"
bindings = ["http://shop.example.com:80", "http://[::1]:8080"]
path = "/store/"
physical_path = "app"
hosting_model = "InProcess"
max_allowed_content_length = "1MiB"
environment = { ASPNETCORE_ENVIRONMENT = "Production", EMPTY = "" }
startup_time_limit = "30s"
handler = "lib/shop.so"
allow_synchronous_io = true
max_request_body_size = 0

[[site]]
name = "api.v2"
bindings = ["http://localhost:9000"]
physical_path = "/tmp"
hosting_model = "outofprocess"
process_path = "/usr/bin/dotnet"
arguments = ["api.dll", "--urls", "http://a b"]
request_timeout = "00:05:00"
shutdown_time_limit = "0s"
rapid_fails_per_minute = 0
stdout_log_enabled = true
stdout_log_file = "/var/log/api/out"
processes = 4
preload = true
process_scheduling = "Normal"
environment.DOTNET_gcServer = "1"
)");
  EXPECT_EQ(c.file, fs::path(file_));
  EXPECT_TRUE(c.warnings.empty());

  const ServerConfig& s = c.server;
  EXPECT_EQ(s.error_log, (dir_ / "logs/error.log").string());
  EXPECT_EQ(s.access_log, "/var/log/sitehost/access.log");
  EXPECT_EQ(s.log_level, LogLevel::kDebug);
  EXPECT_EQ(s.header_timeout, 10s);
  EXPECT_EQ(s.keepalive_timeout, 2min);
  EXPECT_EQ(s.max_connections, 500u);
  EXPECT_EQ(s.max_request_line, 4096u);
  EXPECT_EQ(s.max_header_bytes, 32768u);
  EXPECT_EQ(s.max_headers, 50u);
  EXPECT_EQ(s.shutdown_timeout, 5s);
  EXPECT_TRUE(s.detailed_errors);

  ASSERT_EQ(c.sites.size(), 2u);
  const SiteConfig& shop = c.sites[0];
  EXPECT_EQ(shop.name, "shop");
  ASSERT_EQ(shop.bindings.size(), 2u);
  EXPECT_EQ(shop.bindings[0], (Binding{"http", "shop.example.com", 80, false}));
  EXPECT_EQ(shop.bindings[1], (Binding{"http", "::1", 8080, true}));
  EXPECT_EQ(shop.path, "/store");
  EXPECT_EQ(shop.physical_path, dir_ / "app");
  EXPECT_EQ(shop.hosting_model, HostingModel::kInProcess);
  EXPECT_EQ(shop.max_allowed_content_length, 1048576u);
  EXPECT_EQ(shop.environment, (std::map<std::string, std::string>{
                                  {"ASPNETCORE_ENVIRONMENT", "Production"}, {"EMPTY", ""}}));
  EXPECT_EQ(shop.startup_time_limit, 30s);
  EXPECT_EQ(shop.handler, dir_ / "app/lib/shop.so");
  EXPECT_TRUE(shop.allow_synchronous_io);
  EXPECT_EQ(shop.max_request_body_size, 0u);

  const SiteConfig& api = c.sites[1];
  EXPECT_EQ(api.name, "api.v2");
  ASSERT_EQ(api.bindings.size(), 1u);
  EXPECT_EQ(api.bindings[0], (Binding{"http", "127.0.0.1", 9000, true}));
  EXPECT_EQ(api.path, "/");
  EXPECT_EQ(api.physical_path, fs::path("/tmp"));
  EXPECT_EQ(api.hosting_model, HostingModel::kOutOfProcess);
  EXPECT_EQ(api.process_path, fs::path("/usr/bin/dotnet"));
  EXPECT_EQ(api.arguments, (std::vector<std::string>{"api.dll", "--urls", "http://a b"}));
  EXPECT_EQ(api.request_timeout, 5min);
  EXPECT_EQ(api.shutdown_time_limit, 0s);
  EXPECT_EQ(api.rapid_fails_per_minute, 0u);
  EXPECT_TRUE(api.stdout_log_enabled);
  EXPECT_EQ(api.stdout_log_file, fs::path("/var/log/api/out"));
  EXPECT_EQ(api.processes, 4u);
  EXPECT_TRUE(api.preload);
  EXPECT_FALSE(api.batch_scheduling);
  EXPECT_EQ(api.environment, (std::map<std::string, std::string>{{"DOTNET_gcServer", "1"}}));
}

TEST_F(ConfigTest, Defaults) {
  Config c = ok(kSite);
  EXPECT_EQ(c.server, ServerConfig{});
  EXPECT_EQ(c.server.error_log, "");
  EXPECT_EQ(c.server.access_log, "");
  EXPECT_EQ(c.server.log_level, LogLevel::kInfo);
  EXPECT_EQ(c.server.header_timeout, 30s);
  EXPECT_EQ(c.server.keepalive_timeout, 75s);
  EXPECT_EQ(c.server.max_connections, 10000u);
  EXPECT_EQ(c.server.max_request_line, 8192u);
  EXPECT_EQ(c.server.max_header_bytes, 16384u);
  EXPECT_EQ(c.server.max_headers, 100u);
  EXPECT_EQ(c.server.shutdown_timeout, 30s);
  EXPECT_FALSE(c.server.detailed_errors);

  ASSERT_EQ(c.sites.size(), 1u);
  const SiteConfig& s = c.sites[0];
  EXPECT_EQ(s.path, "/");
  EXPECT_EQ(s.max_allowed_content_length, 30000000u);
  EXPECT_TRUE(s.environment.empty());
  EXPECT_EQ(s.startup_time_limit, 120s);
  EXPECT_FALSE(s.allow_synchronous_io);
  EXPECT_EQ(s.max_request_body_size, 30000000u);
  EXPECT_EQ(s.stdout_log_file, dir_ / "app/logs/stdout");
}

TEST_F(ConfigTest, HealthAndDrainDelay) {
  Config c = ok(kSite);
  EXPECT_EQ(c.server.health.kind, HealthEndpoint::Kind::kOff);
  EXPECT_EQ(c.server.drain_delay, 0s);
  struct Case {
    std::string value;
    HealthEndpoint want;
  };
  using K = HealthEndpoint::Kind;
  const Case cases[] = {
      {"\"Off\"", {K::kOff, "", 0, ""}},
      {"\"/healthz/\"", {K::kPath, "", 0, "/healthz"}},
      {"\"/ops/ready\"", {K::kPath, "", 0, "/ops/ready"}},
      {"\"10.0.0.5:8081\"", {K::kAddress, "10.0.0.5", 8081, ""}},
      {"\"*:8081\"", {K::kAddress, "0.0.0.0", 8081, ""}},
      {"\"localhost:8081\"", {K::kAddress, "127.0.0.1", 8081, ""}},
      {"\"[::]:8081\"", {K::kAddress, "::", 8081, ""}},
      {"\"[0:0:0:0:0:0:0:1]:8081\"", {K::kAddress, "::1", 8081, ""}},
  };
  for (const Case& t : cases) {
    std::string text = "[server]\nhealth = " + t.value + "\ndrain_delay = \"15s\"\n";
    text += kSite.substr(1);
    Config h = ok(text);
    EXPECT_EQ(h.server.health, t.want) << t.value;
    EXPECT_EQ(h.server.drain_delay, 15s);
  }
  EXPECT_EQ(error("[server]\nhealth = \"[::1:80\"\n" + std::string(kSite.substr(1))),
            at(2, "server.health",
               "expected \"off\", an address like \"0.0.0.0:8081\", \"[::]:8081\" or "
               "\"*:8081\", or a path like \"/healthz\", got \"[::1:80\""));
  // The health port is the health listener's alone.
  EXPECT_EQ(error("[server]\nhealth = \"127.0.0.1:8080\"\n" + std::string(kSite.substr(1))),
            at(2, "server.health",
               "port 8080 is also used by site \"a\"'s binding http://*:8080; the health "
               "listener needs a port of its own"));
}

TEST_F(ConfigTest, OutOfProcessDefaults) {
  Config c = ok(kProxySite);
  const SiteConfig& s = c.sites.at(0);
  EXPECT_EQ(s.hosting_model, HostingModel::kOutOfProcess);
  EXPECT_TRUE(s.arguments.empty());
  EXPECT_EQ(s.request_timeout, 2min);
  EXPECT_EQ(s.shutdown_time_limit, 10s);
  EXPECT_EQ(s.rapid_fails_per_minute, 10u);
  EXPECT_FALSE(s.stdout_log_enabled);
  EXPECT_EQ(s.stdout_log_file, dir_ / "app/logs/stdout");
  EXPECT_EQ(s.processes, 1u);
  EXPECT_FALSE(s.preload);
  EXPECT_TRUE(s.batch_scheduling);
  EXPECT_TRUE(s.handler.empty());
}

TEST_F(ConfigTest, EnumsAreCaseInsensitive) {
  Config c = ok(with(R"(
[server]
log_level = "WARN"
)",
                     R"([[site]]
name = "a"
bindings = ["http://*:1"]
physical_path = "app"
hosting_model = "OutOfProcess"
process_path = "x"
)"));
  EXPECT_EQ(c.server.log_level, LogLevel::kWarn);
  EXPECT_EQ(c.sites.at(0).hosting_model, HostingModel::kOutOfProcess);
}

TEST_F(ConfigTest, ToStringMatchesConfigSpelling) {
  EXPECT_STREQ(to_string(HostingModel::kInProcess), "inprocess");
  EXPECT_STREQ(to_string(HostingModel::kOutOfProcess), "outofprocess");
  EXPECT_STREQ(to_string(LogLevel::kDebug), "debug");
  EXPECT_STREQ(to_string(LogLevel::kInfo), "info");
  EXPECT_STREQ(to_string(LogLevel::kWarn), "warn");
  EXPECT_STREQ(to_string(LogLevel::kError), "error");
}

// ---------------------------------------------------------------------------------------------
// Paths

TEST_F(ConfigTest, RelativePathsResolve) {
  Config c = ok(R"(
[server]
error_log = "./logs/../logs/error.log"
access_log = "access.log"

[[site]]
name = "a"
bindings = ["http://*:1"]
physical_path = "./app/"
hosting_model = "inprocess"
handler = "../other/h.so"

[[site]]
name = "b"
bindings = ["http://*:2"]
physical_path = "other"
hosting_model = "outofprocess"
process_path = "bin/app"
stdout_log_file = "out/log"
)");
  EXPECT_EQ(c.server.error_log, (dir_ / "logs/error.log").string());
  EXPECT_EQ(c.server.access_log, (dir_ / "access.log").string());
  EXPECT_EQ(c.sites.at(0).physical_path, dir_ / "app");
  EXPECT_EQ(c.sites.at(0).handler, dir_ / "other/h.so");
  EXPECT_EQ(c.sites.at(1).physical_path, dir_ / "other");
  EXPECT_EQ(c.sites.at(1).process_path, dir_ / "other/bin/app");
  EXPECT_EQ(c.sites.at(1).stdout_log_file, dir_ / "other/out/log");
}

TEST_F(ConfigTest, AbsolutePhysicalPathAndHandlerKept) {
  Config c = ok(R"(
[[site]]
name = "a"
bindings = ["http://*:1"]
physical_path = ")" +
                (dir_ / "other").string() +
                R"("
hosting_model = "inprocess"
handler = "/opt/h.so"
)");
  EXPECT_EQ(c.sites.at(0).physical_path, dir_ / "other");
  EXPECT_EQ(c.sites.at(0).handler, fs::path("/opt/h.so"));
}

TEST_F(ConfigTest, PhysicalPathMustBeAnExistingDirectory) {
  std::string base = R"(
[[site]]
name = "a"
bindings = ["http://*:1"]
hosting_model = "inprocess"
handler = "h.so"
)";
  EXPECT_EQ(error(base + "physical_path = \"missing\"\n"),
            at(6, "site \"a\".physical_path",
               "directory \"" + (dir_ / "missing").string() + "\" does not exist"));
  EXPECT_EQ(error(base + "physical_path = \"file.txt\"\n"),
            at(6, "site \"a\".physical_path",
               "\"" + (dir_ / "file.txt").string() + "\" is not a directory"));
  EXPECT_EQ(error(base + "physical_path = \"\"\n"),
            at(6, "site \"a\".physical_path", "must not be empty"));
}

TEST_F(ConfigTest, RelativeConfigFileName) {
  // Messages name the file as given; relative paths are anchored at the current folder.
  LoadResult r = parse_config(with(kSiteNoName.substr(1), "name = 5\n"), "rel.toml");
  EXPECT_EQ(r.error, "rel.toml:6: site[0].name: expected a string, got 5");
  r = parse_config(R"([[site]]
name = "a"
bindings = ["http://*:1"]
physical_path = "."
hosting_model = "inprocess"
handler = "h.so"
)",
                   "rel.toml");
  ASSERT_TRUE(r.config.has_value()) << r.error;
  EXPECT_EQ(r.config->file, fs::current_path() / "rel.toml");
  EXPECT_EQ(r.config->sites.at(0).physical_path, fs::current_path());
}

// ---------------------------------------------------------------------------------------------
// load_config

TEST_F(ConfigTest, LoadConfigReadsFile) {
  std::ofstream(file_) << kSite.substr(1);
  LoadResult r = load_config(file_);
  ASSERT_TRUE(r.config.has_value()) << r.error;
  EXPECT_EQ(r.config->file, fs::path(file_));
  EXPECT_EQ(r.config->sites.at(0).name, "a");
}

TEST_F(ConfigTest, LoadConfigReportsErrorsWithLines) {
  std::ofstream(file_) << "[server]\nmax_headers = 0\n" << kSite;
  EXPECT_EQ(load_config(file_).error,
            at(2, "server.max_headers", "must be between 1 and 4294967295, got 0"));
}

TEST_F(ConfigTest, LoadConfigUnreadableFile) {
  std::string missing = (dir_ / "nope.toml").string();
  LoadResult r = load_config(missing);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(r.error, missing + ": cannot read: No such file or directory");
  EXPECT_EQ(load_config(dir_ / "app").error,
            (dir_ / "app").string() + ": cannot read: Is a directory");
}

// ---------------------------------------------------------------------------------------------
// Structure and syntax errors

TEST_F(ConfigTest, SyntaxErrorHasLine) {
  std::string e = error(R"(
[server]
log_level = "info"
header_timeout =
)");
  EXPECT_TRUE(e.starts_with(file_ + ":3: syntax error: ")) << e;
  e = error("[server]\nlog_level = \"a\"\nlog_level = \"b\"\n");
  EXPECT_TRUE(e.starts_with(file_ + ":3: syntax error: ")) << e;
}

TEST_F(ConfigTest, NoSites) {
  EXPECT_EQ(error(""), at(1, "site", "no sites are configured; add a [[site]] table"));
  EXPECT_EQ(error("site = []\n"), at(1, "site", "no sites are configured; add a [[site]] table"));
}

TEST_F(ConfigTest, WrongTableShapes) {
  EXPECT_EQ(error("[site]\nname = \"a\"\n"),
            at(1, "site", "expected an array of tables; write [[site]], not [site]"));
  EXPECT_EQ(error(with("[[server]]\n", kSite)),
            at(1, "server", "expected a table; write [server], not [[server]]"));
  EXPECT_EQ(error(with("server = 5\n", kSite)), at(1, "server", "expected a table, got 5"));
  EXPECT_EQ(error("site = [\"a\"]\n"), at(1, "site[0]", "expected a [[site]] table, got \"a\""));
  EXPECT_EQ(error("site = 1\n"), at(1, "site", "expected an array of [[site]] tables, got 1"));
}

// ---------------------------------------------------------------------------------------------
// Unknown keys

TEST_F(ConfigTest, UnknownTopLevelKey) {
  EXPECT_EQ(error(with(kSite, "[sever]\nx = 1\n")),
            at(7, "sever", "unknown key \"sever\"; did you mean \"server\"?"));
  EXPECT_EQ(error(with("colour = 1\n", kSite)), at(1, "colour", "unknown key \"colour\""));
  EXPECT_EQ(
      error(with("header_timeout = \"1s\"\n", kSite)),
      at(1, "header_timeout", "unknown key \"header_timeout\"; it belongs in the [server] table"));
}

TEST_F(ConfigTest, UnknownServerKey) {
  EXPECT_EQ(error(with("[server]\nlog_level = \"info\"\nheader_timout = \"5s\"\n", kSite)),
            at(3, "server.header_timout",
               "unknown key \"header_timout\"; did you mean \"header_timeout\"?"));
  EXPECT_EQ(error(with("[server]\nmaxConnections = 5\n", kSite)),
            at(2, "server.maxConnections",
               "unknown key \"maxConnections\"; did you mean \"max_connections\"?"));
  EXPECT_EQ(error(with("[server]\nbindings = []\n", kSite)),
            at(2, "server.bindings", "unknown key \"bindings\"; it belongs in a [[site]] table"));
  EXPECT_EQ(error(with("[server]\nfoo = 1\n", kSite)), at(2, "server.foo", "unknown key \"foo\""));
}

TEST_F(ConfigTest, UnknownSiteKey) {
  EXPECT_EQ(error(with(kSite, "alow_synchronous_io = true\n")),
            at(7, "site \"a\".alow_synchronous_io",
               "unknown key \"alow_synchronous_io\"; did you mean \"allow_synchronous_io\"?"));
  EXPECT_EQ(error(with(kProxySite, "requestTimeout = \"1m\"\n")),
            at(7, "site \"b\".requestTimeout",
               "unknown key \"requestTimeout\"; did you mean \"request_timeout\"?"));
  EXPECT_EQ(
      error(with(kProxySite, "PROCESSES = 2\n")),
      at(7, "site \"b\".PROCESSES", "unknown key \"PROCESSES\"; did you mean \"processes\"?"));
  EXPECT_EQ(error(with(kSite, "detailed_errors = true\n")),
            at(7, "site \"a\".detailed_errors",
               "unknown key \"detailed_errors\"; it belongs in the [server] table"));
  EXPECT_EQ(error(with(kSite, "colour = \"red\"\n")),
            at(7, "site \"a\".colour", "unknown key \"colour\""));
}

// ---------------------------------------------------------------------------------------------
// Type and range errors

TEST_F(ConfigTest, ServerTypeErrors) {
  auto server = [&](std::string_view line) {
    return error(with("[server]\n" + std::string(line) + "\n", kSite));
  };
  EXPECT_EQ(server("detailed_errors = \"yes\""),
            at(2, "server.detailed_errors", "expected a boolean (true or false), got \"yes\""));
  EXPECT_EQ(server("max_connections = \"10\""),
            at(2, "server.max_connections", "expected an integer, got \"10\""));
  EXPECT_EQ(server("max_headers = 1.5"),
            at(2, "server.max_headers", "expected an integer, got 1.5"));
  EXPECT_EQ(server("error_log = 5"), at(2, "server.error_log", "expected a string, got 5"));
  EXPECT_EQ(server("error_log = \"\""), at(2, "server.error_log", "must not be empty"));
  EXPECT_EQ(server("log_level = \"verbose\""),
            at(2, "server.log_level",
               "expected \"debug\", \"info\", \"warn\" or \"error\", got \"verbose\""));
  EXPECT_EQ(server("header_timeout = 30"),
            at(2, "server.header_timeout",
               "expected a duration string like \"30s\", \"2m\" or \"00:02:00\", got 30"));
  EXPECT_EQ(server("keepalive_timeout = \"abc\""),
            at(2, "server.keepalive_timeout",
               "expected a duration like \"30s\", \"2m\" or \"00:02:00\", got \"abc\""));
  EXPECT_EQ(server("max_request_line = \"8 KiB\""),
            at(2, "server.max_request_line",
               "expected a size in bytes like 8192, \"8KiB\" or \"30MB\", got \"8 KiB\""));
  EXPECT_EQ(server("max_header_bytes = -1"),
            at(2, "server.max_header_bytes",
               "expected a size in bytes like 8192, \"8KiB\" or \"30MB\", got -1"));
  EXPECT_EQ(server("max_header_bytes = true"),
            at(2, "server.max_header_bytes",
               "expected a size in bytes like 8192, \"8KiB\" or \"30MB\", got true"));
}

TEST_F(ConfigTest, ServerRangeErrors) {
  auto server = [&](std::string_view line) {
    return error(with("[server]\n" + std::string(line) + "\n", kSite));
  };
  EXPECT_EQ(server("max_connections = 0"),
            at(2, "server.max_connections", "must be between 1 and 4294967295, got 0"));
  EXPECT_EQ(server("max_connections = 4294967296"),
            at(2, "server.max_connections", "must be between 1 and 4294967295, got 4294967296"));
  EXPECT_EQ(server("max_request_line = 0"),
            at(2, "server.max_request_line", "must be between 1 and 4294967295 bytes, got 0"));
  EXPECT_EQ(
      server("max_header_bytes = \"4GiB\""),
      at(2, "server.max_header_bytes", "must be between 1 and 4294967295 bytes, got \"4GiB\""));
  EXPECT_EQ(server("header_timeout = \"0s\""),
            at(2, "server.header_timeout", "must be between 1ms and 360h, got \"0s\""));
  EXPECT_EQ(server("shutdown_timeout = \"361h\""),
            at(2, "server.shutdown_timeout", "must be at most 360h, got \"361h\""));
  EXPECT_EQ(ok(with("[server]\nshutdown_timeout = \"0s\"\n", kSite)).server.shutdown_timeout, 0s);
}

TEST_F(ConfigTest, SiteTypeErrors) {
  EXPECT_EQ(error(with(kSite, "allow_synchronous_io = 1\n")),
            at(7, "site \"a\".allow_synchronous_io", "expected a boolean (true or false), got 1"));
  EXPECT_EQ(error(with(kSite, "startup_time_limit = 120\n")),
            at(7, "site \"a\".startup_time_limit",
               "expected a duration string like \"30s\", \"2m\" or \"00:02:00\", got 120"));
  EXPECT_EQ(error(with(kSite, "max_allowed_content_length = \"lots\"\n")),
            at(7, "site \"a\".max_allowed_content_length",
               "expected a size in bytes like 8192, \"8KiB\" or \"30MB\", got \"lots\""));
  EXPECT_EQ(error(with(kSite, "environment = \"A=1\"\n")),
            at(7, "site \"a\".environment",
               "expected a table of strings like { NAME = \"value\" }, got \"A=1\""));
  EXPECT_EQ(error(with(kSite, "path = 1\n")), at(7, "site \"a\".path", "expected a string, got 1"));
  EXPECT_EQ(error(with(kProxySite, "arguments = 5\n")),
            at(7, "site \"b\".arguments", "expected a list of strings or a single string, got 5"));
  EXPECT_EQ(error(with(kProxySite, "arguments = [\"a\",\n  true]\n")),
            at(8, "site \"b\".arguments[1]", "expected a list of strings, got true"));
  EXPECT_EQ(error(with(kProxySite, "preload = \"true\"\n")),
            at(7, "site \"b\".preload", "expected a boolean (true or false), got \"true\""));
  EXPECT_EQ(
      error(with(kProxySite, "process_scheduling = \"fifo\"\n")),
      at(7, "site \"b\".process_scheduling", "expected \"batch\" or \"normal\", got \"fifo\""));
  EXPECT_EQ(error(with(kProxySite, "processes = [1]\n")),
            at(7, "site \"b\".processes", "expected an integer, got a list"));
  EXPECT_EQ(error(with(kProxySite, "request_timeout = {}\n")),
            at(7, "site \"b\".request_timeout",
               "expected a duration string like \"30s\", \"2m\" or \"00:02:00\", got a table"));
  EXPECT_EQ(error(with(kProxySite, "request_timeout = \"abc\"\n")),
            at(7, "site \"b\".request_timeout",
               "expected a duration like \"30s\", \"2m\" or \"00:02:00\", got \"abc\""));
}

TEST_F(ConfigTest, SiteRangeErrors) {
  EXPECT_EQ(error(with(kProxySite, "request_timeout = \"0s\"\n")),
            at(7, "site \"b\".request_timeout", "must be between 1ms and 360h, got \"0s\""));
  EXPECT_EQ(error(with(kProxySite, "request_timeout = \"360:00:01\"\n")),
            at(7, "site \"b\".request_timeout", "must be between 1ms and 360h, got \"360:00:01\""));
  EXPECT_EQ(ok(with(kProxySite, "request_timeout = \"360:00:00\"\n")).sites.at(0).request_timeout,
            360h);
  EXPECT_EQ(error(with(kProxySite, "rapid_fails_per_minute = 101\n")),
            at(7, "site \"b\".rapid_fails_per_minute", "must be between 0 and 100, got 101"));
  EXPECT_EQ(error(with(kProxySite, "rapid_fails_per_minute = -1\n")),
            at(7, "site \"b\".rapid_fails_per_minute", "must be between 0 and 100, got -1"));
  EXPECT_EQ(error(with(kProxySite, "processes = 0\n")),
            at(7, "site \"b\".processes", "must be between 1 and 100, got 0"));
  EXPECT_EQ(error(with(kProxySite, "processes = 101\n")),
            at(7, "site \"b\".processes", "must be between 1 and 100, got 101"));
  EXPECT_EQ(error(with(kProxySite, "shutdown_time_limit = \"11m\"\n")),
            at(7, "site \"b\".shutdown_time_limit", "must be at most 10m, got \"11m\""));
  EXPECT_EQ(error(with(kSite, "startup_time_limit = \"0s\"\n")),
            at(7, "site \"a\".startup_time_limit", "must be between 1s and 1h, got \"0s\""));
  EXPECT_EQ(error(with(kSite, "startup_time_limit = \"2h\"\n")),
            at(7, "site \"a\".startup_time_limit", "must be between 1s and 1h, got \"2h\""));
}

TEST_F(ConfigTest, EnvironmentErrors) {
  EXPECT_EQ(error(with(kSite, "[site.environment]\nA = \"1\"\nB = 2\n")),
            at(9, "site \"a\".environment.B", "expected a string, got 2"));
  EXPECT_EQ(error(with(kSite, "environment = { \"\" = \"x\" }\n")),
            at(7, "site \"a\".environment.",
               "variable names must be non-empty and contain neither \"=\" nor NUL"));
  EXPECT_EQ(error(with(kSite, "environment = { \"A=B\" = \"x\" }\n")),
            at(7, "site \"a\".environment.A=B",
               "variable names must be non-empty and contain neither \"=\" nor NUL"));
  EXPECT_EQ(error(with(kSite, "environment = { A = \"x\\u0000y\" }\n")),
            at(7, "site \"a\".environment.A", "must not contain NUL characters"));
}

TEST_F(ConfigTest, SiteNameErrors) {
  // An invalid name cannot label the site, so the key uses the index form.
  const std::string message =
      "must be 1-100 characters from A-Z a-z 0-9 . _ - (and not \".\" or \"..\"), got ";
  EXPECT_EQ(error(with(kSiteNoName, "name = \"my site\"\n")),
            at(6, "site[0].name", message + "\"my site\""));
  EXPECT_EQ(error(with(kSiteNoName, "name = \"..\"\n")), at(6, "site[0].name", message + "\"..\""));
  EXPECT_EQ(error(with(kSiteNoName, "name = \"\"\n")), at(6, "site[0].name", message + "\"\""));
  EXPECT_EQ(error(with(kSiteNoName, "name = \"a/b\"\n")),
            at(6, "site[0].name", message + "\"a/b\""));
  EXPECT_EQ(ok(with(kSiteNoName, "name = \"A-z_0.9\"\n")).sites.at(0).name, "A-z_0.9");
}

// ---------------------------------------------------------------------------------------------
// Required keys, duplicates, conflicts

TEST_F(ConfigTest, MissingRequiredKeysPointAtSiteHeader) {
  std::string two = with(kSite, "\n[[site]]\nname = \"b\"\n");  // header at line 8
  EXPECT_EQ(error(two + "bindings = [\"http://*:2\"]\nphysical_path = \"app\"\n"),
            at(8, "site \"b\".hosting_model", "required key is missing"));
  EXPECT_EQ(error(two + "bindings = [\"http://*:2\"]\nhosting_model = \"inprocess\"\n"
                        "handler = \"h\"\n"),
            at(8, "site \"b\".physical_path", "required key is missing"));
  EXPECT_EQ(
      error(two + "physical_path = \"app\"\nhosting_model = \"inprocess\"\nhandler = \"h\"\n"),
      at(8, "site \"b\".bindings", "required key is missing"));
  EXPECT_EQ(error(with(kSite,
                       "\n[[site]]\nbindings = [\"http://*:2\"]\nphysical_path = \"app\"\n"
                       "hosting_model = \"inprocess\"\nhandler = \"h\"\n")),
            at(8, "site[1].name", "required key is missing"));
  EXPECT_EQ(error(two + "bindings = [\"http://*:2\"]\nphysical_path = \"app\"\n"
                        "hosting_model = \"inprocess\"\n"),
            at(8, "site \"b\".handler", "required for inprocess sites but missing"));
  EXPECT_EQ(error(two + "bindings = [\"http://*:2\"]\nphysical_path = \"app\"\n"
                        "hosting_model = \"outofprocess\"\n"),
            at(8, "site \"b\".process_path", "required for outofprocess sites but missing"));
}

TEST_F(ConfigTest, BadHostingModel) {
  EXPECT_EQ(error(R"(
[[site]]
name = "a"
bindings = ["http://*:1"]
physical_path = "app"
hosting_model = "in-process"
request_timeout = "bogus"
)"),
            at(5, "site \"a\".hosting_model",
               "expected \"inprocess\" or \"outofprocess\", got \"in-process\""));
}

TEST_F(ConfigTest, DuplicateSiteName) {
  EXPECT_EQ(error(with(kSite, R"(
[[site]]
name = "a"
bindings = ["http://*:2"]
physical_path = "app"
hosting_model = "inprocess"
handler = "h"
)")),
            at(9, "site \"a\".name", "site name \"a\" is already used by the site at line 2"));
}

TEST_F(ConfigTest, DuplicateBindingAndPath) {
  std::string second = R"(
[[site]]
name = "b"
physical_path = "other"
hosting_model = "inprocess"
handler = "h"
path = "/"
bindings = ["http://x:1",
  "http://*:8080"]
)";
  EXPECT_EQ(error(with(kSite, second)),
            at(15, "site \"b\".bindings[1]", "sites \"a\" and \"b\" both answer http://*:8080/"));

  // Same path after normalisation; localhost is 127.0.0.1; IPv6 compared canonically.
  std::string base = R"(
[[site]]
name = "a"
bindings = ["http://127.0.0.1:80", "http://[::1]:81"]
physical_path = "app"
hosting_model = "inprocess"
handler = "h"
path = "/api"
[[site]]
name = "b"
physical_path = "other"
hosting_model = "inprocess"
handler = "h"
path = "/api/"
)";
  EXPECT_EQ(error(base + "bindings = [\"http://LOCALHOST:80\"]\n"),
            at(14, "site \"b\".bindings[0]",
               "sites \"a\" and \"b\" both answer http://127.0.0.1:80/api"));
  EXPECT_EQ(
      error(base + "bindings = [\"http://[0:0::1]:81\"]\n"),
      at(14, "site \"b\".bindings[0]", "sites \"a\" and \"b\" both answer http://[::1]:81/api"));
  // A different port, host or path is a different route; "*" does not clash with a named host.
  EXPECT_EQ(
      ok(base + "bindings = [\"http://127.0.0.1:81\", \"http://*:80\", \"http://[::2]:81\"]\n")
          .sites.size(),
      2u);
}

TEST_F(ConfigTest, DifferentPathsShareABinding) {
  Config c = ok(with(kSite, R"([[site]]
name = "b"
bindings = ["http://*:8080"]
physical_path = "other"
hosting_model = "inprocess"
handler = "h"
path = "/b"
)"));
  EXPECT_EQ(c.sites.at(1).path, "/b");
}

TEST_F(ConfigTest, BindingListedTwiceInOneSite) {
  EXPECT_EQ(error(with(kSiteNoBindings,
                       "bindings = [\"http://Example.com:80\", \"http://example.com:80/\"]\n")),
            at(6, "site \"a\".bindings[1]", "http://example.com:80 is listed twice"));
}

// ---------------------------------------------------------------------------------------------
// Bindings and paths

TEST_F(ConfigTest, GoodBindings) {
  struct Case {
    std::string text;
    Binding want;
  };
  const Case cases[] = {
      {"http://*:8080", {"http", "*", 8080, false}},
      {"HTTP://Example.COM:80", {"http", "example.com", 80, false}},
      {"http://localhost:1", {"http", "127.0.0.1", 1, true}},
      {"http://10.0.0.1:65535", {"http", "10.0.0.1", 65535, true}},
      {"http://[::1]:80", {"http", "::1", 80, true}},
      {"http://[2001:DB8:0:0::1]:80", {"http", "2001:db8::1", 80, true}},
      {"http://my-host_1.internal:80/", {"http", "my-host_1.internal", 80, false}},
  };
  for (const Case& c : cases) {
    Config config = ok(with(kSiteNoBindings, "bindings = [\"" + c.text + "\"]\n"));
    ASSERT_EQ(config.sites.size(), 1u) << c.text;
    EXPECT_EQ(config.sites[0].bindings.at(0), c.want) << c.text;
  }
}

TEST_F(ConfigTest, BadBindings) {
  const std::pair<std::string, std::string> cases[] = {
      {"*:80", "expected \"http://HOST:PORT\" or \"https://HOST:PORT\", got \"*:80\""},
      {"ftp://x:21",
       "unsupported scheme \"ftp\"; expected \"http://HOST:PORT\" or \"https://HOST:PORT\""},
      {"http://example.com",
       "missing port in \"http://example.com\"; expected \"http://HOST:PORT\" or "
       "\"https://HOST:PORT\""},
      {"http://example.com:",
       "missing port in \"http://example.com:\"; expected \"http://HOST:PORT\" or "
       "\"https://HOST:PORT\""},
      {"http://[::1]",
       "missing port in \"http://[::1]\"; expected \"http://HOST:PORT\" or \"https://HOST:PORT\""},
      {"http://x:0", "invalid port \"0\"; expected a number from 1 to 65535"},
      {"http://x:65536", "invalid port \"65536\"; expected a number from 1 to 65535"},
      {"http://x:8o", "invalid port \"8o\"; expected a number from 1 to 65535"},
      {"http://x:80/api",
       "a binding cannot have a path or query (\"/api\"); use the site's path key"},
      {"http://x:80?a", "a binding cannot have a path or query (\"?a\"); use the site's path key"},
      {"http://::1:80", "IPv6 addresses must be in brackets, like \"http://[::1]:8080\""},
      {"http://[::g]:80", "invalid IPv6 address \"::g\""},
      {"http://[::1:80", "missing \"]\" after the IPv6 address in \"http://[::1:80\""},
      {"http://[::1]x:80",
       "expected \"http://HOST:PORT\" or \"https://HOST:PORT\", got \"http://[::1]x:80\""},
      {"http://:80", "missing host in \"http://:80\"; use \"*\" for any address"},
      {"http://1.2.3:80", "invalid IPv4 address \"1.2.3\""},
      {"http://256.1.1.1:80", "invalid IPv4 address \"256.1.1.1\""},
      {"http://bad host:80", "invalid host name \"bad host\""},
      {"http://-x.com:80", "invalid host name \"-x.com\""},
      {"http://a..b:80", "invalid host name \"a..b\""},
      {"http://user@x:80", "invalid host name \"user@x\""},
  };
  for (const auto& [text, message] : cases) {
    EXPECT_EQ(error(with(kSiteNoBindings, "bindings = [\"http://*:1\",\n\"" + text + "\"]\n")),
              at(7, "site \"a\".bindings[1]", message))
        << text;
  }
  EXPECT_EQ(
      error(with(kSiteNoBindings, "bindings = []\n")),
      at(6, "site \"a\".bindings", "must list at least one binding, like [\"http://*:8080\"]"));
  EXPECT_EQ(error(with(kSiteNoBindings, "bindings = \"http://*:1\"\n")),
            at(6, "site \"a\".bindings",
               "expected a list of strings like [\"http://*:8080\"], got \"http://*:1\""));
  EXPECT_EQ(error(with(kSiteNoBindings, "bindings = [1]\n")),
            at(6, "site \"a\".bindings[0]", "expected a string, got 1"));
}

TEST_F(ConfigTest, GoodPaths) {
  const std::pair<std::string, std::string> cases[] = {
      {"/", "/"}, {"/api", "/api"}, {"/api/", "/api"}, {"/a/b.c/~d", "/a/b.c/~d"}};
  for (const auto& [text, want] : cases) {
    EXPECT_EQ(ok(with(kSite, "path = \"" + text + "\"\n")).sites.at(0).path, want) << text;
  }
}

TEST_F(ConfigTest, BadPaths) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "must start with \"/\", got \"\""},
      {"api", "must start with \"/\", got \"api\""},
      {"/a?b", "must not contain \"?\", got \"/a?b\""},
      {"/a#b", "must not contain \"#\", got \"/a#b\""},
      {"/a%20b", "must not contain \"%\", got \"/a%20b\""},
      {"/a//b", "must not contain \"//\", got \"/a//b\""},
      {"//", "must not contain \"//\", got \"//\""},
      {"/a/../b", "must not contain \".\" or \"..\" segments, got \"/a/../b\""},
      {"/..", "must not contain \".\" or \"..\" segments, got \"/..\""},
      {"/./a", "must not contain \".\" or \"..\" segments, got \"/./a\""},
      {"/a b", "must contain only letters, digits and -._~!$&'()*+,;=:@/, got \"/a b\""},
      {"/caf\\u00e9",
       "must contain only letters, digits and -._~!$&'()*+,;=:@/, got \"/caf\xc3\xa9\""},
  };
  for (const auto& [text, message] : cases) {
    EXPECT_EQ(error(with(kSite, "path = \"" + text + "\"\n")), at(7, "site \"a\".path", message))
        << text;
  }
}

// ---------------------------------------------------------------------------------------------
// Arguments

TEST_F(ConfigTest, ArgumentsStringIsSplitLikeAncm) {
  auto args = [&](std::string_view value) {
    return ok(with(kProxySite, "arguments = '" + std::string(value) + "'\n")).sites.at(0).arguments;
  };
  using Args = std::vector<std::string>;
  EXPECT_EQ(args(R"(app.dll --urls "http://a b"  x"y z"w)"),
            (Args{"app.dll", "--urls", "http://a b", "xy zw"}));
  EXPECT_EQ(args(R"( a	b )"), (Args{"a", "b"}));
  EXPECT_EQ(args(R"(a "" b)"), (Args{"a", "", "b"}));
  EXPECT_EQ(args(""), Args{});
  EXPECT_EQ(error(with(kProxySite, "arguments = 'a \"b c'\n")),
            at(7, "site \"b\".arguments", "unterminated double quote in \"a \\\"b c\""));
}

// ---------------------------------------------------------------------------------------------
// Warnings and error order

TEST_F(ConfigTest, ModelMismatchedKeysWarn) {
  Config c = ok(R"(
[[site]]
name = "a"
bindings = ["http://*:1"]
physical_path = "app"
hosting_model = "inprocess"
handler = "h"
request_timeout = "not even valid"
processes = 3

[[site]]
bindings = ["http://*:2"]
name = "b"
physical_path = "app"
hosting_model = "outofprocess"
process_path = "p"
allow_synchronous_io = true
handler = "h.so"
)");
  EXPECT_EQ(
      c.warnings,
      (std::vector<std::string>{
          at(7, "site \"a\".request_timeout", "applies only to outofprocess sites; ignored"),
          at(8, "site \"a\".processes", "applies only to outofprocess sites; ignored"),
          at(16, "site \"b\".allow_synchronous_io", "applies only to inprocess sites; ignored"),
          at(17, "site \"b\".handler", "applies only to inprocess sites; ignored"),
      }));
  EXPECT_EQ(c.sites.at(0).request_timeout, 2min);
  EXPECT_EQ(c.sites.at(0).processes, 1u);
  EXPECT_FALSE(c.sites.at(1).allow_synchronous_io);
  EXPECT_TRUE(c.sites.at(1).handler.empty());
}

TEST_F(ConfigTest, EarliestErrorWins) {
  EXPECT_EQ(error(R"(
[server]
max_headers = 0
[[site]]
name = "a"
bindings = ["http://*:0"]
physical_path = "app"
hosting_model = "inprocess"
handler = "h"
zzz = 1
)"),
            at(2, "server.max_headers", "must be between 1 and 4294967295, got 0"));
  // Keys are checked in alphabetical order, but the error earliest in the file is reported.
  EXPECT_EQ(error(R"(
[[site]]
name = "a"
zzz = 1
bindings = ["http://*:0"]
physical_path = "app"
hosting_model = "inprocess"
handler = "h"
)"),
            at(3, "site \"a\".zzz", "unknown key \"zzz\""));
  // A missing required key is reported at the [[site]] header, before any of its keys.
  EXPECT_EQ(error("[[site]]\nname = \"a\"\nzzz = 1\n"),
            at(1, "site \"a\".bindings", "required key is missing"));
}

// ---------------------------------------------------------------------------------------------
// HTTP/2 server keys: http2_max_concurrent_streams, send_timeout

TEST_F(ConfigTest, Http2ServerKeys) {
  Config d = ok(kSite);
  EXPECT_EQ(d.server.http2_max_concurrent_streams, 100u);
  EXPECT_EQ(d.server.send_timeout, 60s);
  Config c =
      ok(with("[server]\nhttp2_max_concurrent_streams = 1000\nsend_timeout = \"5s\"\n", kSite));
  EXPECT_EQ(c.server.http2_max_concurrent_streams, 1000u);
  EXPECT_EQ(c.server.send_timeout, 5s);
  EXPECT_NE(c.server, ServerConfig{});  // a reload sees the change
  EXPECT_EQ(ok(with("[server]\nhttp2_max_concurrent_streams = 1\n", kSite))
                .server.http2_max_concurrent_streams,
            1u);

  auto server = [&](std::string_view line) {
    return error(with("[server]\n" + std::string(line) + "\n", kSite));
  };
  EXPECT_EQ(server("http2_max_concurrent_streams = 0"),
            at(2, "server.http2_max_concurrent_streams", "must be between 1 and 1000, got 0"));
  EXPECT_EQ(server("http2_max_concurrent_streams = 1001"),
            at(2, "server.http2_max_concurrent_streams", "must be between 1 and 1000, got 1001"));
  EXPECT_EQ(server("http2_max_concurrent_streams = \"100\""),
            at(2, "server.http2_max_concurrent_streams", "expected an integer, got \"100\""));
  EXPECT_EQ(server("send_timeout = \"0s\""),
            at(2, "server.send_timeout", "must be between 1ms and 360h, got \"0s\""));
  EXPECT_EQ(server("send_timeout = 60"),
            at(2, "server.send_timeout",
               "expected a duration string like \"30s\", \"2m\" or \"00:02:00\", got 60"));
  EXPECT_EQ(
      server("sendTimeout = \"1s\""),
      at(2, "server.sendTimeout", "unknown key \"sendTimeout\"; did you mean \"send_timeout\"?"));
  // body_timeout (slow POST): the same duration rules.
  EXPECT_EQ(d.server.body_timeout, 60s);
  EXPECT_EQ(ok(with("[server]\nbody_timeout = \"10s\"\n", kSite)).server.body_timeout, 10s);
  EXPECT_EQ(server("body_timeout = \"0s\""),
            at(2, "server.body_timeout", "must be between 1ms and 360h, got \"0s\""));
  EXPECT_EQ(
      server("bodyTimeout = \"1s\""),
      at(2, "server.bodyTimeout", "unknown key \"bodyTimeout\"; did you mean \"body_timeout\"?"));
  // Site keys, not server keys.
  EXPECT_EQ(server("h2c = true"),
            at(2, "server.h2c", "unknown key \"h2c\"; it belongs in a [[site]] table"));
}

TEST_F(ConfigTest, Http2SiteKeysCompareOnReload) {
  // A site whose http2 or h2c changed is a changed site (SiteConfig::operator==).
  SiteConfig a = ok(kSite).sites.at(0);
  SiteConfig b = ok(with(kSite, "h2c = true\n")).sites.at(0);
  EXPECT_NE(a, b);
  b.h2c = false;
  EXPECT_EQ(a, b);
  b.http2 = false;
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace sitehost
