#include "tests/matrix/aspnetcore_site.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "tests/support/aspnetcore.h"

namespace sitehost::test {

namespace fs = std::filesystem;

namespace {

constexpr char kV2Suffix[] = "_v2";
constexpr char kMainFile[] = "SiteApp.dll";

bool is_v2(const std::string& library) {
  return library.ends_with(kV2Suffix);
}

}  // namespace

std::string aspnetcore_sample(const std::string& library) {
  return is_v2(library) ? library.substr(0, library.size() - (sizeof kV2Suffix - 1)) : library;
}

std::map<std::string, std::string> aspnetcore_environment(const std::string& library) {
  // Nothing else: sitehost itself sets what Kestrel's IIS integration needs (e.g.
  // ASPNETCORE_IIS_WEBSOCKETS_SUPPORTED, without which WebSockets are off on kernels below 6.2).
  return {{"SITEAPP_SAMPLE", aspnetcore_sample(library)}};
}

bool aspnetcore_deploy(const fs::path& site_dir, const std::string& library) {
  const fs::path build = aspnetcore_build(is_v2(library) ? "v2" : "v1");
  if (!fs::exists(build / kMainFile)) {
    ADD_FAILURE() << "the SiteApp build " << build << " is missing (" << kMainFile << ")";
    return false;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(build))
    if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), build));
  // SiteApp.dll is the file sitehost watches: once it changes, everything the new version loads
  // must already be in place.
  std::stable_partition(files.begin(), files.end(),
                        [](const fs::path& f) { return f != kMainFile; });
  for (const fs::path& file : files) {
    const fs::path target = site_dir / file;
    const fs::path temporary = target.parent_path() / ("." + target.filename().string() + ".tmp");
    fs::create_directories(target.parent_path());
    fs::copy_file(build / file, temporary, fs::copy_options::overwrite_existing);
    fs::rename(temporary, target);
  }
  return true;
}

}  // namespace sitehost::test
