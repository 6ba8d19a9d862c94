// The command line: --help, --version, --check with valid and invalid configs, import.
#include "tests/support/harness.h"
#include "tests/support/site_config.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

namespace sitehost::test {
namespace {

int run(const std::vector<std::string>& args, const TempDir& dir, std::string* out) {
  std::vector<std::string> argv{sitehost_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p(argv, dir / "cli.out");
  auto status = p.wait_exit(10s);
  *out = p.output();
  return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

TEST(Cli, HelpAndVersion) {
  TempDir dir;
  std::string out;
  EXPECT_EQ(run({"--help"}, dir, &out), 0);
  EXPECT_NE(out.find("--check"), std::string::npos);
  EXPECT_NE(out.find("sitehost import [--name NAME] [--binding URL]... WEB_CONFIG"),
            std::string::npos);
  std::filesystem::remove(dir / "cli.out");
  EXPECT_EQ(run({"--version"}, dir, &out), 0);
  EXPECT_EQ(out.rfind("sitehost ", 0), 0u) << out;
}

TEST(Cli, CheckAcceptsAValidConfig) {
  TempDir dir;
  ConfigBuilder b(dir, 8080);
  b.inproc_app("hello", "hello");
  auto file = dir.write("ok.toml", b.str());
  std::string out;
  EXPECT_EQ(run({"--check", "-c", file.string()}, dir, &out), 0) << out;
  EXPECT_NE(out.find("successful"), std::string::npos) << out;
}

TEST(Cli, CheckRejectsAnInvalidConfigNamingFileLineAndKey) {
  TempDir dir;
  ConfigBuilder b(dir, 8080);
  b.server("header_timeout", "\"soon\"");
  b.inproc_app("hello", "hello");
  auto file = dir.write("bad.toml", b.str());
  std::string out;
  EXPECT_EQ(run({"--check", "-c", file.string()}, dir, &out), 1) << out;
  EXPECT_NE(out.find("bad.toml:2:"), std::string::npos) << out;
  EXPECT_NE(out.find("header_timeout"), std::string::npos) << out;
}

TEST(Cli, UnknownOptionIsAnError) {
  TempDir dir;
  std::string out;
  EXPECT_EQ(run({"--frobnicate"}, dir, &out), 2);
}

struct Split {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs sitehost with stdout and stderr in files of their own (Process merges them).
Split run_split(const std::vector<std::string>& args, const TempDir& dir) {
  std::vector<std::string> argv{"/bin/sh", "-c", "exec \"$@\" 2>\"$0\"", (dir / "err").string(),
                                sitehost_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::filesystem::remove(dir / "out");
  Process p(argv, dir / "out");
  auto status = p.wait_exit(10s);
  Split result;
  result.code = status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  result.out = p.output();
  result.err = read_file(dir / "err");
  return result;
}

// The web.config `dotnet publish` writes for a `dotnet new web` app.
const std::string kPublishedWebConfig =
    read_file(source_dir() / "tests/data/dotnet_published_web.config");

TEST(Cli, ImportPrintsASiteTableThatChecks) {
  TempDir dir;
  auto web_config = dir.write("app/web.config", kPublishedWebConfig);
  Split r = run_split({"import", "--binding", "http://127.0.0.1:8080", web_config.string()}, dir);
  EXPECT_EQ(r.code, 0) << r.err;
  std::string folder = (dir / "app").string();
  EXPECT_EQ(r.out, "# sitehost import of " + web_config.string() +
                       "\n"
                       "[[site]]\n"
                       "name = \"SiteApp\"\n"
                       "bindings = [\"http://127.0.0.1:8080\"]\n"
                       "path = \"/\"\n"
                       "physical_path = \"" +
                       folder +
                       "\"\n"
                       "hosting_model = \"outofprocess\"\n"
                       "process_path = \"dotnet\"\n"
                       "arguments = [\"SiteApp.dll\"]\n"
                       "stdout_log_enabled = false\n"
                       "stdout_log_file = \"logs/stdout\"\n");
  EXPECT_EQ(r.err, web_config.string() +
                       ":8: warning: <aspNetCore> attribute 'hostingModel' is \"inprocess\"; the "
                       "site is outofprocess: sitehost does not host the .NET runtime in-process "
                       "(its in-process model loads native handler libraries), so the app runs as "
                       "its own process (Kestrel) behind sitehost\n");

  // The output is a config file as it stands (with the folder as the argument, too).
  auto config = dir.write("imported.toml", r.out);
  std::string out;
  EXPECT_EQ(run({"--check", "-c", config.string()}, dir, &out), 0) << out;
  Split again = run_split({"import", (dir / "app").string()}, dir);
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("bindings = [\"http://*:8080\"]"), std::string::npos) << again.out;
}

TEST(Cli, ImportRejectsABadWebConfig) {
  TempDir dir;
  auto web_config = dir.write("web.config",
                              "<configuration>\n"
                              "  <system.webServer>\n"
                              "    <aspNetCore processPath=\"dotnet\" hostingModel=\"foo\" />\n"
                              "  </system.webServer>\n"
                              "</configuration>\n");
  Split r = run_split({"import", web_config.string()}, dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, web_config.string() +
                       ":3: error: <aspNetCore> attribute 'hostingModel' must be \"inprocess\" or "
                       "\"outofprocess\", got \"foo\"\n");

  auto broken = dir.write("broken.config", "<configuration>\n  <system.webServer>\n");
  r = run_split({"import", broken.string()}, dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  // pugixml reports unclosed elements at the file's last byte (line 2's newline).
  EXPECT_EQ(r.err, broken.string() + ":2:21: error: Start-end tags mismatch\n");
}

TEST(Cli, ImportUsageErrors) {
  TempDir dir;
  auto web_config = dir.write("web.config", kPublishedWebConfig);
  Split r = run_split({"import"}, dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("Usage: sitehost import"), std::string::npos) << r.err;
  r = run_split({"import", "--name", "no spaces", web_config.string()}, dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("--name \"no spaces\""), std::string::npos) << r.err;
  r = run_split({"import", "--binding", "http://*", web_config.string()}, dir);
  EXPECT_EQ(r.code, 2);
  r = run_split({"import", "--help"}, dir);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("Exit status: 0 printed, 1 the web.config cannot be imported, 2 usage"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace sitehost::test
