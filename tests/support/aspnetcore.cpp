#include "tests/support/aspnetcore.h"

#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace sitehost::test {

namespace fs = std::filesystem;

namespace {

// Whether an executable `dotnet` is in one of $PATH's folders (as execvp would find it).
bool dotnet_on_path() {
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "";
  while (true) {
    size_t colon = rest.find(':');
    std::string_view folder = rest.substr(0, colon);
    fs::path candidate = fs::path(folder.empty() ? "." : std::string(folder)) / "dotnet";
    if (::access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate)) return true;
    if (colon == std::string_view::npos) return false;
    rest.remove_prefix(colon + 1);
  }
}

struct Build {
  const char* name;
  const char* main_file;
};
constexpr Build kBuilds[] = {{"v1", "SiteApp.dll"}, {"v2", "SiteApp.dll"}, {"slim", "SlimApp.dll"}};

}  // namespace

fs::path aspnetcore_build(const std::string& name) {
  return fs::path(SITEHOST_ASPNETCORE_DIR) / name;
}

std::optional<std::string> aspnetcore_skip_reason() {
  if (!dotnet_on_path()) return "dotnet is not on PATH: the ASP.NET Core tests are skipped";
  std::string missing;
  for (const Build& b : kBuilds) {
    fs::path file = aspnetcore_build(b.name) / b.main_file;
    if (!fs::exists(file)) missing += (missing.empty() ? "" : ", ") + file.string();
  }
  if (missing.empty()) return std::nullopt;
  std::string why =
      "dotnet is on PATH but the ASP.NET Core test apps are not built (missing: " + missing + "): ";
  why +=
      SITEHOST_DOTNET_CONFIGURED
          ? "build the sitehost_test_apps target (tools/build PRESET --target sitehost_test_apps)"
          : "CMake did not find dotnet when it configured this build folder: configure and build "
            "it again (tools/build PRESET; CMake looks for dotnet again each time)";
  ADD_FAILURE() << why;
  return why;
}

}  // namespace sitehost::test
