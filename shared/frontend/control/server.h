// The server: the process-wide owner. It runs on the control thread (the thread that calls
// run(), on the loop given to the constructor) and owns the config, the sites, the admin API, the
// signals and the event-loop workers (shared/frontend/worker/worker.h). It applies a config at
// start and on SIGHUP (server_apply.cpp), stops gracefully on SIGTERM/SIGINT, reopens logs on
// SIGUSR1.
//
// Threads: everything here is control-thread state, except what is marked "any thread" (the
// connection count behind max_connections, worker_idle, and the Logger and Metrics it lends).
// Workers hear from the server only through Worker::post; sites are changed here and reach the
// workers in a new RoutingTable, published to every worker at once.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "shared/config/config.h"
#include "shared/frontend/control/health_monitor.h"
#include "shared/frontend/control/metrics.h"
#include "shared/frontend/worker/routing_table.h"
#include "shared/log/logger.h"
#include "shared/net/tls_sni.h"
#include "shared/site/site.h"
#include "shared/thread/task_queue.h"

namespace sitehost {

class AdminServer;
class ManagedSite;
class Worker;

class Server {
 public:
  Server(uv_loop_t* loop, Logger& log, std::map<HostingModel, SiteFactory> factories);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts the event loops, opens listeners and builds sites. Returns an error message (empty
  // on success).
  std::string start(Config config);
  // Runs the control loop until the server has stopped. Returns the exit code.
  int run();

  // Re-reads the config file; keeps the old config on any error (logged with file:line).
  // Returns that error, or "" with `summary` (when given) saying what was applied.
  std::string reload(std::string* summary = nullptr);
  // Reloads one site (`ctl reload SITE`); false when there is no such site.
  bool reload_site(std::string_view name, std::string& message);
  void begin_shutdown();

  // The sitehost binary serves the admin API (`[server] admin`); call before start().
  void enable_admin() { admin_enabled_ = true; }
  // Whether event loop 0 is the control thread's own loop (the default) or every event loop
  // runs on a thread of its own, apart from the control thread; call before start().
  void set_control_serves_loop0(bool on) { control_serves_loop0_ = on; }
  // The number of event loops `start` runs (0 before start).
  size_t event_loops() const { return workers_.size(); }
  // The admin API's documents (admin_status.cpp).
  std::string status_json() const;
  std::string metrics_text() const;

  uv_loop_t* loop() const { return loop_; }
  // --- any thread ---
  Logger& log() { return log_; }
  Metrics& metrics() { return *metrics_; }
  // max_connections, for the whole server: a worker takes a slot before it accepts.
  bool reserve_connection();
  // A connection the kernel already took from a closing listener: counted even over the limit.
  void force_reserve_connection() { open_connections_.fetch_add(1, std::memory_order_relaxed); }
  void release_connection();
  // A worker that is shutting down has no connection left.
  void worker_idle(unsigned index);

 private:
  struct SiteEntry {
    std::shared_ptr<const SiteConfig> config;
    std::shared_ptr<ManagedSite> site;  // managed_site.h: wraps the hosting model's Site
  };
  // What apply() prepared before anything changes (server_apply.cpp).
  struct Plan;
  // The workers' loops as the hosting models see them (SiteContext::loops).
  class Loops final : public EventLoops {
   public:
    explicit Loops(Server& server) : server_(server) {}
    size_t count() const override { return server_.workers_.size(); }
    uv_loop_t* loop(unsigned index) const override;
    bool post(unsigned index, std::function<void()> task) override;
    bool post_control(std::function<void()> task) override;

   private:
    Server& server_;
  };

  // --- server_apply.cpp: Server::apply's phases ---
  std::string apply(Config config, bool initial);
  std::string prepare_logs(const Config& config, bool initial);
  std::string open_listeners(const Config& config, Plan& plan);
  std::string build_sites(const Config& config, Plan& plan);
  void abandon(Plan& plan);
  void commit(Config config, Plan plan);
  void publish(Plan& plan, std::vector<std::string> closing,
               std::vector<std::shared_ptr<Site>> replaced);

  // --- server_health.cpp: the health endpoint's state and drain_delay ---
  HealthAnswer health_answer() const;
  std::string health_status_json() const;
  // Publishing a config: whether health is on, and its state with the new sites.
  void health_config_applied();
  // Every loop has the first routing table: the server accepts requests.
  void health_serving();
  // begin_shutdown's first step. True while the stop waits out drain_delay (health says 503,
  // listeners stay open); a second stop request during the wait ends it.
  bool hold_for_drain();

  void start_workers(const Config& config);
  void stop_site(std::shared_ptr<Site> site);
  void maybe_finish_shutdown();
  void on_shutdown_timer();
  void close_own_handles(bool stop_loops = false);
  static void on_signal(uv_signal_t* handle, int signum);

  uv_loop_t* loop_;
  Logger& log_;
  std::map<HostingModel, SiteFactory> factories_;
  std::unique_ptr<Metrics> metrics_;  // before everything that counts into it
  std::unique_ptr<AdminServer> admin_;
  bool admin_enabled_ = false;
  bool control_serves_loop0_ = true;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  Config config_;
  std::map<std::string, SiteEntry> sites_;  // by name
  // The listening addresses ("ip:port" → port); each worker has a socket on each.
  std::map<std::string, uint16_t> listeners_;
  std::vector<std::shared_ptr<Site>> stopping_sites_;
  std::vector<std::shared_ptr<Site>> retired_sites_;  // stopped, destroyed on the next turn
  std::vector<std::unique_ptr<Worker>> workers_;
  Loops loops_{*this};
  std::unique_ptr<TaskQueue> tasks_;  // what workers tell the control thread
  std::atomic<uint32_t> open_connections_{0};
  std::atomic<uint32_t> max_connections_{0};
  size_t idle_workers_ = 0;
  uv_signal_t signals_[4];
  uv_timer_t shutdown_timer_;
  bool shutting_down_ = false;
  std::unique_ptr<HealthMonitor> health_;
  UvTimer drain_timer_;          // drain_delay, from the first stop request
  bool stop_requested_ = false;  // SIGTERM/SIGINT/ctl stop seen (draining, then shutting down)
  bool serving_ = false;         // every loop has had a routing table
  bool shutdown_forced_ = false;
  bool handles_closed_ = false;
  int exit_code_ = 0;
  SiteContext site_context_;
};

}  // namespace sitehost
