// loader: dlopen(RTLD_NOW | RTLD_LOCAL), entry points, ABI version, failure sub-statuses.
#include "inproc/loader.h"

#include <gtest/gtest.h>

#include "tests/inproc/inproc_test_util.h"

namespace sitehost::test {
namespace {

using inproc::EntryPoints;
using inproc::Library;
using inproc::load_handler;
using inproc::LoadError;

TEST(Loader, LoadsAHandlerLibraryAndResolvesItsEntryPoints) {
  Library library;
  EntryPoints entry;
  LoadError error;
  ASSERT_TRUE(load_handler(app_library("hello"), library, entry, error)) << error.message;
  EXPECT_TRUE(library.loaded());
  EXPECT_NE(entry.init, nullptr);
  EXPECT_NE(entry.request, nullptr);
  EXPECT_NE(entry.shutdown, nullptr);
  EXPECT_EQ(entry.library_abi, SITEHOST_HANDLER_ABI_VERSION);
  library.close();
  EXPECT_FALSE(library.loaded());
}

TEST(Loader, MissingLibraryIs500_38) {
  Library library;
  EntryPoints entry;
  LoadError error;
  EXPECT_FALSE(load_handler("/nonexistent/app.so", library, entry, error));
  EXPECT_EQ(error.substatus, 38);
  EXPECT_NE(error.message.find("application library not found"), std::string::npos);
  EXPECT_NE(error.message.find("/nonexistent/app.so"), std::string::npos);
}

TEST(Loader, MissingEntryPointsAre500_33NamingTheSymbols) {
  Library library;
  EntryPoints entry;
  LoadError error;
  EXPECT_FALSE(load_handler(app_library("missing_entry"), library, entry, error));
  EXPECT_EQ(error.substatus, 33);
  EXPECT_NE(error.message.find("sitehost_handler_request"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("sitehost_handler_shutdown"), std::string::npos) << error.message;
  EXPECT_EQ(error.message.find("sitehost_handler_init"), std::string::npos) << error.message;
  EXPECT_FALSE(library.loaded());
}

TEST(Loader, AbiMismatchIs500_33NamingBothVersions) {
  Library library;
  EntryPoints entry;
  LoadError error;
  EXPECT_FALSE(load_handler(app_library("abi_mismatch"), library, entry, error));
  EXPECT_EQ(error.substatus, 33);
  EXPECT_NE(error.message.find("built for 2.0"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("implements 1." + std::to_string(SITEHOST_HANDLER_ABI_MINOR)),
            std::string::npos)
      << error.message;
}

TEST(Loader, ExecutablesAre500_33) {
  for (const char* name : {"plain_executable", "plain_executable_nopie"}) {
    Library library;
    EntryPoints entry;
    LoadError error;
    EXPECT_FALSE(load_handler(apps_dir() / name, library, entry, error)) << name;
    EXPECT_EQ(error.substatus, 33) << name;
  }
}

TEST(Loader, AbiCompatibility) {
  EXPECT_TRUE(inproc::abi_compatible(SITEHOST_HANDLER_ABI_VERSION));
  EXPECT_FALSE(inproc::abi_compatible((SITEHOST_HANDLER_ABI_MAJOR + 1) << 16));
  EXPECT_FALSE(inproc::abi_compatible(SITEHOST_HANDLER_ABI_VERSION + 1));  // a newer minor
  EXPECT_TRUE(inproc::abi_compatible(SITEHOST_HANDLER_ABI_MAJOR << 16));   // 1.0: an older minor
  EXPECT_FALSE(inproc::abi_compatible(0));
}

TEST(Loader, RtldLocalKeepsClashingSymbolsApart) {
  Library a, b;
  EntryPoints ea, eb;
  LoadError error;
  ASSERT_TRUE(load_handler(app_library("clash_a"), a, ea, error)) << error.message;
  ASSERT_TRUE(load_handler(app_library("clash_b"), b, eb, error)) << error.message;
  using Who = const char* (*)();
  auto who_a = reinterpret_cast<Who>(a.symbol("clash_who"));
  auto who_b = reinterpret_cast<Who>(b.symbol("clash_who"));
  ASSERT_NE(who_a, nullptr);
  ASSERT_NE(who_b, nullptr);
  EXPECT_STREQ(who_a(), "clash_a");
  EXPECT_STREQ(who_b(), "clash_b");
  auto* counter_a = static_cast<int*>(a.symbol("clash_counter"));
  auto* counter_b = static_cast<int*>(b.symbol("clash_counter"));
  EXPECT_NE(counter_a, counter_b);
}

TEST(Loader, FileIdentityChangesWhenTheFileIsReplaced) {
  TempDir dir;
  auto file = dir.write("app.so", read_file(app_library("hello")));
  auto before = identify_file(file);
  EXPECT_TRUE(before.exists);
  EXPECT_EQ(before, identify_file(file));
  auto replacement = dir.write("new.so", read_file(app_library("echo")));
  std::filesystem::rename(replacement, file);
  EXPECT_NE(before, identify_file(file));
  EXPECT_FALSE(identify_file(dir / "missing.so").exists);
}

}  // namespace
}  // namespace sitehost::test
