#include <fmt/format.h>

#include <string_view>

#include "shared/config/text.h"
#include "shared/import/attribute_values.h"
#include "shared/import/site_mapping.h"
#include "shared/import/web_config_walk.h"

namespace sitehost::import_detail {

void map_request_limits(const MapContext& c, const pugi::xml_node& element, ImportedSite& site) {
  constexpr uint64_t kIisMax = 4294967295;  // the attribute is IIS's uint
  for (pugi::xml_attribute a : element.attributes()) {
    if (std::string_view(a.name()) != "maxAllowedContentLength") {
      warn_unmapped_attribute(c.xml, c.d, element, a);
      continue;
    }
    if (auto bytes = parse_count(a.value(), kIisMax)) {
      site.max_allowed_content_length = *bytes;
    } else {
      c.d.error(c.xml.line_of(a, element),
                fmt::format("<requestLimits> attribute 'maxAllowedContentLength' must be a whole "
                            "number of bytes from 0 to {}, got {}",
                            kIisMax, config_detail::quote(a.value())));
    }
  }
  for (pugi::xml_node child : element.children()) {
    if (child.type() == pugi::node_element) warn_unmapped_element(c.xml, c.d, child);
  }
}

}  // namespace sitehost::import_detail
