#include "shared/util/json.h"

#include <fmt/format.h>

#include <iterator>

namespace sitehost {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20)
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
        else
          out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string json_site_status(std::string_view state, std::string_view members,
                             std::string_view last_error,
                             std::chrono::system_clock::time_point last_error_time) {
  std::string out = fmt::format("{{\"state\":{},{},\"last_error\":", json_string(state), members);
  if (last_error.empty()) {
    out += "null";
  } else {
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(last_error_time.time_since_epoch())
            .count();
    fmt::format_to(std::back_inserter(out), "{},\"last_error_unix_ms\":{}", json_string(last_error),
                   ms);
  }
  return out + "}";
}

}  // namespace sitehost
