// JSON text helpers for the status documents (admin /status, the sites' status_json()).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace sitehost {

// `s` as a quoted JSON string (control characters escaped).
std::string json_string(std::string_view s);

// The shape every site's status_json() shares: {"state":<state>,<members>,"last_error":null} or
// {"state":<state>,<members>,"last_error":"<text>","last_error_unix_ms":<ms since the epoch>}.
// `members` is the hosting model's own `"name":value` list, comma-separated, without the commas
// around it.
std::string json_site_status(std::string_view state, std::string_view members,
                             std::string_view last_error,
                             std::chrono::system_clock::time_point last_error_time);

}  // namespace sitehost
