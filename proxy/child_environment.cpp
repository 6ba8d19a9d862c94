#include "proxy/child_environment.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <string_view>

namespace sitehost::proxy {
namespace {

constexpr std::string_view kHostingStartup = "ASPNETCORE_HOSTINGSTARTUPASSEMBLIES";
constexpr std::string_view kUrls = "ASPNETCORE_URLS";
constexpr std::string_view kIisIntegration = "Microsoft.AspNetCore.Server.IISIntegration";

// `list` (';'-separated assembly names) with the IIS integration assembly appended unless it is
// already there (names compared case-insensitively, as .NET compares assembly names).
std::string with_iis_integration(std::string_view list) {
  std::string_view rest = list;
  while (!rest.empty()) {
    size_t end = rest.find(';');
    std::string_view item = rest.substr(0, end);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.size() == kIisIntegration.size() &&
        std::equal(item.begin(), item.end(), kIisIntegration.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        }))
      return std::string(list);
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  std::string out(list);
  if (!out.empty() && out.back() != ';') out.push_back(';');
  return out.append(kIisIntegration);
}

}  // namespace

bool per_child_variable(std::string_view name) {
  return name == "ASPNETCORE_PORT" || name == "ASPNETCORE_TOKEN" ||
         name == "ASPNETCORE_APPL_PATH" || name == "ASPNETCORE_IIS_PHYSICAL_PATH";
}

std::vector<std::string> child_base_environment(const SiteConfig& config, char** inherited,
                                                uint16_t https_port) {
  // Ordered by name so a child's environment is the same from one start to the next.
  std::map<std::string, std::string, std::less<>> vars;
  for (char** e = inherited; e && *e; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    vars.insert_or_assign(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  auto site_sets = [&](std::string_view name) {
    return config.environment.count(std::string(name)) != 0;
  };
  // ANCM's defaults replace what sitehost itself inherited, but not what the site sets.
  auto set_default = [&](std::string_view name, std::string value) {
    if (!site_sets(name)) vars.insert_or_assign(std::string(name), std::move(value));
  };
  for (const auto& [name, value] : config.environment) vars.insert_or_assign(name, value);
  set_default("ASPNETCORE_IIS_HTTPAUTH", "anonymous;");
  set_default("ASPNETCORE_IIS_WEBSOCKETS_SUPPORTED", "true");
  if (https_port != 0) set_default("ASPNETCORE_ANCM_HTTPS_PORT", std::to_string(https_port));
  // The slot sets ASPNETCORE_URLS to the child's own address unless the site chose a value.
  if (!site_sets(kUrls)) vars.erase(std::string(kUrls));
  auto startup = vars.find(kHostingStartup);
  std::string assemblies = with_iis_integration(startup == vars.end() ? "" : startup->second);
  vars.insert_or_assign(std::string(kHostingStartup), std::move(assemblies));

  std::vector<std::string> out;
  out.reserve(vars.size());
  for (const auto& [name, value] : vars)
    if (!per_child_variable(name)) out.push_back(name + "=" + value);
  return out;
}

}  // namespace sitehost::proxy
