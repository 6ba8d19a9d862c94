// The out-of-process Site: supervises child servers (child_slot.h) and proxies exchanges to them
// (forwarder.h, tunnel.h) through one lane per event loop (proxy_lane.h). See
// docs/out-of-process.md.
//
// Threads. ProxySite is the supervisor: it lives on the control thread (SiteContext::loop), where
// it is built, started, stopped, reloaded, asked for status and destroyed, and where its slots
// (children, ports, tokens, restarts, rapid-fail counting, recycles, the deploy watch) live.
// handle() runs on the exchange's loop and only hands the exchange to that loop's lane. The
// lanes and the supervisor talk by message: lanes post to the site's control mailbox
// (post_control, a TaskQueue on the control loop), the site posts to a lane with post_lane
// (SiteContext::loops; without loops there is one lane, on the control loop, and its messages go
// through the same mailbox). The members marked "any thread" below are the only ones a lane
// touches directly; the rest is control-thread only.
//
// Deploys (overlapped recycle): when a deployed file changes (deploy_watch.h: the program, and
// the first argument when it is a file inside physical_path) or on reload(), a new generation of
// children (`processes` of them) starts beside the serving one. Once all are ready, new requests
// go to them; the old children finish what they are doing (tunnels included, up to
// shutdown_time_limit, then the rest is cut) and are stopped (SIGTERM, shutdown_time_limit,
// SIGKILL of the group). If a new child fails to start, the old ones keep serving, the error is
// logged and kept for status(); nothing is dropped.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/buffer_pool.h"
#include "proxy/child_slot.h"
#include "proxy/deploy_watch.h"
#include "proxy/port_allocator.h"
#include "proxy/proxy_lane.h"
#include "shared/net/uv_handle.h"
#include "shared/site/metrics.h"
#include "shared/site/site.h"
#include "shared/thread/task_queue.h"

namespace sitehost {

std::unique_ptr<Site> make_proxy_site(const SiteConfig& config, const SiteContext& context);

namespace proxy {

// What an out-of-process site reports about itself (ProxySite::status(), GET /status). Plain
// data, copied out on the control thread.
struct ProxyStatus {
  enum class State {
    kNotStarted,  // no child yet (they start on the first request, or at start-up with preload)
    kStarting,    // children are starting; requests wait
    kRunning,     // at least one child of the serving generation accepts connections
    kRecycling,   // a new generation is starting beside the serving one
    kStopping,    // Site::stop was called
  };
  State state = State::kNotStarted;
  uint64_t generation = 1;           // the generation serving new requests (+1 per recycle)
  std::vector<pid_t> pids;           // its children
  std::vector<pid_t> starting_pids;  // children of the generation starting beside it
  std::vector<pid_t> draining_pids;  // replaced children finishing their requests or exiting
  size_t in_flight = 0;              // requests being handled (all generations)
  size_t waiting = 0;                // of which waiting for a child to start
  uint64_t restarts = 0;             // child starts after a crash or a failed start
  uint64_t recycles = 0;             // generations swapped in (deploys and reloads)
  uint64_t recycle_failures = 0;     // new generations that failed to start (the old one served)
  std::string last_error;            // the latest failed start or crash; empty if none
  std::chrono::system_clock::time_point last_error_time{};
};

// "not started", "starting", "running", "recycling", "stopping".
const char* to_string(ProxyStatus::State state);

// ASPNETCORE_ANCM_HTTPS_PORT for the site's children (ANCM's rule, BindingInformation::
// GetHttpsPort): the port of the site's https bindings when they all use one port; 0 when the
// site has no https binding or https bindings on different ports.
uint16_t ancm_https_port(const SiteConfig& config);

class ProxySite final : public Site {
 public:
  ProxySite(const SiteConfig& config, const SiteContext& context);
  ~ProxySite() override;

  // The exchange's loop thread: to that loop's lane.
  void handle(Exchange& exchange) override;
  void stop(std::function<void()> done) override;
  void start() override;
  // `ctl reload SITE`: an overlapped recycle now, whether or not a file changed. Nothing to do
  // while no child runs (the next start uses the current files).
  void reload() override;
  std::string status_json() const override;
  // A preload site is ready once a child of the serving generation accepts connections; a site
  // without preload never holds the server's readiness back.
  std::string readiness() const override;

  ProxyStatus status() const;
  // Starts a new generation of children beside the serving one (see above); `reason` is logged.
  // During a recycle, another one runs after it.
  void recycle_children(std::string_view reason);
  // The deploy watch, for tests (null when nothing could be watched).
  const DeployWatch* deploy_watch() const { return watch_.get(); }
  // Lane 0's I/O blocks: for tests that drive the site on one loop (no `loops`), on that loop.
  BufferPool& buffers() { return lanes_.front()->buffers(); }

