// A program on PATH (then in `extra_dirs`): its full path, or empty when it is not installed.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

namespace sitehost::test {

inline std::filesystem::path find_program(const std::string& name,
                                          const std::string& extra_dirs = "") {
  std::stringstream dirs(std::string(std::getenv("PATH") ? std::getenv("PATH") : "") + ":" +
                         extra_dirs);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    std::filesystem::path candidate = std::filesystem::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

}  // namespace sitehost::test
