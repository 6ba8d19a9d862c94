#include "shared/frontend/bin/import_command.h"

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "shared/import/web_config_import.h"

namespace sitehost {
namespace {

constexpr const char* kImportUsage =
    "Usage: sitehost import [--name NAME] [--binding URL]... WEB_CONFIG\n"
    "\n"
    "Prints a [[site]] table for sitehost's config file from an IIS web.config (as written by\n"
    "dotnet publish). Warnings and errors go to stderr as FILE:LINE: warning|error: MESSAGE.\n"
    "WEB_CONFIG may be the app's folder (its web.config is read).\n"
    "\n"
    "  --name NAME     the site's name (default: the app's, e.g. MyApp of MyApp.dll)\n"
    "  --binding URL   a binding, e.g. http://*:8080 (repeatable; default: http://*:8080)\n"
    "\n"
    "Exit status: 0 printed, 1 the web.config cannot be imported, 2 usage.\n";

int usage_error(const char* format, const char* arg) {
  std::fputs("sitehost import: ", stderr);
  std::fprintf(stderr, format, arg);
  std::fprintf(stderr, "\n\n%s", kImportUsage);
  return 2;
}

}  // namespace

int run_import(int argc, char** argv) {
  ImportOptions options;
  std::string file;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    bool has_value = i + 1 < argc;
    if (arg == "-h" || arg == "--help") {
      std::fputs(kImportUsage, stdout);
      return 0;
    }
    if (arg == "--name" && has_value) {
      options.name = argv[++i];
    } else if (arg.starts_with("--name=")) {
      options.name = std::string(arg.substr(7));
    } else if (arg == "--binding" && has_value) {
      options.bindings.emplace_back(argv[++i]);
    } else if (arg.starts_with("--binding=")) {
      options.bindings.emplace_back(arg.substr(10));
    } else if (arg.starts_with("-") && arg != "-") {
      return usage_error("unknown option or missing value '%s'", argv[i]);
    } else if (!file.empty()) {
      return usage_error("one web.config at a time ('%s' is extra)", argv[i]);
    } else {
      file = argv[i];
    }
  }
  if (file.empty()) return usage_error("%s", "which web.config?");
  if (std::string why = check_import_options(options); !why.empty()) {
    return usage_error("%s", why.c_str());
  }
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) file = (std::filesystem::path(file) / "web.config");

  ImportResult result = import_web_config(file, options);
  for (const std::string& line : result.diagnostics) std::fprintf(stderr, "%s\n", line.c_str());
  if (!result.ok()) return 1;
  std::fputs(result.toml.c_str(), stdout);
  return 0;
}

}  // namespace sitehost
