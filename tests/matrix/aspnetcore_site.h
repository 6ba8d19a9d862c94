// The matrix's "out-of-process, ASP.NET Core" variant: the published SiteApp
// (tests/apps/aspnetcore) runs as the site's child (`dotnet SiteApp.dll`), in the sample mode
// (SITEAPP_SAMPLE) that answers like the C sample app a test names.
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace sitehost::test {

// The SiteApp sample mode for a matrix App.library: "version_v2" → "version" (the v2 build),
// every other name as it is ("hello", "info", "matrix_app", ...).
std::string aspnetcore_sample(const std::string& library);

// What the site's `environment` adds for SiteApp: SITEAPP_SAMPLE and what sitehost does not set
// yet.
std::map<std::string, std::string> aspnetcore_environment(const std::string& library);

// Publishes the SiteApp build for `library` ("version_v2": v2, else v1) into `site_dir` as a
// deploy tool does: every file copied beside its target and renamed over it, the watched
// SiteApp.dll last. False, and the test failed (ADD_FAILURE), when the build is missing.
bool aspnetcore_deploy(const std::filesystem::path& site_dir, const std::string& library);

}  // namespace sitehost::test
