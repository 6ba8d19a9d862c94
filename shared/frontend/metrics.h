// The counters behind `GET /metrics` (Prometheus text format). Owned by the Server, reachable by
// hosting models through SiteContext::metrics. Per-site counters are allocated when a site is
// built and never freed while the Server lives (a site that is stopping may still count), so the
// request path only increments fields.
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
#include <vector>

#include "shared/config/config.h"

namespace sitehost {

struct RequestContext;

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

class Metrics {
 public:
  Metrics() = default;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The counters of a site (by name and hosting model), created on first use. The reference
  // stays valid for the Metrics' life; a site keeps its counters across reloads. Loop thread.
  SiteMetrics& site(const SiteConfig& config) {
    auto key = std::make_pair(config.name, config.hosting_model);
    auto it = sites_.find(key);
    if (it == sites_.end())
      it = sites_
               .emplace(std::move(key),
                        std::make_unique<SiteMetrics>(config.name, to_string(config.hosting_model)))
               .first;
    return *it->second;
  }

  // --- front-end hooks (loop thread) ---
  // One exchange ended (its response was sent, or the connection was cut after it ended).
  void exchange_done(const RequestContext& context);
  void add_received(uint64_t bytes) { bytes_received_ += bytes; }
  void add_sent(uint64_t bytes) { bytes_sent_ += bytes; }
  void reload_done(bool ok) { ++(ok ? reloads_ok_ : reloads_failed_); }
  // TLS outcomes of client connections: a handshake completed; a connection closed before its
  // handshake completed (`failed`: the peer sent something that is not an acceptable handshake,
  // e.g. plain HTTP, garbage, TLS 1.1; otherwise incomplete: it closed or timed out mid-way);
  // a bad record after the handshake.
  void tls_handshake_done() { ++tls_handshakes_ok_; }
  void tls_handshake_not_done(bool failed) {
    ++(failed ? tls_handshakes_failed_ : tls_handshakes_incomplete_);
  }
  void tls_error_after_handshake() { ++tls_errors_; }

  // The Prometheus text exposition of everything, listing the per-site series of `sites` (the
  // configured ones) and the requests no site answered.
  std::string render(size_t connections, const std::vector<const SiteMetrics*>& sites) const;

 private:
  std::map<std::pair<std::string, HostingModel>, std::unique_ptr<SiteMetrics>> sites_;
  SiteMetrics unrouted_{"-", "-"};
  uint64_t bytes_received_ = 0;
  uint64_t bytes_sent_ = 0;
  uint64_t reloads_ok_ = 0;
  uint64_t reloads_failed_ = 0;
  uint64_t tls_handshakes_ok_ = 0;
  uint64_t tls_handshakes_failed_ = 0;
  uint64_t tls_handshakes_incomplete_ = 0;
  uint64_t tls_errors_ = 0;
};

}  // namespace sitehost
