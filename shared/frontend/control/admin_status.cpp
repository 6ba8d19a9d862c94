// The admin API's documents: Server::status_json() (GET /status) and Server::metrics_text()
// (GET /metrics). Member functions of Server kept here, next to the admin server.
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <iterator>

#include "shared/config/values.h"
#include "shared/frontend/control/admin_server.h"
#include "shared/frontend/control/managed_site.h"
#include "shared/frontend/control/server.h"
#include "shared/util/json.h"

#ifndef SITEHOST_VERSION
#define SITEHOST_VERSION "dev"
#endif

namespace sitehost {

namespace {}  // namespace

std::string Server::status_json() const {
  std::string out;
  auto it = std::back_inserter(out);
  auto uptime = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - started_)
                    .count();
  fmt::format_to(it,
                 "{{\n  \"server\": {{\n    \"pid\": {},\n    \"version\": {},\n"
                 "    \"config\": {},\n    \"uptime_seconds\": {:.3f},\n"
                 "    \"connections\": {},\n    \"event_loops\": {},\n"
                 "    \"shutting_down\": {},\n"
                 "    \"sites_stopping\": {},\n    \"listeners\": [",
                 ::getpid(), json_string(SITEHOST_VERSION), json_string(config_.file.string()),
                 static_cast<double>(uptime) / 1000.0, metrics_->connections(), workers_.size(),
                 shutting_down_ ? "true" : "false", stopping_sites_.size());
  bool first = true;
  for (const auto& [key, listener] : listeners_) {
    fmt::format_to(it, "{}{}", first ? "" : ", ", json_string(key));
    first = false;
  }
  fmt::format_to(it, "],\n    \"admin\": {},\n    \"health\": {},\n    \"loops\": [",
                 json_string(describe(config_.server.admin)), health_status_json());
  for (size_t i = 0; i < workers_.size(); ++i) {
    const LoopMetrics& l = metrics_->loop(static_cast<unsigned>(i));
    fmt::format_to(it, "{}\n      {{\"index\": {}, \"connections\": {}, \"requests\": {}}}",
                   i ? "," : "", i, l.connections.get(), l.requests.get());
  }
  fmt::format_to(it, "\n    ]\n  }},\n  \"sites\": [");
  first = true;
  for (const auto& [name, entry] : sites_) {
    const ManagedSite& site = *entry.site;
    const SiteConfig& c = site.config();
    const SiteMetrics& metrics = site.metrics();
    SiteMetrics::Totals m = metrics.totals();
    uint64_t requests = m.requests();
    fmt::format_to(it,
                   "{}\n    {{\n      \"name\": {},\n      \"hosting_model\": {},\n"
                   "      \"state\": {},\n      \"path\": {},\n      \"physical_path\": {},\n"
                   "      \"bindings\": [",
                   first ? "" : ",", json_string(c.name), json_string(to_string(c.hosting_model)),
                   json_string(site.state()), json_string(c.path),
                   json_string(c.physical_path.string()));
    first = false;
    for (size_t i = 0; i < c.bindings.size(); ++i)
      fmt::format_to(it, "{}{}", i ? ", " : "",
                     json_string(config_detail::binding_url(c.bindings[i], "")));
    fmt::format_to(it,
                   "],\n      \"in_flight\": {},\n      \"requests\": {},\n"
                   "      \"offline_responses\": {},\n      \"hot_swaps\": {},\n"
                   "      \"hot_swap_failures\": {},\n      \"child_starts\": {},\n"
                   "      \"child_crashes\": {}",
                   m.in_flight, requests, m.offline_responses,
                   metrics.hot_swaps_ok.load(std::memory_order_relaxed),
                   metrics.hot_swaps_failed.load(std::memory_order_relaxed),
                   metrics.child_starts.load(std::memory_order_relaxed),
                   metrics.child_crashes.load(std::memory_order_relaxed));
    std::string app = site.app_status();
    if (!app.empty()) fmt::format_to(it, ",\n      \"app\": {}", app);
    out += "\n    }";
  }
  out += first ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

std::string Server::metrics_text() const {
  std::vector<const SiteMetrics*> sites;
  sites.reserve(sites_.size());
  for (const auto& [name, entry] : sites_) sites.push_back(&entry.site->metrics());
  return metrics_->render(sites);
}

}  // namespace sitehost
