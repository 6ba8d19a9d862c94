#include "shared/site/metrics.h"

namespace sitehost {

SiteMetrics& SiteMetricsRegistry::site(const SiteConfig& config) {
  auto key = std::make_pair(config.name, config.hosting_model);
  auto it = sites_.find(key);
  if (it == sites_.end())
    it = sites_
             .emplace(std::move(key),
                      std::make_unique<SiteMetrics>(config.name, to_string(config.hosting_model)))
             .first;
  return *it->second;
}

}  // namespace sitehost
