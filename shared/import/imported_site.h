// What an import found: the [[site]] keys to print, already in sitehost's spelling. Optional
// keys are set only when the web.config sets them, so sitehost's defaults stay implicit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sitehost::import_detail {

struct ImportedSite {
  std::string name;
  std::vector<std::string> bindings;
  std::string path = "/";
  std::string physical_path;  // absolute: the web.config's folder
  std::string process_path;   // relative to physical_path, absolute, or a bare name (PATH)
  std::optional<std::vector<std::string>> arguments;
  std::vector<std::pair<std::string, std::string>> environment;  // in file order
  std::optional<uint64_t> max_allowed_content_length;
  std::optional<std::string> startup_time_limit;  // durations: "120s", "2m"
  std::optional<std::string> shutdown_time_limit;
  std::optional<std::string> request_timeout;
  std::optional<uint64_t> rapid_fails_per_minute;
  std::optional<bool> stdout_log_enabled;
  std::optional<std::string> stdout_log_file;
  std::optional<uint64_t> processes;

  // Not printed: the app's name from processPath/arguments ("SiteApp" of "SiteApp.dll"), the
  // default for `name`.
  std::string app_name;
};

}  // namespace sitehost::import_detail
