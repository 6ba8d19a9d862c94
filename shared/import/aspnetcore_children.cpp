// <aspNetCore>'s child collections: <environmentVariables> and <handlerSettings>.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string>
#include <string_view>

#include "shared/config/text.h"
#include "shared/import/site_mapping.h"
#include "shared/import/web_config_walk.h"

namespace sitehost::import_detail {
namespace {

using config_detail::lower_ascii;
using config_detail::quote;

bool is_element(const pugi::xml_node& node) {
  return node.type() == pugi::node_element;
}

// Warns about the attributes of `element` other than `name` and `value`.
void warn_other_attributes(const MapContext& c, const pugi::xml_node& element) {
  for (pugi::xml_attribute a : element.attributes()) {
    std::string_view name = a.name();
    if (name != "name" && name != "value") warn_unmapped_attribute(c.xml, c.d, element, a);
  }
}

// Why a handler setting has no sitehost key.
std::string_view handler_setting_reason(std::string_view name) {
  std::string lower = lower_ascii(name);
  if (lower == "debugfile" || lower == "debuglevel") {
    return "ANCM's own debug log; sitehost logs to [server] error_log at [server] log_level";
  }
  if (lower == "enableshadowcopy" || lower == "experimentalenableshadowcopy" ||
      lower == "shadowcopydirectory" || lower == "shutdowndelay" || lower == "stacksize" ||
      lower == "callstartuphook") {
    return "it applies to ANCM's in-process .NET hosting; the imported site runs out-of-process";
  }
  return {};
}

}  // namespace

// IIS collection semantics: <environmentVariable> adds (a name twice is an error, compared
// case-insensitively like Windows' environment), <remove name> drops one, <clear/> drops all.
void map_environment(const MapContext& c, const pugi::xml_node& element, ImportedSite& site) {
  for (pugi::xml_attribute a : element.attributes())
    warn_unmapped_attribute(c.xml, c.d, element, a);
  auto& env = site.environment;
  std::map<std::string, uint32_t> lines;  // lower-cased name → line of its element
  for (pugi::xml_node child : element.children()) {
    if (!is_element(child)) continue;
    std::string_view kind = child.name();
    uint32_t line = c.xml.line_of(child);
    std::string name = child.attribute("name").value();
    std::string key = lower_ascii(name);
    auto same = [&key](const auto& entry) { return lower_ascii(entry.first) == key; };
    if (kind == "clear") {
      env.clear();
      lines.clear();
    } else if (kind == "remove") {
      env.erase(std::remove_if(env.begin(), env.end(), same), env.end());
      lines.erase(key);
    } else if (kind != "environmentVariable") {
      warn_unmapped_element(c.xml, c.d, child);
    } else if (name.empty() || name.find('=') != std::string::npos) {
      c.d.error(line, fmt::format("<environmentVariable> name must be non-empty and contain no "
                                  "'=', got {}",
                                  quote(name)));
    } else if (auto [it, added] = lines.emplace(key, line); !added) {
      c.d.error(line, fmt::format("environment variable {} is set twice (first at line {})",
                                  quote(name), it->second));
    } else {
      warn_other_attributes(c, child);
      env.emplace_back(name, child.attribute("value").value());
    }
  }
}

void map_handler_settings(const MapContext& c, const pugi::xml_node& element) {
  for (pugi::xml_attribute a : element.attributes())
    warn_unmapped_attribute(c.xml, c.d, element, a);
  for (pugi::xml_node child : element.children()) {
    if (!is_element(child)) continue;
    if (std::string_view(child.name()) != "handlerSetting") {
      warn_unmapped_element(c.xml, c.d, child);
      continue;
    }
    std::string_view name = child.attribute("name").value();
    std::string_view reason = handler_setting_reason(name);
    c.d.warn(
        c.xml.line_of(child),
        fmt::format("<handlerSetting> {} has no sitehost equivalent{}{}{}; ignored", quote(name),
                    reason.empty() ? "" : " (", reason, reason.empty() ? "" : ")"));
  }
}

}  // namespace sitehost::import_detail