  // --- any thread (immutable after construction, or thread-safe) ---
  const SiteConfig& config() const { return config_; }
  Logger* log() const { return context_.log; }
  // Runs `task` on the control thread (from a lane). False once the site's mailbox closed.
  bool post_control(std::function<void()> task) { return control_->post(std::move(task)); }
  // Runs `task` on lane `lane`'s loop thread, on a later turn. False once that loop stopped.
  bool post_lane(unsigned lane, std::function<void()> task);

  // --- control thread: for slots ---
  // The site's counters in the server's metrics registry (null outside a server, e.g. in tests).
  SiteMetrics* metrics() const;
  uv_loop_t* loop() const { return context_.loop; }
  uint64_t now() const { return uv_now(context_.loop); }
  BufferPool& probe_buffers() { return probe_buffers_; }
  PortAllocator& ports() { return ports_; }
  const std::string& launcher() const { return launcher_; }
  // sitehost's environment merged with the site's `environment` (the per-child variables are
  // added by the slot).
  const std::vector<std::string>& base_environment() const { return environment_; }
  bool stopping() const { return stopping_; }
  // What slots tell the lanes (`lane` < 0: every lane).
  void publish_ready(uint64_t id, uint32_t generation, uint16_t port, const std::string& token,
                     int lane = -1);
  void publish_failed(uint64_t id, const HttpError& error, int lane = -1);
  void publish_gone(uint64_t id, uint32_t generation, const std::string& crash);

  // rapid_fails_per_minute: a failed start or a crash (`error` is kept for status()).
  void record_failure(std::string_view error);
  // A serving slot starts its child again (status: restarts).
  void note_restart() { ++restarts_; }
  // --- overlapped recycle, for slots ---
  // A candidate became ready or failed: looked at on the next loop turn.
  void candidate_changed();
  // A retiring slot's drain deadline passed: the lanes cut its requests.
  void cut_requests_on(uint64_t id);
  // A slot's stop() completed: it is destroyed (and the site's stop advanced) on the next turn.
  void slot_stopped();
  // True (with an explanation) while more than rapid_fails_per_minute failures happened in the
  // last 60 s.
  bool rapid_fail_blocked(std::string* detail) const;

  // --- control thread: messages from lanes ---
  void start_wanted(unsigned lane, uint64_t id);
  void lane_drained(uint64_t id);
  void lane_closed(unsigned lane);
  void poll_watch();

 private:
  std::unique_ptr<ChildSlot> make_slot(unsigned index, ChildSlot::Role role);
  ChildSlot* find_slot(uint64_t id) const;
  bool tell_lane(unsigned lane, std::function<void()> task);
  void post_all(const std::function<void(ProxyLane&)>& fn);
  void serve_slots();
  void stop_children();
  void reap();
  void advance_recycle();
  void switch_generation();
  void recycle_fixed_port(std::string_view reason);
  void abort_recycle(const ChildSlot& failed);
  void retire_slot(std::unique_ptr<ChildSlot> slot);
  void set_last_error(std::string error);
  void reset_failures();
  std::vector<std::filesystem::path> deployed_files() const;

  SiteConfig config_;
  SiteContext context_;
  std::unique_ptr<TaskQueue> control_;  // the lanes' mailbox to the control thread
  BufferPool probe_buffers_;
  PortAllocator ports_;
  std::string launcher_;
  std::vector<std::string> environment_;
  std::vector<std::unique_ptr<ChildSlot>> slots_;       // the serving generation
  std::vector<std::unique_ptr<ChildSlot>> candidates_;  // the generation starting beside it
  std::vector<std::unique_ptr<ChildSlot>> retired_;     // replaced or failed: draining, stopping
  // One per event loop; fixed after construction (handle() reads it from every loop).
  std::vector<std::shared_ptr<ProxyLane>> lanes_;
  size_t lanes_open_ = 0;  // lanes that have not reported lane_closed() after stop()
  uint64_t next_slot_id_ = 1;
  uint64_t generation_ = 1;
  uint64_t recycle_began_ = 0;
  bool recycle_pending_ = false;  // asked for during a recycle: runs after it
  std::string pending_reason_;
  std::unique_ptr<DeployWatch> watch_;
  UvTimer drain_timer_;
  UvTimer recycle_timer_;
  UvTimer reap_timer_;
  std::array<uint64_t, 101> failures_{};  // ring of failure times (ms, loop clock)
  size_t failure_count_ = 0;
  size_t failure_next_ = 0;
  bool stopping_ = false;
  bool children_stopping_ = false;
  std::function<void()> stop_done_;
  // Status.
  uint64_t restarts_ = 0;
  uint64_t recycles_ = 0;
  uint64_t recycle_failures_ = 0;
  std::string last_error_;
  std::chrono::system_clock::time_point last_error_time_{};
};

}  // namespace proxy
}  // namespace sitehost
