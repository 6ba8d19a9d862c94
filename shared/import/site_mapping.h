// Maps the web.config elements that mean something to sitehost onto [[site]] keys. Values that
// do not fit are errors, attributes and elements without a sitehost meaning are warnings; both
// name the attribute and the value, at its line.
#pragma once

#include <pugixml.hpp>

#include "shared/import/diagnostics.h"
#include "shared/import/imported_site.h"
#include "shared/import/xml_source.h"

namespace sitehost::import_detail {

// Where a mapping function reads from and reports to.
struct MapContext {
  const XmlSource& xml;
  Diagnostics& d;
};

// <aspNetCore>: its attributes and its child elements (aspnetcore_section.cpp).
void map_aspnetcore(const MapContext& c, const pugi::xml_node& element, ImportedSite& site);

// <environmentVariables> → environment (aspnetcore_children.cpp).
void map_environment(const MapContext& c, const pugi::xml_node& element, ImportedSite& site);

// <handlerSettings>: none has a sitehost key; each is a warning saying why
// (aspnetcore_children.cpp).
void map_handler_settings(const MapContext& c, const pugi::xml_node& element);

// <requestLimits maxAllowedContentLength> → max_allowed_content_length (request_limits.cpp).
void map_request_limits(const MapContext& c, const pugi::xml_node& element, ImportedSite& site);

}  // namespace sitehost::import_detail
