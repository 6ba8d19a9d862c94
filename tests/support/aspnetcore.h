// The ASP.NET Core test apps (tests/apps/aspnetcore: SiteApp, SlimApp), which CMake publishes with
// `dotnet publish` when it finds dotnet: where they are, and whether a test can run them here.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>

namespace sitehost::test {

// The folder `dotnet publish` filled for build `name` of the test apps: "v1" and "v2" (SiteApp,
// SiteApp.dll, answering /version with v1 / v2) or "slim" (SlimApp.dll). Copy it into a TempDir
// before running it when the test changes files (app_offline.htm, redeploys).
std::filesystem::path aspnetcore_build(const std::string& name);

// nullopt when the ASP.NET Core tests can run. Otherwise why they cannot: "dotnet is not on PATH:
// the ASP.NET Core tests are skipped". When dotnet IS on PATH (checked at run time) but a build
// is missing, the test must fail, not skip: then this calls ADD_FAILURE() naming the missing
// folder and returns a reason too.
std::optional<std::string> aspnetcore_skip_reason();

}  // namespace sitehost::test

// Skips the calling test (or fixture SetUp) when the ASP.NET Core apps cannot run here. When a
// build is missing (aspnetcore_skip_reason failed the test) it ends the test with a fatal failure
// instead: skipping a failed test does not skip it, and from a fixture's SetUp only a fatal
// failure keeps the test body from running.
#define SITEHOST_NEEDS_ASPNETCORE()                                            \
  do {                                                                         \
    if (auto why_ = ::sitehost::test::aspnetcore_skip_reason()) {              \
      if (::testing::Test::HasFailure()) GTEST_FAIL() << "stopped: " << *why_; \
      GTEST_SKIP() << *why_;                                                   \
    }                                                                          \
  } while (0)
