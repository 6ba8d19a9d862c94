// JSON text helpers for the status documents (admin /status, the sites' status_json()).
#pragma once

#include <string>
#include <string_view>

namespace sitehost {

// `s` as a quoted JSON string (control characters escaped).
std::string json_string(std::string_view s);

}  // namespace sitehost
