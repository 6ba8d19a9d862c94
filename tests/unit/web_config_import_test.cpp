// `sitehost import`: web.config → [[site]] TOML (shared/import). The printed table is read back
// with sitehost's own config loader wherever the test can.
#include "shared/import/web_config_import.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "shared/config/config_loader.h"
#include "tests/support/harness.h"

namespace sitehost {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Lines = std::vector<std::string>;

// What `dotnet publish` writes for a `dotnet new web` app called SiteApp (SDK 10), BOM included
// (tests/data/dotnet_published_web.config, shared with the CLI test).
const std::string kDotnetPublished =
    test::read_file(test::source_dir() / "tests/data/dotnet_published_web.config");

// Every mapped attribute, environment variables and requestLimits; <aspNetCore> on line 4.
constexpr std::string_view kFull = R"(
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <system.webServer>
    <aspNetCore processPath=".\bin\Shop" arguments="--urls &quot;a b&quot; .\data\seed.json"
                hostingModel="OutOfProcess" stdoutLogEnabled="True" stdoutLogFile=".\logs\shop"
                requestTimeout="00:05:30" startupTimeLimit="90" shutdownTimeLimit="20"
                rapidFailsPerMinute="3" processesPerApplication="4">
      <environmentVariables>
        <environmentVariable name="ASPNETCORE_ENVIRONMENT" value="Production" />
        <environmentVariable name="Quote.Me" value="say &quot;hi&quot; \ back&#9;tab" />
        <environmentVariable name="EMPTY" />
      </environmentVariables>
    </aspNetCore>
    <security>
      <requestFiltering>
        <requestLimits maxAllowedContentLength="52428800" />
      </requestFiltering>
    </security>
  </system.webServer>
</configuration>
)";

class WebConfigImportTest : public ::testing::Test {
 protected:
  // Writes `xml` (a leading newline is dropped, so line 1 is the text's first line) as
  // DIR/web.config and imports it.
  ImportResult import(std::string_view xml, const ImportOptions& options = {}) {
    if (xml.starts_with('\n')) xml.remove_prefix(1);
    file_ = dir_.write("web.config", std::string(xml));
    return import_web_config(file_, options);
  }
  // A minimal web.config whose <aspNetCore> (line 4) has `attributes` after processPath and
  // arguments.
  ImportResult import_attributes(std::string_view attributes) {
    return import(std::string("<configuration>\n") + "  <system.webServer>\n" + "    <!-- -->\n" +
                  "    <aspNetCore processPath=\"dotnet\" arguments=\".\\App.dll\" " +
                  std::string(attributes) + " />\n" + "  </system.webServer>\n" +
                  "</configuration>\n");
  }
  // "FILE:LINE: KIND: MESSAGE"
  std::string at(int line, std::string_view kind, std::string_view message) const {
    return file_.string() + ":" + std::to_string(line) + ": " + std::string(kind) + ": " +
           std::string(message);
  }
  std::string dir() const { return dir_.path().string(); }
  // The printed table read back by the config loader, after a [server] table.
  SiteConfig load_back(const ImportResult& r) {
    LoadResult loaded = parse_config("[server]\n" + r.toml, dir_ / "sitehost.toml");
    EXPECT_EQ(loaded.error, "") << r.toml;
    if (!loaded.config || loaded.config->sites.size() != 1) return {};
    EXPECT_EQ(loaded.config->warnings, Lines{});
    return loaded.config->sites[0];
  }

  test::TempDir dir_;
  fs::path file_;
};

