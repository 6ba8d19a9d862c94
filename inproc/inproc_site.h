// The in-process Site: serves exchanges by calling a dlopen'ed handler library.
#pragma once

#include <memory>

#include "shared/site/site.h"

namespace sitehost {

std::unique_ptr<Site> make_inproc_site(const SiteConfig& config, const SiteContext& context);

}  // namespace sitehost
