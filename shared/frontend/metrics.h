// The counters behind `GET /metrics` (Prometheus text format). Owned by the Server; the per-site
// counters (SiteMetrics, shared/site/metrics.h) reach hosting models through SiteContext::metrics.
//
// Threads: loop thread only, but for the hosting-model fields of SiteMetrics (atomics).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "shared/site/metrics.h"

namespace sitehost {

struct RequestContext;

// The registry of sites' counters (shared/site/metrics.h) plus the front end's own counters.
class Metrics : public SiteMetricsRegistry {
 public:
  Metrics() = default;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

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
