// Shadow copies, the completeness check that keeps half-written deploys from being loaded, and
// the config keys of the hot swap (shadow_copy_directory; shutdown_time_limit for in-process).
#include "inproc/shadow_copy.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>

#include "inproc/elf_check.h"
#include "shared/config/config_loader.h"
#include "tests/inproc/inproc_test_util.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;
using inproc::elf_completeness;
using inproc::ElfCompleteness;
using inproc::ShadowCopy;

// --- completeness ---------------------------------------------------------------------------

TEST(ElfCompleteness, AWholeLibraryIsComplete) {
  EXPECT_EQ(elf_completeness(app_library("hello")), ElfCompleteness::kComplete);
  EXPECT_EQ(elf_completeness(app_library("complete_from_thread")), ElfCompleteness::kComplete);
}

TEST(ElfCompleteness, EveryTruncationOfALibraryIsIncomplete) {
  TempDir dir;
  const std::string bytes = read_file(app_library("version"));
  for (size_t size : {size_t{0}, size_t{1}, size_t{3}, size_t{40}, size_t{64}, size_t{200},
                      bytes.size() / 4, bytes.size() / 2, bytes.size() - 1}) {
    auto file = dir.write("cut.so", bytes.substr(0, size));
    EXPECT_EQ(elf_completeness(file), ElfCompleteness::kIncomplete) << size;
  }
}

TEST(ElfCompleteness, NonElfFilesAreLeftToTheLoader) {
  TempDir dir;
  EXPECT_EQ(elf_completeness(dir.write("text.so", "not a library at all")),
            ElfCompleteness::kNotElf);
  EXPECT_EQ(elf_completeness(dir.write("x.so", "x")), ElfCompleteness::kNotElf);
  EXPECT_EQ(elf_completeness(dir / "missing.so"), ElfCompleteness::kNotElf);
  // Another architecture's build is complete: check_elf names it (500.32).
  auto arm = craft_elf(app_library("hello"), dir / "arm.so", 0, EM_AARCH64);
  EXPECT_EQ(elf_completeness(arm), ElfCompleteness::kComplete);
}

// --- shadow copies ------------------------------------------------------------------------------

