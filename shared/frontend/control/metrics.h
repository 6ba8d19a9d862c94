// The counters behind `GET /metrics` (Prometheus text format). Owned by the Server; the per-site
// counters (SiteMetrics, shared/site/metrics.h) reach hosting models through SiteContext::metrics.
//
// Threads: each event loop counts into its own LoopMetrics and SiteLoopCounters; the control
// thread sums them when /metrics or /status is read.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "shared/site/metrics.h"

namespace sitehost {

struct RequestContext;

// sitehost_requests_by_protocol_total's label values, by the request's protocol; kNoRequestLine:
// answers to requests whose request line could not be read (a 400 or 408 before it ended).
enum RequestProtocol : size_t { kNoRequestLine, kHttp10, kHttp11, kHttp2, kRequestProtocols };
// How a connection came to speak HTTP/2: TLS with ALPN "h2", or cleartext h2c (prior knowledge).
enum Http2Mode : size_t { kHttp2Tls, kHttp2Cleartext, kHttp2Modes };
// sitehost_http2_goaway_sent_total's reasons, by the GOAWAY's error code (RFC 9113 §7).
enum GoawayReason : size_t {
  kGoawayGraceful,         // NO_ERROR: stop, reload, idle keepalive_timeout
  kGoawayEnhanceYourCalm,  // a flood defence fired
  kGoawayProtocolError,    // the client broke the protocol (or header_timeout passed)
  kGoawayOther,            // COMPRESSION_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR, ...
  kGoawayReasons
};

// One event loop's front-end counters (written by that loop only; see loop_counter.h).
struct alignas(kCacheLine) LoopMetrics {
  LoopGauge connections;  // client connections open on this loop
  LoopCounter requests;   // exchanges ended on this loop
  LoopCounter bytes_received;
  LoopCounter bytes_sent;
  // TLS outcomes of client connections: a handshake completed; a connection closed before its
  // handshake completed (`failed`: the peer sent something that is not an acceptable handshake,
  // e.g. plain HTTP, garbage, TLS 1.1; otherwise incomplete: it closed or timed out mid-way);
  // a bad record after the handshake.
  LoopCounter tls_handshakes_ok;
  LoopCounter tls_handshakes_failed;
  LoopCounter tls_handshakes_incomplete;
  LoopCounter tls_errors;
  LoopCounter health_requests;  // answered by the health endpoint (`[server] health`)
  std::array<LoopCounter, kRequestProtocols> requests_by_protocol;  // exchanges ended, by protocol
  // HTTP/2 (docs/http2.md): connections that chose it, by mode, and those open now; request
  // streams opened; RST_STREAMs the client sent; GOAWAYs the server decided to send, by reason.
  std::array<LoopCounter, kHttp2Modes> http2_connections;
  LoopGauge http2_connections_open;
  LoopCounter http2_streams;
  LoopCounter http2_streams_reset_by_client;
  std::array<LoopCounter, kGoawayReasons> http2_goaways;
};

// The registry of sites' counters (shared/site/metrics.h) plus the front end's own counters.
class Metrics : public SiteMetricsRegistry {
 public:
  explicit Metrics(size_t loops);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // --- event loop `index` (its thread only) ---
  LoopMetrics& loop(unsigned index) { return loops_[index]; }
  // One exchange ended (its response was sent, or the connection was cut after it ended).
  void exchange_done(const RequestContext& context, unsigned loop);

  // --- control thread ---
  void reload_done(bool ok) { ++(ok ? reloads_ok_ : reloads_failed_); }
  // Open client connections, all loops.
  int64_t connections() const;
  // Exchanges ended, all loops.
  uint64_t requests() const;
  // The Prometheus text exposition of everything, listing the per-site series of `sites` (the
  // configured ones) and the requests no site answered.
  std::string render(const std::vector<const SiteMetrics*>& sites) const;

 private:
  // The per-protocol and HTTP/2 series (appended to `out`).
  void render_protocols(std::string& out) const;

  std::unique_ptr<LoopMetrics[]> loops_;
  size_t loop_count_;
  SiteMetrics unrouted_;
  uint64_t reloads_ok_ = 0;
  uint64_t reloads_failed_ = 0;
};

}  // namespace sitehost
