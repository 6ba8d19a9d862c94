// Per-site counters for `GET /metrics`, the part the hosting models touch. The registry is owned
// by the Server (shared/frontend/control/metrics.h: `Metrics`, which adds the front end's own
// counters and the text rendering) and reaches sites through SiteContext::metrics. Per-site
// counters are allocated when a site is built and never freed while the registry lives (a site that
// is stopping may still count), so the request path only increments fields.
//
// Threads: each event loop counts into its own SiteLoopCounters (summed when read); the other
// fields are atomics any thread may bump.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "shared/config/config.h"
#include "shared/thread/loop_counter.h"

namespace sitehost {

// Upper bounds (seconds) of the sitehost_request_duration_seconds buckets (+Inf is implied).
inline constexpr std::array<double, 12> kDurationBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1,   0.25,   0.5,   1,    2.5,   10};

// One event loop's counters for one site (written by that loop only; see loop_counter.h).
struct alignas(kCacheLine) SiteLoopCounters {
  std::array<LoopCounter, 5> responses{};  // by status class: [0] = 1xx ... [4] = 5xx
  std::array<LoopCounter, kDurationBuckets.size() + 1> duration_buckets{};  // not cumulative
  LoopCounter duration_us;                                                  // sum
  LoopGauge in_flight;            // exchanges routed to the site on this loop and not yet ended
  LoopCounter offline_responses;  // 503s answered from app_offline.htm (also in responses)
};

struct SiteMetrics {
  SiteMetrics(std::string site_name, std::string model_name, size_t loops)
      : name(std::move(site_name)),
        model(std::move(model_name)),
        loops_(std::make_unique<SiteLoopCounters[]>(loops)),
        loop_count_(loops) {}
  SiteMetrics(const SiteMetrics&) = delete;
  SiteMetrics& operator=(const SiteMetrics&) = delete;

  const std::string name;   // site name ("-" for requests no site answered)
  const std::string model;  // "inprocess", "outofprocess" or "-"

  // --- front end: loop `index`'s own counters (that loop's thread only) ---
  SiteLoopCounters& loop(unsigned index) { return loops_[index]; }

  // The loops' counters summed (any thread).
  struct Totals {
    std::array<uint64_t, 5> responses{};
    std::array<uint64_t, kDurationBuckets.size() + 1> duration_buckets{};
    uint64_t duration_us = 0;
    int64_t in_flight = 0;
    uint64_t offline_responses = 0;
    uint64_t requests() const;
  };
  Totals totals() const;

  // --- any thread ---
  std::atomic<bool> offline{false};  // app_offline.htm is present
  std::atomic<uint64_t> hot_swaps_ok{0};
  std::atomic<uint64_t> hot_swaps_failed{0};
  std::atomic<uint64_t> child_starts{0};
  std::atomic<uint64_t> child_crashes{0};

 private:
  std::unique_ptr<SiteLoopCounters[]> loops_;
  size_t loop_count_;
};

// The sites' counters, by site name and hosting model.
class SiteMetricsRegistry {
 public:
  // `loops`: the number of event loops (each site keeps counters per loop).
  explicit SiteMetricsRegistry(size_t loops = 1) : loops_(loops) {}
  SiteMetricsRegistry(const SiteMetricsRegistry&) = delete;
  SiteMetricsRegistry& operator=(const SiteMetricsRegistry&) = delete;

  // The counters of a site (by name and hosting model), created on first use. The reference
  // stays valid for the registry's life; a site keeps its counters across reloads. Control
  // thread (hosting models get their site's counters in SiteContext::site_metrics).
  SiteMetrics& site(const SiteConfig& config);
  size_t loops() const { return loops_; }

 private:
  size_t loops_;
  std::map<std::pair<std::string, HostingModel>, std::unique_ptr<SiteMetrics>> sites_;
};

}  // namespace sitehost