TEST_F(WebConfigImportTest, DotnetPublishedWebConfig) {
  ImportResult r = import(kDotnetPublished);
  EXPECT_EQ(r.toml, "# sitehost import of " + dir() +
                        "/web.config\n"
                        "# bindings: the default; pass --binding URL (or edit it) to choose\n"
                        "[[site]]\n"
                        "name = \"SiteApp\"\n"
                        "bindings = [\"http://*:8080\"]\n"
                        "path = \"/\"\n"
                        "physical_path = \"" +
                        dir() +
                        "\"\n"
                        "hosting_model = \"outofprocess\"\n"
                        "process_path = \"dotnet\"\n"
                        "arguments = [\"SiteApp.dll\"]\n"
                        "stdout_log_enabled = false\n"
                        "stdout_log_file = \"logs/stdout\"\n");
  EXPECT_EQ(r.diagnostics,
            Lines{at(8, "warning",
                     "<aspNetCore> attribute 'hostingModel' is \"inprocess\"; the site is "
                     "outofprocess: sitehost does not host the .NET runtime in-process (its "
                     "in-process model loads native handler libraries), so the app runs as its "
                     "own process (Kestrel) behind sitehost")});

  SiteConfig site = load_back(r);
  EXPECT_EQ(site.name, "SiteApp");
  EXPECT_EQ(site.physical_path, dir_.path());
  EXPECT_EQ(site.hosting_model, HostingModel::kOutOfProcess);
  EXPECT_EQ(site.process_path, dir_.path() / "dotnet");  // found on PATH when started
  EXPECT_EQ(site.arguments, Lines{"SiteApp.dll"});
  EXPECT_FALSE(site.stdout_log_enabled);
  EXPECT_EQ(site.stdout_log_file, dir_.path() / "logs/stdout");
  // What the web.config does not set keeps sitehost's defaults.
  EXPECT_EQ(site.request_timeout, 2min);
  EXPECT_EQ(site.max_allowed_content_length, 30000000u);
  EXPECT_TRUE(site.environment.empty());
}

TEST_F(WebConfigImportTest, WindowsLineEndingsKeepTheLineNumbers) {
  std::string crlf;
  for (char c : kDotnetPublished) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  ImportResult r = import(crlf);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].rfind(at(8, "warning", "<aspNetCore> attribute 'hostingModel'"), 0),
            0u)
      << r.diagnostics[0];
  EXPECT_EQ(load_back(r).arguments, Lines{"SiteApp.dll"});
}

TEST_F(WebConfigImportTest, EveryMappedAttribute) {
  ImportResult r = import(kFull, {.name = "shop", .bindings = {"http://127.0.0.1:8081"}});
  EXPECT_EQ(r.diagnostics, Lines{});
  EXPECT_EQ(r.toml, "# sitehost import of " + dir() +
                        "/web.config\n"
                        "[[site]]\n"
                        "name = \"shop\"\n"
                        "bindings = [\"http://127.0.0.1:8081\"]\n"
                        "path = \"/\"\n"
                        "physical_path = \"" +
                        dir() +
                        "\"\n"
                        "hosting_model = \"outofprocess\"\n"
                        "process_path = \"bin/Shop\"\n"
                        "arguments = [\"--urls\", \"a b\", \"data/seed.json\"]\n"
                        "environment = { ASPNETCORE_ENVIRONMENT = \"Production\", \"Quote.Me\" = "
                        "\"say \\\"hi\\\" \\\\ back\\ttab\", EMPTY = \"\" }\n"
                        "max_allowed_content_length = 52428800\n"
                        "startup_time_limit = \"90s\"\n"
                        "shutdown_time_limit = \"20s\"\n"
                        "request_timeout = \"330s\"\n"
                        "rapid_fails_per_minute = 3\n"
                        "stdout_log_enabled = true\n"
                        "stdout_log_file = \"logs/shop\"\n"
                        "processes = 4\n");

  SiteConfig site = load_back(r);
  EXPECT_EQ(site.name, "shop");
  ASSERT_EQ(site.bindings.size(), 1u);
  EXPECT_EQ(site.bindings[0].host, "127.0.0.1");
  EXPECT_EQ(site.bindings[0].port, 8081);
  EXPECT_EQ(site.path, "/");
  EXPECT_EQ(site.process_path, dir_.path() / "bin/Shop");
  EXPECT_EQ(site.arguments, (Lines{"--urls", "a b", "data/seed.json"}));
  EXPECT_EQ(site.environment,
            (std::map<std::string, std::string>{{"ASPNETCORE_ENVIRONMENT", "Production"},
                                                {"Quote.Me", "say \"hi\" \\ back\ttab"},
                                                {"EMPTY", ""}}));
  EXPECT_EQ(site.max_allowed_content_length, 52428800u);
  EXPECT_EQ(site.startup_time_limit, 90s);
  EXPECT_EQ(site.shutdown_time_limit, 20s);
  EXPECT_EQ(site.request_timeout, 330s);
  EXPECT_EQ(site.rapid_fails_per_minute, 3u);
  EXPECT_TRUE(site.stdout_log_enabled);
  EXPECT_EQ(site.stdout_log_file, dir_.path() / "logs/shop");
  EXPECT_EQ(site.processes, 4u);
}

