// The command line: --help, --version, --check with valid and invalid configs.
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

}  // namespace
}  // namespace sitehost::test
