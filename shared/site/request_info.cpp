#include "shared/http/field_rules.h"
#include "shared/site/exchange.h"

namespace sitehost {

std::optional<std::string_view> RequestInfo::header(std::string_view name) const {
  for (const HeaderView& h : headers) {
    if (http::iequals(h.name, name)) return h.value;
  }
  return std::nullopt;
}

}  // namespace sitehost
