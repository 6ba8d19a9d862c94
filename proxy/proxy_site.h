// The out-of-process Site: supervises child servers and proxies exchanges to them.
#pragma once

#include <memory>

#include "shared/site/site.h"

namespace sitehost {

std::unique_ptr<Site> make_proxy_site(const SiteConfig& config, const SiteContext& context);

}  // namespace sitehost
