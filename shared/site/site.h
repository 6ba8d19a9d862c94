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
struct SiteMetrics;

// The event loops that requests arrive on. Exchange::loop_index() says which one an exchange
// belongs to; everything a site does for that exchange happens on that loop's thread.
class EventLoops {
 public:
  virtual size_t count() const = 0;
  virtual uv_loop_t* loop(unsigned index) const = 0;
  // Any thread: runs `task` on loop `index`'s thread, after what is queued there; false (the
  // task is dropped) once that loop has stopped.
  virtual bool post(unsigned index, std::function<void()> task) = 0;
  // Any thread: runs `task` on the control thread (false once the server has stopped).
  virtual bool post_control(std::function<void()> task) = 0;

 protected:
  ~EventLoops() = default;
};

// Control thread: runs `each(i)` on every loop i's thread, then `done()` on the control thread
// once every loop has run it (a loop that has stopped counts as done). With `loops` null (one
// loop: the control loop) both run at once.
void broadcast(EventLoops* loops, std::function<void(unsigned)> each, std::function<void()> done);

// What a site gets from the server that owns it.
//
// Threads: a Site is built, started, stopped, reloaded and asked for its status on the control
// thread, whose loop is `loop`; handle() runs on the thread of the exchange's own event loop
// (`loops`), concurrently for exchanges of different loops.
struct SiteContext {
  uv_loop_t* loop = nullptr;  // the control thread's loop
  Logger* log = nullptr;
  const ServerConfig* server = nullptr;  // stays valid for the site's life
  // Counters for /metrics (shared/site/metrics.h): `metrics->site(config)` gives the site's own.
  // Null when the site runs outside a Server (unit tests).
  SiteMetricsRegistry* metrics = nullptr;
  // This site's own counters in that registry (set by the front end before the factory runs;
  // null outside a Server).
  SiteMetrics* site_metrics = nullptr;
  EventLoops* loops = nullptr;  // null outside a Server (unit tests): one loop, `loop`
};

class Site {
 public:
  virtual ~Site() = default;

  // On the thread of exchange.loop_index()'s event loop.
  virtual void handle(Exchange& exchange) = 0;

  // Called once when the site leaves service (shutdown, reload that removed or changed it). No
  // new exchanges arrive after it; the site finishes what is in flight, releases its resources
  // (children, libraries) and then calls `done` on the control thread. The Site object is
  // destroyed only after `done`.
  virtual void stop(std::function<void()> done) = 0;

  // Optional: start work before the first request (preload); default does nothing.
  virtual void start() {}
  virtual void reload() {}  // `ctl reload SITE`: swap in a fresh instance of the app (hot swap)

  // Optional: what the hosting model can tell about itself for `GET /status`, as one JSON object
  // (e.g. {"state":"running","generation":3,"pids":[41,42],"restarts":1,"last_error":"..."}),
  // shown as the site's "app" member. Empty (the default) = nothing to add. Control thread.
  virtual std::string status_json() const { return {}; }

  // Optional: what the health endpoint says about the site (docs/operations.md#health-checks-
  // and-draining). Empty (the default) when the site does not hold the server's readiness back;
  // else a short state ("starting", "failed", ...), never error details: the health answer may
  // be public. Control thread; called on every health refresh, so it must be cheap.
  virtual std::string readiness() const { return {}; }
};

using SiteFactory =
    std::function<std::unique_ptr<Site>(const SiteConfig& config, const SiteContext& context)>;

}  // namespace sitehost
