#include "shared/frontend/control/metrics.h"

#include <fmt/format.h>

#include <chrono>
#include <iterator>

#include "shared/frontend/worker/request_context.h"

namespace sitehost {

Metrics::Metrics(size_t loops)
    : SiteMetricsRegistry(loops),
      loops_(std::make_unique<LoopMetrics[]>(loops)),
      loop_count_(loops),
      unrouted_("-", "-", loops) {}

namespace {

RequestProtocol protocol_of(const RequestContext& c) {
  if (c.info.http_major == 2) return kHttp2;  // set when the stream begins (Http2Stream::begin)
  if (!c.dispatched && c.info.method.empty()) return kNoRequestLine;
  return c.info.http_minor == 0 ? kHttp10 : kHttp11;
}

}  // namespace

void Metrics::exchange_done(const RequestContext& c, unsigned loop) {
  // (in_flight is counted by the worker: Worker::begin_routed / return_context.)
  SiteLoopCounters& m = (c.metrics ? *c.metrics : unrouted_).loop(loop);
  loops_[loop].requests.add();
  loops_[loop].requests_by_protocol[protocol_of(c)].add();
  int cls = c.status / 100;
  cls = cls < 1 ? 1 : cls > 5 ? 5 : cls;
  m.responses[static_cast<size_t>(cls - 1)].add();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                  c.started)
                .count();
  uint64_t micros = us > 0 ? static_cast<uint64_t>(us) : 0;
  m.duration_us.add(micros);
  size_t bucket = 0;
  while (bucket < kDurationBuckets.size() &&
         static_cast<double>(micros) > kDurationBuckets[bucket] * 1e6)
    ++bucket;
  m.duration_buckets[bucket].add();
}

int64_t Metrics::connections() const {
  int64_t n = 0;
  for (size_t i = 0; i < loop_count_; ++i) n += loops_[i].connections.get();
  return n;
}

uint64_t Metrics::requests() const {
  uint64_t n = 0;
  for (size_t i = 0; i < loop_count_; ++i) n += loops_[i].requests.get();
  return n;
}

