// Finds the parts of a web.config that sitehost maps, walking <configuration>, <location> and
// <system.webServer>; every other element on the way is a warning (no sitehost meaning).
#pragma once

#include <pugixml.hpp>

#include <optional>

#include "shared/import/diagnostics.h"
#include "shared/import/xml_source.h"

namespace sitehost::import_detail {

struct Sections {
  pugi::xml_node aspnetcore;      // <aspNetCore>: always set when found
  pugi::xml_node request_limits;  // <security><requestFiltering><requestLimits>, or empty
};

// nullopt (with the error recorded) when the root is not <configuration>, when <aspNetCore> or
// <requestLimits> appear twice for the app, or when there is no <aspNetCore>.
std::optional<Sections> find_sections(const XmlSource& xml, Diagnostics& d);

// "<PARENT> element <CHILD> has no sitehost equivalent; ignored", at the child's line.
void warn_unmapped_element(const XmlSource& xml, Diagnostics& d, const pugi::xml_node& child);

// "<ELEMENT> attribute 'NAME' has no sitehost equivalent; ignored", at the attribute's line.
void warn_unmapped_attribute(const XmlSource& xml, Diagnostics& d, const pugi::xml_node& element,
                             const pugi::xml_attribute& attribute);

}  // namespace sitehost::import_detail
