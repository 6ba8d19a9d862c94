#include "shared/import/web_config_walk.h"

#include <fmt/format.h>

#include <string_view>

#include "shared/config/text.h"

namespace sitehost::import_detail {
namespace {

using config_detail::quote;

class Walker {
 public:
  Walker(const XmlSource& xml, Diagnostics& d) : xml_(xml), d_(d) {}

  std::optional<Sections> run();

 private:
  void location(const pugi::xml_node& element);
  void web_server(const pugi::xml_node& element);
  void security(const pugi::xml_node& element);
  // Keeps the first of an element the app may have only once; a second one is an error.
  void take_once(pugi::xml_node& slot, const pugi::xml_node& element);

  const XmlSource& xml_;
  Diagnostics& d_;
  Sections found_;
  bool duplicate_ = false;
};

bool is_element(const pugi::xml_node& node) {
  return node.type() == pugi::node_element;
}

std::optional<Sections> Walker::run() {
  pugi::xml_node root = xml_.document().document_element();
  if (std::string_view(root.name()) != "configuration") {
    d_.error(xml_.line_of(root),
             fmt::format("the root element is <{}>, not <configuration>: not a web.config",
                         root.name()));
    return std::nullopt;
  }
  for (pugi::xml_node child : root.children()) {
    if (!is_element(child)) continue;
    std::string_view name = child.name();
    if (name == "location") {
      location(child);
    } else if (name == "system.webServer") {
      web_server(child);
    } else {
      warn_unmapped_element(xml_, d_, child);
    }
  }
  if (duplicate_) return std::nullopt;
  if (!found_.aspnetcore) {
    d_.error(0,
             "no <aspNetCore> element (in <system.webServer>, at the top level or in "
             "<location path=\".\">): this web.config does not run an app through the "
             "ASP.NET Core Module");
    return std::nullopt;
  }
  return found_;
}

// <location path="."> (or no path, or "") is the app itself; another path is a sub-folder or
// child app whose settings a single [[site]] cannot hold.
void Walker::location(const pugi::xml_node& element) {
  std::string_view path = element.attribute("path").value();
  if (!path.empty() && path != ".") {
    d_.warn(xml_.line_of(element),
            fmt::format("<location path={}> configures a part of the app below it; sitehost "
                        "import reads only the app's own settings; ignored",
                        quote(path)));
    return;
  }
  for (pugi::xml_node child : element.children()) {
    if (!is_element(child)) continue;
    if (std::string_view(child.name()) == "system.webServer") {
      web_server(child);
    } else {
      warn_unmapped_element(xml_, d_, child);
    }
  }
}

void Walker::web_server(const pugi::xml_node& element) {
  for (pugi::xml_node child : element.children()) {
    if (!is_element(child)) continue;
    std::string_view name = child.name();
    if (name == "aspNetCore") {
      take_once(found_.aspnetcore, child);
    } else if (name == "security") {
      security(child);
    } else if (name != "handlers") {  // <handlers> routes the app to ANCM: what a site is
      warn_unmapped_element(xml_, d_, child);
    }
  }
}

void Walker::security(const pugi::xml_node& element) {
  for (pugi::xml_node child : element.children()) {
    if (!is_element(child)) continue;
    if (std::string_view(child.name()) != "requestFiltering") {
      warn_unmapped_element(xml_, d_, child);
      continue;
    }
    for (pugi::xml_attribute a : child.attributes()) warn_unmapped_attribute(xml_, d_, child, a);
    for (pugi::xml_node filter : child.children()) {
      if (!is_element(filter)) continue;
      if (std::string_view(filter.name()) == "requestLimits") {
        take_once(found_.request_limits, filter);
      } else {
        warn_unmapped_element(xml_, d_, filter);
      }
    }
  }
}

void Walker::take_once(pugi::xml_node& slot, const pugi::xml_node& element) {
  if (!slot) {
    slot = element;
    return;
  }
  d_.error(xml_.line_of(element),
           fmt::format("a second <{}> element for the app (the first is at line {}); IIS "
                       "rejects this too",
                       element.name(), xml_.line_of(slot)));
  duplicate_ = true;
}

}  // namespace

std::optional<Sections> find_sections(const XmlSource& xml, Diagnostics& d) {
  return Walker(xml, d).run();
}

void warn_unmapped_element(const XmlSource& xml, Diagnostics& d, const pugi::xml_node& child) {
  d.warn(xml.line_of(child), fmt::format("<{}> element <{}> has no sitehost equivalent; ignored",
                                         child.parent().name(), child.name()));
}

void warn_unmapped_attribute(const XmlSource& xml, Diagnostics& d, const pugi::xml_node& element,
                             const pugi::xml_attribute& attribute) {
  d.warn(xml.line_of(attribute, element),
         fmt::format("<{}> attribute '{}' has no sitehost equivalent; ignored", element.name(),
                     attribute.name()));
}

}  // namespace sitehost::import_detail
