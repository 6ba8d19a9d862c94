// Per-site counters for `GET /metrics`, the part the hosting models touch. The registry is owned
// by the Server (shared/frontend/metrics.h: `Metrics`, which adds the front end's own counters and
// the text rendering) and reaches sites through SiteContext::metrics. Per-site counters are
// allocated when a site is built and never freed while the registry lives (a site that is
// stopping may still count), so the request path only increments fields.
//
// Threads: the front-end fields are loop-thread only; the hosting-model fields are atomics and
// may be bumped from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "shared/config/config.h"

namespace sitehost {

// Upper bounds (seconds) of the sitehost_request_duration_seconds buckets (+Inf is implied).
inline constexpr std::array<double, 12> kDurationBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1,   0.25,   0.5,   1,    2.5,   10};

struct SiteMetrics {
  SiteMetrics(std::string site_name, std::string model_name)
      : name(std::move(site_name)), model(std::move(model_name)) {}
  SiteMetrics(const SiteMetrics&) = delete;
  SiteMetrics& operator=(const SiteMetrics&) = delete;

  const std::string name;   // site name ("-" for requests no site answered)
  const std::string model;  // "inprocess", "outofprocess" or "-"

  // --- front end (loop thread) ---
  std::array<uint64_t, 5> responses{};  // by status class: [0] = 1xx ... [4] = 5xx
  std::array<uint64_t, kDurationBuckets.size() + 1> duration_buckets{};  // not cumulative
  uint64_t duration_us = 0;                                              // sum
  int64_t in_flight = 0;           // exchanges handed to the site and not yet ended
  uint64_t offline_responses = 0;  // 503s answered from app_offline.htm (also in responses)
  bool offline = false;            // app_offline.htm is present

  // --- hosting models (any thread) ---
  std::atomic<uint64_t> hot_swaps_ok{0};
  std::atomic<uint64_t> hot_swaps_failed{0};
  std::atomic<uint64_t> child_starts{0};
  std::atomic<uint64_t> child_crashes{0};
};

// The sites' counters, by site name and hosting model.
class SiteMetricsRegistry {
 public:
  SiteMetricsRegistry() = default;
  SiteMetricsRegistry(const SiteMetricsRegistry&) = delete;
  SiteMetricsRegistry& operator=(const SiteMetricsRegistry&) = delete;

  // The counters of a site (by name and hosting model), created on first use. The reference
  // stays valid for the registry's life; a site keeps its counters across reloads. Loop thread.
  SiteMetrics& site(const SiteConfig& config);

 private:
  std::map<std::pair<std::string, HostingModel>, std::unique_ptr<SiteMetrics>> sites_;
};

}  // namespace sitehost
