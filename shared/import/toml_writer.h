// Prints an ImportedSite as a [[site]] table that sitehost's config loader reads back.
#pragma once

#include <string>
#include <string_view>

#include "shared/import/imported_site.h"

namespace sitehost::import_detail {

// A TOML basic string: quoted, with '"', '\' and control characters escaped.
std::string toml_string(std::string_view text);

// A TOML key: bare when it is made of A-Z a-z 0-9 _ -, else a quoted string.
std::string toml_key(std::string_view key);

// "# COMMENT" (one line per line of `comment`), then "[[site]]" and one `key = value` line per
// key that is set, in the order docs/configuration.md lists them.
std::string write_site_toml(const ImportedSite& site, std::string_view comment);

}  // namespace sitehost::import_detail