TEST(ShadowCopy, CopiesTheLibraryAndCreatesItsFolder) {
  TempDir dir;
  auto shadow = dir / "a/b/p1-x-g1-hello.so";
  ShadowCopy copy = inproc::make_shadow_copy(app_library("hello"), shadow, {});
  ASSERT_EQ(copy.outcome, ShadowCopy::Outcome::kCopied) << copy.message;
  EXPECT_EQ(read_file(shadow), read_file(app_library("hello")));
  EXPECT_EQ(copy.identity, identify_file(app_library("hello")));
  struct stat st {};
  ASSERT_EQ(::stat((dir / "a/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(shadow.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  inproc::remove_shadow_file(shadow);
  EXPECT_FALSE(fs::exists(shadow));
}

TEST(ShadowCopy, AMissingLibraryIs500_38NamingIt) {
  TempDir dir;
  ShadowCopy copy = inproc::make_shadow_copy(dir / "nope.so", dir / "s/copy.so", {});
  EXPECT_EQ(copy.outcome, ShadowCopy::Outcome::kFailed);
  EXPECT_EQ(copy.substatus, 38);
  EXPECT_NE(copy.message.find("nope.so"), std::string::npos) << copy.message;
  EXPECT_FALSE(copy.identity.exists);
}

TEST(ShadowCopy, AnIncompleteLibraryIsNotCopied) {
  TempDir dir;
  const std::string bytes = read_file(app_library("hello"));
  auto half = dir.write("half.so", bytes.substr(0, bytes.size() / 2));
  ShadowCopy copy = inproc::make_shadow_copy(half, dir / "s/copy.so", {});
  EXPECT_EQ(copy.outcome, ShadowCopy::Outcome::kIncomplete);
  EXPECT_FALSE(fs::exists(dir / "s/copy.so"));
}

TEST(ShadowCopy, AnUnsafeRunDirectoryIsRefused) {
  TempDir dir;
  auto root = dir / "run";
  fs::create_directory(root);
  ::chmod(root.c_str(), 0777);
  ShadowCopy copy = inproc::make_shadow_copy(app_library("hello"), root / "shadow/x/copy.so", root);
  EXPECT_EQ(copy.outcome, ShadowCopy::Outcome::kFailed);
  EXPECT_EQ(copy.substatus, 30);
  EXPECT_NE(copy.message.find("writable by other users"), std::string::npos) << copy.message;
  ::chmod(root.c_str(), 0700);
  copy = inproc::make_shadow_copy(app_library("hello"), root / "shadow/x/copy.so", root);
  EXPECT_EQ(copy.outcome, ShadowCopy::Outcome::kCopied) << copy.message;
}

TEST(ShadowCopy, NamesCarryThePidTokenAndGeneration) {
  std::string name = inproc::shadow_file_name("abcd1234", 7, "/srv/app/lib/libshop.so");
  EXPECT_EQ(name, "p" + std::to_string(::getpid()) + "-abcd1234-g7-libshop.so");
}

TEST(ShadowCopy, LeftoversOfDeadProcessesAreRemoved) {
  TempDir dir;
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);  // gone: its pid names a dead process
  auto dead = dir.write("p" + std::to_string(child) + "-aa-g1-app.so", "x");
  auto alive = dir.write("p" + std::to_string(::getppid()) + "-bb-g1-app.so", "x");
  auto mine = dir.write("p" + std::to_string(::getpid()) + "-cc-g1-app.so", "x");
  auto other = dir.write("notes.txt", "x");
  inproc::remove_stale_shadow_files(dir.path());
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(alive));
  EXPECT_TRUE(fs::exists(mine));
  EXPECT_TRUE(fs::exists(other));
}

TEST(ShadowCopy, TheDefaultFolderIsUnderTheRunDirectory) {
  const char* saved = std::getenv("XDG_RUNTIME_DIR");
  std::string restore = saved ? saved : "";
  ::setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
  EXPECT_EQ(inproc::default_shadow_directory("shop"), "/run/user/4242/sitehost/shadow/shop");
  ::unsetenv("XDG_RUNTIME_DIR");
  EXPECT_EQ(inproc::default_shadow_directory("shop"),
            fs::path("/tmp/sitehost-" + std::to_string(::geteuid())) / "shadow/shop");
  if (saved) ::setenv("XDG_RUNTIME_DIR", restore.c_str(), 1);
}

// --- config -------------------------------------------------------------------------------------

std::string site_toml(const TempDir& dir, const std::string& extra) {
  return "[[site]]\nname = \"a\"\nbindings = [\"http://*:1\"]\nphysical_path = \"" +
         dir.path().string() + "\"\nhosting_model = \"inprocess\"\nhandler = \"h.so\"\n" + extra;
}

TEST(HotSwapConfig, ShadowCopyDirectoryResolvesAgainstThePhysicalPath) {
  TempDir dir;
  auto r = parse_config(site_toml(dir, "shadow_copy_directory = \"shadow\"\n"), dir / "s.toml");
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->sites.at(0).shadow_copy_directory, dir / "shadow");
  EXPECT_TRUE(r.config->warnings.empty());

  r = parse_config(site_toml(dir, "shadow_copy_directory = \"/var/tmp/x\"\n"), dir / "s.toml");
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->sites.at(0).shadow_copy_directory, "/var/tmp/x");

  r = parse_config(site_toml(dir, ""), dir / "s.toml");
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_TRUE(r.config->sites.at(0).shadow_copy_directory.empty());  // the default, at runtime
}

TEST(HotSwapConfig, ShutdownTimeLimitAppliesToInProcessSites) {
  using namespace std::chrono_literals;
  TempDir dir;
  auto r = parse_config(site_toml(dir, "shutdown_time_limit = \"3s\"\n"), dir / "s.toml");
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->sites.at(0).shutdown_time_limit, 3s);
  EXPECT_TRUE(r.config->warnings.empty()) << r.config->warnings.at(0);
  r = parse_config(site_toml(dir, ""), dir / "s.toml");
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->sites.at(0).shutdown_time_limit, 10s);
}

TEST(HotSwapConfig, ShadowCopyDirectoryIsAnInProcessKey) {
  TempDir dir;
  auto r = parse_config("[[site]]\nname = \"b\"\nbindings = [\"http://*:1\"]\nphysical_path = \"" +
                            dir.path().string() +
                            "\"\nhosting_model = \"outofprocess\"\nprocess_path = \"p\"\n"
                            "shadow_copy_directory = \"s\"\n",
                        dir / "s.toml");
  ASSERT_TRUE(r.config) << r.error;
  ASSERT_EQ(r.config->warnings.size(), 1u);
  EXPECT_NE(r.config->warnings[0].find("shadow_copy_directory"), std::string::npos);
  EXPECT_NE(r.config->warnings[0].find("inprocess"), std::string::npos);
}

}  // namespace
}  // namespace sitehost::test