TEST_F(WebConfigImportTest, TimeSpansAndLimits) {
  ImportResult r = import_attributes(
      "requestTimeout=\"1.00:00:00\" startupTimeLimit=\"3600\" shutdownTimeLimit=\"0\" "
      "rapidFailsPerMinute=\"0\" processesPerApplication=\"100\"");
  ASSERT_TRUE(r.ok()) << r.diagnostics[0];
  SiteConfig site = load_back(r);
  EXPECT_EQ(site.request_timeout, 24h);
  EXPECT_EQ(site.startup_time_limit, 1h);
  EXPECT_EQ(site.shutdown_time_limit, 0s);
  EXPECT_EQ(site.rapid_fails_per_minute, 0u);
  EXPECT_EQ(site.processes, 100u);
}

TEST_F(WebConfigImportTest, BadValuesAreErrorsNamingAttributeAndValue) {
  struct Case {
    std::string attribute;
    std::string message;
  };
  const Case cases[] = {
      {"hostingModel=\"foo\"",
       "<aspNetCore> attribute 'hostingModel' must be \"inprocess\" or \"outofprocess\", got "
       "\"foo\""},
      {"stdoutLogEnabled=\"maybe\"",
       "<aspNetCore> attribute 'stdoutLogEnabled' must be \"true\" or \"false\", got \"maybe\""},
      {"requestTimeout=\"abc\"",
       "<aspNetCore> attribute 'requestTimeout' must be a time span hh:mm:ss from 00:00:01 to "
       "360:00:00, got \"abc\""},
      {"requestTimeout=\"00:00:00\"",
       "<aspNetCore> attribute 'requestTimeout' must be a time span hh:mm:ss from 00:00:01 to "
       "360:00:00, got \"00:00:00\""},
      {"requestTimeout=\"120s\"",
       "<aspNetCore> attribute 'requestTimeout' must be a time span hh:mm:ss from 00:00:01 to "
       "360:00:00, got \"120s\""},
      {"startupTimeLimit=\"-5\"",
       "<aspNetCore> attribute 'startupTimeLimit' must be a whole number of seconds from 1 to "
       "3600, got \"-5\""},
      {"shutdownTimeLimit=\"601\"",
       "<aspNetCore> attribute 'shutdownTimeLimit' must be a whole number of seconds from 0 to "
       "600, got \"601\""},
      {"rapidFailsPerMinute=\"1.5\"",
       "<aspNetCore> attribute 'rapidFailsPerMinute' must be a whole number from 0 to 100, got "
       "\"1.5\""},
      {"processesPerApplication=\"0\"",
       "<aspNetCore> attribute 'processesPerApplication' must be a whole number from 1 to 100, "
       "got \"0\""},
      {"stdoutLogFile=\"\"", "<aspNetCore> attribute 'stdoutLogFile' must not be empty"},
      {"processPath=\"\"", "<aspNetCore> attribute 'processPath' must not be empty"},
      {"arguments=\"run &quot;a b\"",
       "<aspNetCore> attribute 'arguments' cannot be split into arguments: unterminated double "
       "quote in \"run \\\"a b\""},
      {"stdoutLogFile=\"\\\\srv\\logs\"",
       "<aspNetCore> attribute 'stdoutLogFile' is a Windows absolute path "
       "(\"\\\\\\\\srv\\\\logs\"); "
       "give a path on this machine, or one relative to the app's folder"},
      {"stdoutLogFile=\"C:\\logs\\out\"",
       "<aspNetCore> attribute 'stdoutLogFile' is a Windows absolute path (\"C:\\\\logs\\\\out\"); "
       "give a path on this machine, or one relative to the app's folder"},
  };
  for (const Case& c : cases) {
    ImportResult r = import_attributes(c.attribute);
    EXPECT_EQ(r.toml, "") << c.attribute;
    EXPECT_EQ(r.diagnostics, Lines{at(4, "error", c.message)}) << c.attribute;
  }
}

