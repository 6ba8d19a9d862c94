#include "shared/site/exchange.h"

namespace sitehost {

static bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::optional<std::string_view> RequestInfo::header(std::string_view name) const {
  for (const HeaderView& h : headers) {
    if (ascii_iequals(h.name, name)) return h.value;
  }
  return std::nullopt;
}

}  // namespace sitehost
