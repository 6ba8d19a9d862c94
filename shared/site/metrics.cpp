#include "shared/site/metrics.h"

namespace sitehost {

SiteMetrics& SiteMetricsRegistry::site(const SiteConfig& config) {
  auto key = std::make_pair(config.name, config.hosting_model);
  auto it = sites_.find(key);
  if (it == sites_.end())
    it = sites_
             .emplace(std::move(key), std::make_unique<SiteMetrics>(
                                          config.name, to_string(config.hosting_model), loops_))
             .first;
  return *it->second;
}

uint64_t SiteMetrics::Totals::requests() const {
  uint64_t n = 0;
  for (uint64_t r : responses) n += r;
  return n;
}

SiteMetrics::Totals SiteMetrics::totals() const {
  Totals t;
  for (size_t l = 0; l < loop_count_; ++l) {
    const SiteLoopCounters& c = loops_[l];
    for (size_t i = 0; i < t.responses.size(); ++i) t.responses[i] += c.responses[i].get();
    for (size_t i = 0; i < t.duration_buckets.size(); ++i)
      t.duration_buckets[i] += c.duration_buckets[i].get();
    t.duration_us += c.duration_us.get();
    t.in_flight += c.in_flight.get();
    t.offline_responses += c.offline_responses.get();
  }
  return t;
}

}  // namespace sitehost