TEST_F(WebConfigImportTest, VisualStudioPlaceholdersAreErrors) {
  ImportResult r = import(R"(
<configuration>
  <system.webServer>
    <aspNetCore processPath="%LAUNCHER_PATH%"
                arguments="%LAUNCHER_ARGS%"
                stdoutLogFile="%HOME%\logs" />
  </system.webServer>
</configuration>
)");
  EXPECT_EQ(r.toml, "");
  EXPECT_EQ(r.diagnostics,
            (Lines{at(3, "error",
                      "<aspNetCore> attribute 'processPath' contains the placeholder "
                      "%LAUNCHER_PATH% (Visual Studio's; publish the app with dotnet publish to "
                      "get real values)"),
                   at(4, "error",
                      "<aspNetCore> attribute 'arguments' contains the placeholder "
                      "%LAUNCHER_ARGS% (Visual Studio's; publish the app with dotnet publish to "
                      "get real values)"),
                   at(5, "error",
                      "<aspNetCore> attribute 'stdoutLogFile' contains the environment variable "
                      "reference %HOME%, which IIS expands and sitehost does not; write the "
                      "value itself")}));
}

TEST_F(WebConfigImportTest, MalformedXmlGivesLineAndColumn) {
  ImportResult r = import(
      "\xEF\xBB\xBF<configuration>\n"
      "  <system.webServer>\n"
      "    <aspNetCore processPath=\"dotnet />\n"
      "  </system.webServer>\n");
  EXPECT_EQ(r.toml, "");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  // pugixml points at the value that never ends (column 30: the 'd' of dotnet).
  EXPECT_EQ(r.diagnostics[0], file_.string() + ":3:30: error: Error parsing element attribute");

  // Columns on line 1 do not count the BOM (column 18: the value written without quotes).
  r = import("\xEF\xBB\xBF<configuration a=1/>");
  EXPECT_EQ(r.diagnostics, Lines{file_.string() + ":1:18: error: Error parsing element attribute"});

  r = import("<configuration>\n  <system.webServer>\n</configuration>\n");
  EXPECT_EQ(r.diagnostics, Lines{file_.string() + ":3:3: error: Start-end tags mismatch"});
  r = import("");
  EXPECT_EQ(r.diagnostics, Lines{file_.string() + ":1:1: error: No document element found"});
  r = import("\xEF\xBB\xBF");
  EXPECT_EQ(r.diagnostics, Lines{file_.string() + ":1:1: error: No document element found"});
}

