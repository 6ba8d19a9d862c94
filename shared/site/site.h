// A site as the front end sees it: something that answers exchanges. One implementation per
// hosting model (inproc/inproc_site.h, proxy/proxy_site.h), built from config by a SiteFactory.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "shared/config/config.h"
#include "shared/site/exchange.h"

namespace sitehost {

class Logger;
class SiteMetricsRegistry;

// What a site gets from the server that owns it.
struct SiteContext {
  uv_loop_t* loop = nullptr;
  Logger* log = nullptr;
  const ServerConfig* server = nullptr;  // stays valid for the site's life
  // Counters for /metrics (shared/site/metrics.h): `metrics->site(config)` gives the site's own.
  // Null when the site runs outside a Server (unit tests).
  SiteMetricsRegistry* metrics = nullptr;
};

class Site {
 public:
  virtual ~Site() = default;

  virtual void handle(Exchange& exchange) = 0;

  // Called once when the site leaves service (shutdown, reload that removed or changed it). No
  // new exchanges arrive after it; the site finishes what is in flight, releases its resources
  // (children, libraries) and then calls `done` on the loop thread. The Site object is destroyed
  // only after `done`.
  virtual void stop(std::function<void()> done) = 0;

  // Optional: start work before the first request (preload); default does nothing.
  virtual void start() {}
  virtual void reload() {}  // `ctl reload SITE`: swap in a fresh instance of the app (hot swap)

  // Optional: what the hosting model can tell about itself for `GET /status`, as one JSON object
  // (e.g. {"state":"running","generation":3,"pids":[41,42],"restarts":1,"last_error":"..."}),
  // shown as the site's "app" member. Empty (the default) = nothing to add. Loop thread.
  virtual std::string status_json() const { return {}; }
};

using SiteFactory =
    std::function<std::unique_ptr<Site>(const SiteConfig& config, const SiteContext& context)>;

}  // namespace sitehost
