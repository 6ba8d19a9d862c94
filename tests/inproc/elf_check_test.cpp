// elf_check: the ELF header tells a wrong build (500.32) or a non-library (500.33) before dlopen.
#include "inproc/elf_check.h"

#include <gtest/gtest.h>

#include "tests/inproc/inproc_test_util.h"

namespace sitehost::test {
namespace {

using inproc::check_elf;

TEST(ElfCheck, AcceptsAHandlerLibrary) {
  EXPECT_EQ(check_elf(app_library("hello")), std::nullopt);
  EXPECT_EQ(check_elf(app_library("complete_from_thread")), std::nullopt);
}

TEST(ElfCheck, Rejects32BitBuildsAs500_32AndSaysWhatWasExpected) {
  TempDir dir;
  auto file = craft_elf(app_library("hello"), dir / "hello32.so", ELFCLASS32, 0);
  auto problem = check_elf(file);
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->substatus, 32);
  EXPECT_NE(problem->message.find("32-bit"), std::string::npos) << problem->message;
  EXPECT_NE(problem->message.find("64-bit little-endian x86-64"), std::string::npos)
      << problem->message;
}

TEST(ElfCheck, RejectsAnotherMachineAs500_32) {
  TempDir dir;
  auto file = craft_elf(app_library("hello"), dir / "hello-arm64.so", 0, EM_AARCH64);
  auto problem = check_elf(file);
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->substatus, 32);
  EXPECT_NE(problem->message.find("aarch64"), std::string::npos) << problem->message;
  EXPECT_NE(problem->message.find("x86-64"), std::string::npos) << problem->message;
}

TEST(ElfCheck, RejectsExecutablesAs500_33) {
  auto pie = check_elf(apps_dir() / "plain_executable");
  ASSERT_TRUE(pie);
  EXPECT_EQ(pie->substatus, 33);
  EXPECT_NE(pie->message.find("position-independent executable"), std::string::npos)
      << pie->message;

  auto classic = check_elf(apps_dir() / "plain_executable_nopie");
  ASSERT_TRUE(classic);
  EXPECT_EQ(classic->substatus, 33);
  EXPECT_NE(classic->message.find("ET_EXEC"), std::string::npos) << classic->message;
}

TEST(ElfCheck, RejectsFilesThatAreNotElf) {
  TempDir dir;
  auto text = dir.write("app.so", "#!/bin/sh\necho not a library\n");
  auto problem = check_elf(text);
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->substatus, 33);
  EXPECT_NE(problem->message.find("not an ELF file"), std::string::npos);

  auto empty = check_elf(dir.write("empty.so", ""));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->substatus, 33);
}

TEST(ElfCheck, TruncatedHeadersAreRejectedNotRead) {
  TempDir dir;
  std::string head = read_file(app_library("hello")).substr(0, 80);  // Ehdr, no program headers
  auto problem = check_elf(dir.write("cut.so", head));
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->substatus, 33);
}

TEST(ElfCheck, MissingFileIs500_38) {
  auto problem = check_elf("/nonexistent/sitehost/app.so");
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->substatus, 38);
}

}  // namespace
}  // namespace sitehost::test