TEST_F(WebConfigImportTest, EncodingProblems) {
  ImportResult r = import("<configuration a=\"\xC3\x28\"/>");
  EXPECT_EQ(r.diagnostics, Lines{file_.string() + ":1:19: error: invalid UTF-8"});
  r = import("<configuration>\n <a b=\"\xED\xA0\x80\"/></configuration>");  // a surrogate
  EXPECT_EQ(r.diagnostics, Lines{file_.string() + ":2:8: error: invalid UTF-8"});
  r = import("<configuration a=\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"/>");  // é € 😀
  EXPECT_EQ(r.diagnostics.size(), 1u);  // valid: only "no <aspNetCore>"
  r = import(std::string("\xFF\xFE<\0c\0", 6));
  EXPECT_EQ(r.diagnostics,
            Lines{file_.string() +
                  ": error: the file is UTF-16 or UTF-32; save it as UTF-8 (dotnet publish writes "
                  "UTF-8)"});
  r = import_web_config(dir_ / "missing.config", {});
  EXPECT_EQ(r.diagnostics,
            Lines{(dir_ / "missing.config").string() + ": error: cannot read: No such file or "
                                                       "directory"});
}

TEST_F(WebConfigImportTest, StructuralErrors) {
  ImportResult r = import("<configuration>\n  <system.webServer />\n</configuration>\n");
  EXPECT_EQ(r.diagnostics,
            Lines{file_.string() +
                  ": error: no <aspNetCore> element (in <system.webServer>, at the top level or in "
                  "<location path=\".\">): this web.config does not run an app through the "
                  "ASP.NET Core Module"});
  r = import("<?xml version=\"1.0\"?>\n<appSettings />\n");
  EXPECT_EQ(r.diagnostics, Lines{at(2, "error",
                                    "the root element is <appSettings>, not <configuration>: not a "
                                    "web.config")});
  r = import(R"(
<configuration>
  <system.webServer>
    <aspNetCore processPath="dotnet" arguments="a.dll" />
  </system.webServer>
  <location path=".">
    <system.webServer>
      <aspNetCore processPath="dotnet" arguments="b.dll" />
    </system.webServer>
  </location>
</configuration>
)");
  EXPECT_EQ(r.diagnostics, Lines{at(7, "error",
                                    "a second <aspNetCore> element for the app (the first is at "
                                    "line 3); IIS rejects this too")});
  r = import(
      "<configuration><system.webServer><aspNetCore arguments=\"a.dll\"/>"
      "</system.webServer></configuration>");
  EXPECT_EQ(r.diagnostics,
            Lines{at(1, "error",
                     "<aspNetCore> has no processPath attribute (the program to start: \"dotnet\" "
                     "for a framework-dependent app)")});
}

TEST_F(WebConfigImportTest, WhatHasNoSitehostMeaningIsAWarning) {
  ImportResult r = import(R"(
<configuration>
  <system.web><compilation debug="true" /></system.web>
  <location path="api"><system.webServer /></location>
  <system.webServer>
    <rewrite />
    <aspNetCore processPath="dotnet" arguments="App.dll" recycle="yes" stdoutlogenabled="true"
                forwardWindowsAuthToken="true" disableStartUpErrorPage="true">
      <handlerSettings>
        <handlerSetting name="debugFile" value="aspnetcore-debug.log" />
        <handlerSetting name="enableShadowCopy" value="true" />
        <handlerSetting name="somethingNew" value="1" />
      </handlerSettings>
      <recycleOnFileChange />
    </aspNetCore>
    <security>
      <requestFiltering allowDoubleEscaping="true">
        <requestLimits maxUrl="8192" />
        <fileExtensions />
      </requestFiltering>
      <authentication />
    </security>
  </system.webServer>
</configuration>
)");
  ASSERT_TRUE(r.ok());
  auto unmapped = [](std::string_view what) {
    return std::string(what) + " has no sitehost equivalent; ignored";
  };
  EXPECT_EQ(
      r.diagnostics,
      (Lines{
          at(2, "warning", unmapped("<configuration> element <system.web>")),
          at(3, "warning",
             "<location path=\"api\"> configures a part of the app below it; sitehost import "
             "reads only the app's own settings; ignored"),
          at(5, "warning", unmapped("<system.webServer> element <rewrite>")),
          at(6, "warning", unmapped("<aspNetCore> attribute 'recycle'")),
          at(6, "warning",
             "<aspNetCore> attribute 'stdoutlogenabled' has no sitehost equivalent; ignored (did "
             "you mean 'stdoutLogEnabled'? attribute names are case-sensitive)"),
          at(7, "warning",
             "<aspNetCore> attribute 'forwardWindowsAuthToken' has no sitehost equivalent (there "
             "is no Windows authentication token on Linux); ignored"),
          at(7, "warning",
             "<aspNetCore> attribute 'disableStartUpErrorPage' has no sitehost equivalent "
             "(sitehost's error pages show details only with the server-wide [server] "
             "detailed_errors = true, off by default); ignored"),
          at(9, "warning",
             "<handlerSetting> \"debugFile\" has no sitehost equivalent (ANCM's own debug log; "
             "sitehost logs to [server] error_log at [server] log_level); ignored"),
          at(10, "warning",
             "<handlerSetting> \"enableShadowCopy\" has no sitehost equivalent (it applies to "
             "ANCM's in-process .NET hosting; the imported site runs out-of-process); ignored"),
          at(11, "warning", unmapped("<handlerSetting> \"somethingNew\"")),
          at(13, "warning", unmapped("<aspNetCore> element <recycleOnFileChange>")),
          at(16, "warning", unmapped("<requestFiltering> attribute 'allowDoubleEscaping'")),
          at(17, "warning", unmapped("<requestLimits> attribute 'maxUrl'")),
          at(18, "warning", unmapped("<requestFiltering> element <fileExtensions>")),
          at(20, "warning", unmapped("<security> element <authentication>")),
      }));
  EXPECT_EQ(load_back(r).name, "App");
}

TEST_F(WebConfigImportTest, EnvironmentCollection) {
  ImportResult r = import(R"(
<configuration>
  <system.webServer>
    <aspNetCore processPath="dotnet" arguments="App.dll">
      <environmentVariables>
        <environmentVariable name="A" value="1" />
        <environmentVariable name="B" value="2" />
        <remove name="a" />
        <environmentVariable name="C" value="3" />
        <environmentVariable name="Ünï" value="é€ &#x7F;&#13;" />
      </environmentVariables>
    </aspNetCore>
  </system.webServer>
</configuration>
)");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(load_back(r).environment,
            (std::map<std::string, std::string>{{"B", "2"}, {"C", "3"}, {"Ünï", "é€ \x7F\r"}}));
  EXPECT_NE(r.toml.find("\"Ünï\" = \"é€ \\u007F\\r\""), std::string::npos) << r.toml;

  r = import(R"(
<configuration>
  <system.webServer>
    <aspNetCore processPath="dotnet" arguments="App.dll">
      <environmentVariables>
        <environmentVariable name="A" value="1" />
        <clear />
        <environmentVariable name="Path" value="/bin" />
        <environmentVariable name="PATH" value="/usr/bin" />
        <environmentVariable name="X=Y" value="1" />
      </environmentVariables>
    </aspNetCore>
  </system.webServer>
</configuration>
)");
  EXPECT_EQ(r.toml, "");
  EXPECT_EQ(r.diagnostics,
            (Lines{at(8, "error", "environment variable \"PATH\" is set twice (first at line 7)"),
                   at(9, "error",
                      "<environmentVariable> name must be non-empty and contain no '=', got "
                      "\"X=Y\"")}));
}