namespace {

// Label values are site names ([A-Za-z0-9._-]) and fixed words; escape anyway.
std::string label(std::string_view value) {
  std::string out;
  for (char ch : value) {
    if (ch == '\\' || ch == '"') out += '\\';
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out += ch;
  }
  return out;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

std::string Metrics::render(const std::vector<const SiteMetrics*>& configured) const {
  std::vector<const SiteMetrics*> all = configured;
  all.push_back(&unrouted_);
  std::vector<SiteMetrics::Totals> totals;
  totals.reserve(all.size());
  for (const SiteMetrics* m : all) totals.push_back(m->totals());
  uint64_t bytes_received = 0, bytes_sent = 0, tls_ok = 0, tls_failed = 0, tls_incomplete = 0,
           tls_errors = 0, health = 0;
  for (size_t i = 0; i < loop_count_; ++i) {
    const LoopMetrics& l = loops_[i];
    bytes_received += l.bytes_received.get();
    bytes_sent += l.bytes_sent.get();
    tls_ok += l.tls_handshakes_ok.get();
    tls_failed += l.tls_handshakes_failed.get();
    tls_incomplete += l.tls_handshakes_incomplete.get();
    tls_errors += l.tls_errors.get();
    health += l.health_requests.get();
  }
  std::string out;
  out.reserve(4096 + all.size() * 2048);
  auto it = std::back_inserter(out);

  header(out, "sitehost_requests_total", "counter",
         "Responses sent, by site, hosting model and status class (site \"-\": no site matched).");
  static constexpr const char* kClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  for (size_t s = 0; s < all.size(); ++s)
    for (size_t i = 0; i < totals[s].responses.size(); ++i)
      fmt::format_to(
          it, "sitehost_requests_total{{site=\"{}\",model=\"{}\",status_class=\"{}\"}} {}\n",
          label(all[s]->name), label(all[s]->model), kClasses[i], totals[s].responses[i]);

  header(out, "sitehost_request_duration_seconds", "histogram",
         "Time from the first byte of a request to the end of its response.");
  for (size_t s = 0; s < all.size(); ++s) {
    const SiteMetrics::Totals& m = totals[s];
    std::string site = label(all[s]->name);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < m.duration_buckets.size(); ++i) {
      cumulative += m.duration_buckets[i];
      if (i < kDurationBuckets.size())
        fmt::format_to(it, "sitehost_request_duration_seconds_bucket{{site=\"{}\",le=\"{}\"}} {}\n",
                       site, kDurationBuckets[i], cumulative);
      else
        fmt::format_to(it,
                       "sitehost_request_duration_seconds_bucket{{site=\"{}\",le=\"+Inf\"}} {}\n",
                       site, cumulative);
    }
    fmt::format_to(it, "sitehost_request_duration_seconds_sum{{site=\"{}\"}} {:.6f}\n", site,
                   static_cast<double>(m.duration_us) / 1e6);
    fmt::format_to(it, "sitehost_request_duration_seconds_count{{site=\"{}\"}} {}\n", site,
                   cumulative);
  }

  header(out, "sitehost_requests_in_flight", "gauge", "Requests a site is answering now.");
  for (size_t s = 0; s < configured.size(); ++s)
    fmt::format_to(it, "sitehost_requests_in_flight{{site=\"{}\"}} {}\n",
                   label(configured[s]->name), totals[s].in_flight);

  header(out, "sitehost_site_offline", "gauge", "1 while the site's app_offline.htm is present.");
  for (const SiteMetrics* m : configured)
    fmt::format_to(it, "sitehost_site_offline{{site=\"{}\"}} {}\n", label(m->name),
                   m->offline.load(std::memory_order_relaxed) ? 1 : 0);

  header(out, "sitehost_offline_responses_total", "counter",
         "503 responses answered from app_offline.htm (also counted in sitehost_requests_total).");
  for (size_t s = 0; s < configured.size(); ++s)
    fmt::format_to(it, "sitehost_offline_responses_total{{site=\"{}\"}} {}\n",
                   label(configured[s]->name), totals[s].offline_responses);

  header(out, "sitehost_hot_swaps_total", "counter",
         "In-process handler swaps and out-of-process overlapped recycles, by result.");
  for (const SiteMetrics* m : configured) {
    fmt::format_to(it, "sitehost_hot_swaps_total{{site=\"{}\",result=\"ok\"}} {}\n", label(m->name),
                   m->hot_swaps_ok.load(std::memory_order_relaxed));
    fmt::format_to(it, "sitehost_hot_swaps_total{{site=\"{}\",result=\"failed\"}} {}\n",
                   label(m->name), m->hot_swaps_failed.load(std::memory_order_relaxed));
  }

  header(out, "sitehost_child_starts_total", "counter", "Child processes started.");
  for (const SiteMetrics* m : configured)
    fmt::format_to(it, "sitehost_child_starts_total{{site=\"{}\"}} {}\n", label(m->name),
                   m->child_starts.load(std::memory_order_relaxed));
  header(out, "sitehost_child_crashes_total", "counter",
         "Child processes that exited without being asked to, or failed to start.");
  for (const SiteMetrics* m : configured)
    fmt::format_to(it, "sitehost_child_crashes_total{{site=\"{}\"}} {}\n", label(m->name),
                   m->child_crashes.load(std::memory_order_relaxed));

  header(out, "sitehost_connections_active", "gauge", "Client connections open now.");
  fmt::format_to(it, "sitehost_connections_active {}\n", connections());
  header(out, "sitehost_bytes_received_total", "counter", "Bytes read from client connections.");
  fmt::format_to(it, "sitehost_bytes_received_total {}\n", bytes_received);
  header(out, "sitehost_bytes_sent_total", "counter", "Bytes written to client connections.");
  fmt::format_to(it, "sitehost_bytes_sent_total {}\n", bytes_sent);
  header(out, "sitehost_reloads_total", "counter",
         "Config reloads (SIGHUP, ctl reload), by result.");
  fmt::format_to(it, "sitehost_reloads_total{{result=\"ok\"}} {}\n", reloads_ok_);
  fmt::format_to(it, "sitehost_reloads_total{{result=\"failed\"}} {}\n", reloads_failed_);
  header(out, "sitehost_tls_handshakes_total", "counter",
         "TLS handshakes on client connections, by result (failed: bad TLS input or refused "
         "version/cipher; incomplete: closed or timed out mid-handshake).");
  fmt::format_to(it, "sitehost_tls_handshakes_total{{result=\"ok\"}} {}\n", tls_ok);
  fmt::format_to(it, "sitehost_tls_handshakes_total{{result=\"failed\"}} {}\n", tls_failed);
  fmt::format_to(it, "sitehost_tls_handshakes_total{{result=\"incomplete\"}} {}\n", tls_incomplete);
  header(out, "sitehost_tls_errors_total", "counter",
         "Client connections closed for bad TLS input after the handshake.");
  fmt::format_to(it, "sitehost_tls_errors_total {}\n", tls_errors);
  header(out, "sitehost_health_requests_total", "counter",
         "Requests answered by the health endpoint (also counted in sitehost_requests_total "
         "under site \"-\").");
  fmt::format_to(it, "sitehost_health_requests_total {}\n", health);
  render_protocols(out);
  return out;
}

void Metrics::render_protocols(std::string& out) const {
  std::array<uint64_t, kRequestProtocols> requests{};
  std::array<uint64_t, kHttp2Modes> connections{};
  std::array<uint64_t, kGoawayReasons> goaways{};
  int64_t open = 0;
  uint64_t streams = 0, resets = 0;
  for (size_t i = 0; i < loop_count_; ++i) {
    const LoopMetrics& l = loops_[i];
    for (size_t p = 0; p < requests.size(); ++p) requests[p] += l.requests_by_protocol[p].get();
    for (size_t m = 0; m < connections.size(); ++m) connections[m] += l.http2_connections[m].get();
    for (size_t r = 0; r < goaways.size(); ++r) goaways[r] += l.http2_goaways[r].get();
    open += l.http2_connections_open.get();
    streams += l.http2_streams.get();
    resets += l.http2_streams_reset_by_client.get();
  }
  auto it = std::back_inserter(out);
  header(out, "sitehost_requests_by_protocol_total", "counter",
         "Responses sent, by the request's protocol (protocol \"-\": no request line was read); "
         "the same exchanges as sitehost_requests_total.");
  static constexpr const char* kProtocols[] = {"-", "HTTP/1.0", "HTTP/1.1", "HTTP/2"};
  for (size_t p = 0; p < requests.size(); ++p)
    fmt::format_to(it, "sitehost_requests_by_protocol_total{{protocol=\"{}\"}} {}\n", kProtocols[p],
                   requests[p]);
  header(out, "sitehost_http2_connections_total", "counter",
         "Client connections that chose HTTP/2, by mode (h2: TLS with ALPN h2; h2c: cleartext).");
  fmt::format_to(it, "sitehost_http2_connections_total{{mode=\"h2\"}} {}\n",
                 connections[kHttp2Tls]);
  fmt::format_to(it, "sitehost_http2_connections_total{{mode=\"h2c\"}} {}\n",
                 connections[kHttp2Cleartext]);
  header(out, "sitehost_http2_connections_open", "gauge", "HTTP/2 client connections open now.");
  fmt::format_to(it, "sitehost_http2_connections_open {}\n", open);
  header(out, "sitehost_http2_streams_total", "counter",
         "HTTP/2 request streams opened by clients (malformed and reset ones included).");
  fmt::format_to(it, "sitehost_http2_streams_total {}\n", streams);
  header(out, "sitehost_http2_streams_reset_by_client_total", "counter",
         "RST_STREAM frames received from HTTP/2 clients.");
  fmt::format_to(it, "sitehost_http2_streams_reset_by_client_total {}\n", resets);
  header(out, "sitehost_http2_goaway_sent_total", "counter",
         "GOAWAY frames the server queued, by reason (enhance_your_calm: a flood defence fired).");
  static constexpr const char* kReasons[] = {"graceful", "enhance_your_calm", "protocol_error",
                                             "other"};
  for (size_t r = 0; r < goaways.size(); ++r)
    fmt::format_to(it, "sitehost_http2_goaway_sent_total{{reason=\"{}\"}} {}\n", kReasons[r],
                   goaways[r]);
}

}  // namespace sitehost