TEST_F(WebConfigImportTest, ProgramsAndWindowsPaths) {
  // A self-contained app: the program is in the app's folder and names the site.
  ImportResult r = import_attributes("");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(load_back(r).name, "App");

  r = import(
      "<configuration><system.webServer><aspNetCore processPath=\".\\My App\" />"
      "</system.webServer></configuration>");
  ASSERT_TRUE(r.ok()) << r.diagnostics[0];
  SiteConfig site = load_back(r);
  EXPECT_EQ(site.name, "My-App");
  EXPECT_EQ(site.process_path, dir_.path() / "My App");
  EXPECT_TRUE(site.arguments.empty());

  r = import(
      "<configuration><system.webServer><aspNetCore processPath=\"DOTNET.EXE\" "
      "arguments=\"exec .\\bin\\Api.dll --x C:\\data\" /></system.webServer></configuration>");
  EXPECT_EQ(r.diagnostics,
            Lines{at(1, "error",
                     "<aspNetCore> attribute 'arguments' holds the Windows absolute path "
                     "\"C:\\\\data\"; give a path on this machine, or one relative to the app's "
                     "folder")});

  r = import(
      "<configuration><system.webServer><aspNetCore processPath=\"DOTNET.EXE\" "
      "arguments=\"exec .\\bin\\Api.dll\" /></system.webServer></configuration>");
  ASSERT_TRUE(r.ok()) << r.diagnostics[0];
  site = load_back(r);
  EXPECT_EQ(site.name, "Api");
  EXPECT_EQ(site.process_path, dir_.path() / "dotnet");
  EXPECT_EQ(site.arguments, (Lines{"exec", "bin/Api.dll"}));

  r = import(
      "<configuration><system.webServer><aspNetCore processPath=\".\\Shop.exe\" />"
      "</system.webServer></configuration>");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.diagnostics,
            Lines{at(1, "warning",
                     "<aspNetCore> attribute 'processPath' names a Windows program (\"Shop.exe\"); "
                     "publish the app for Linux (dotnet publish -r linux-x64) or run its .dll "
                     "with dotnet, then fix process_path")});
}

TEST_F(WebConfigImportTest, Options) {
  EXPECT_EQ(check_import_options({}), "");
  EXPECT_EQ(check_import_options({.name = "a b", .bindings = {}}),
            "--name \"a b\": a site name is 1-100 characters from A-Z a-z 0-9 . _ - (and not "
            "\".\" or \"..\")");
  EXPECT_EQ(check_import_options({.name = "", .bindings = {"http://*:8080", "ftp://x:1"}}),
            "--binding \"ftp://x:1\": unsupported scheme \"ftp\"; expected \"http://HOST:PORT\" or "
            "\"https://HOST:PORT\"");

  ImportResult r =
      import(kDotnetPublished, {.name = "front", .bindings = {"http://*:80", "https://*:443"}});
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r.toml.find("name = \"front\"\nbindings = [\"http://*:80\", \"https://*:443\"]\n"),
            std::string::npos)
      << r.toml;
  EXPECT_EQ(r.toml.find("# bindings"), std::string::npos);
  ASSERT_EQ(r.diagnostics.size(), 2u);
  EXPECT_EQ(r.diagnostics[0],
            file_.string() +
                ": warning: --binding https://*:443 is https: add the site's certificate and "
                "private_key keys before sitehost loads it");
}

}  // namespace
}  // namespace sitehost
