// The in-process Site's lifecycle: serves exchanges by calling a dlopen'ed handler library (the
// ABI is include/sitehost/handler.h, documented in docs/handler-abi.md). The request path on each
// event loop is an InprocLane (inproc_lane.h); this file is everything else.
//
// The app starts lazily on the first request (or at start() with preload = true): a generation
// copies the library to a shadow file, loads the copy and inits on a thread of its own while
// requests wait (in the lanes of the loops they arrived on), bounded by startup_time_limit. A
// failed start answers its 500.xx page cheaply until the library file changes or the config does
// (the front end then builds a new site).
//
// Hot swap: the library file is watched (HandlerWatch). Once a change has settled, or on
// reload(), a new generation loads beside the serving one. If it starts, it is published to
// every loop at once (one atomic pointer) and the old one drains: its requests finish on it, then
// it is shut down, unloaded and its shadow copy removed; requests still running after
// shutdown_time_limit are aborted first (each on its own loop: RequestAdapter::force_abort),
// never unloaded under. If it fails (any 500.3x reason, or startup_time_limit), the old
// generation keeps serving and the error is logged and kept for status(). A file still being
// written is never loaded: the watch waits for it to settle and the copy is checked against its
// own ELF headers.
//
// Threads and ownership. InprocSite is built, driven (start, reload, stop, status) and destroyed
// on the control thread (loop `SiteContext::loop`), and everything in it is that thread's except:
//   - serving() and stopping(): atomics the control thread publishes and lanes read per request;
//   - request_start(), request_poke(), request_poll(): any thread (they post to the control
//     loop's mailbox);
//   - lanes_: the vector is fixed at construction (one InprocLane per event loop); each lane's
//     contents belong to its loop's thread (see inproc_lane.h);
//   - pool(): the allow_synchronous_io worker pool, made at construction, used from any loop.
// Never assumed: that any event loop is the control loop.
//
// A generation that stops being the published one (swap, restart after a failure, stop) may
// still be reached by a loop through a pointer it loaded just before: the site keeps the object
// alive, and trusts its per-loop in-flight counts, only after a round through every loop
// (for_each_lane) that started after the unpublish. A request that loaded the old pointer has
// counted itself (on its loop, within the same handle() call) by then, and no later one can load
// it: the round is the per-loop acknowledgement of the switch.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "inproc/background_job.h"
#include "inproc/generation.h"
#include "inproc/handler_watch.h"
#include "inproc/inproc_lane.h"
#include "inproc/mailbox.h"
#include "inproc/site_status.h"
#include "inproc/stderr_capture.h"
#include "inproc/worker_pool.h"
#include "shared/net/uv_handle.h"
#include "shared/site/site.h"

namespace sitehost {

struct SiteMetrics;

std::unique_ptr<Site> make_inproc_site(const SiteConfig& config, const SiteContext& context);

}  // namespace sitehost

namespace sitehost::inproc {

class InprocSite final : public Site {
 public:
  InprocSite(const SiteConfig& config, const SiteContext& context);
  ~InprocSite() override;
  InprocSite(const InprocSite&) = delete;
  InprocSite& operator=(const InprocSite&) = delete;

  // On the exchange's loop thread: hands it to that loop's lane.
  void handle(Exchange& exchange) override;
  void stop(std::function<void()> done) override;
  // Called once when the first generation has started (ok) or failed to (with the detail that
  // its error page shows): sitehost-app waits for it before it listens, as Kestrel runs the
  // app's startup before it binds.
  void on_first_start(std::function<void(bool ok, const std::string& detail)> observer) {
    first_start_observer_ = std::move(observer);
  }
  void start() override;
  // `sitehost ctl reload SITE`: loads the library again now (a new shadow copy and generation)
  // and swaps it in exactly as a changed file would be, whether or not the file changed. A
  // failed app is restarted. Before the first request there is nothing to replace (the first
  // request starts the current file). During a start, the reload runs after it.
  void reload() override;

  // --- status (control thread) ----------------------------------------------------------------
  SiteStatus status() const;
  // The latest start failure ("500.xx: first line of the detail"); empty when none.
  const std::string& last_error() const { return last_error_; }
  // The generation serving new requests (0 before the first start).
  uint64_t generation_number() const { return current_ ? current_->number() : 0; }
  const std::filesystem::path& shadow_directory() const { return shadow_dir_; }
  // status() as the JSON object GET /status shows as the site's "app".
  std::string status_json() const override;
  // A failed start holds the server's readiness back; so does any state but running with
  // preload (sitehost-app). A lazy site that has not started yet does not.
  std::string readiness() const override;
  // For tests: the generation serving new requests (null before the first start).
  const Generation* current_generation() const { return current_.get(); }

  // --- for InprocLane (any thread) ------------------------------------------------------------
  // The generation new requests go to (starting, ready or failed), or null before a start.
  Generation* serving() const { return serving_.load(std::memory_order_acquire); }
  bool stopping() const { return stopping_flag_.load(std::memory_order_acquire); }
  // Nothing is published: start the app (once; requests wait in their lanes meanwhile).
  void request_start();
  // A request on a replaced generation ended, or one ended while stopping: look again.
  void request_poke();
  // The request-time safety net of the handler watch (a lane calls it at most every kPollMs).
  void request_poll();
  HttpError failure_of(const Generation& generation) const;
  WorkerPool& pool() { return *pool_; }
  const SiteConfig& config() const { return config_; }
  Logger& log() { return log_; }
  uv_loop_t* control_loop() const { return loop_; }

 private:
  // Runs `fn(lane)` on every lane's loop thread, then `then` on the control thread once all have
  // (a barrier when `fn` does nothing). Rounds in progress hold the site's stop back.
  void for_each_lane(std::function<void(InprocLane&)> fn, std::function<void()> then);
  void lane_done(uint64_t round);
  void publish(const std::shared_ptr<Generation>& generation);
  // Keeps an unpublished generation alive until no loop can still be looking at it.
  void keep_until_fenced(std::shared_ptr<Generation> generation);
  size_t waiting_requests() const;
  void wake_lanes();

  // Starts a generation: the site's current one (requests wait for it), or a replacement
  // loading beside the serving one.
  void start_generation(bool replacement);
  void on_started(const std::shared_ptr<Generation>& generation, StartupResult result,
                  const std::string& captured);
  void finish_replacement(const std::shared_ptr<Generation>& generation, StartupResult result,
                          const std::string& captured, uint64_t began_ms);
  static void on_startup_timeout(uv_timer_t* timer);
  void startup_timed_out();
  void after_start();
  void record_error(const Generation& generation);
  void report_first_start(const Generation& generation);

  // Hot swap.
  void on_file_settled(const FileIdentity& identity);
  void replace();  // a new generation beside a ready one, or a restart of a failed one
  void swap_to(const std::shared_ptr<Generation>& generation);

  // Replaced generations: drain, abort after shutdown_time_limit, retire.
  struct Draining {
    InprocSite* site = nullptr;
    std::shared_ptr<Generation> generation;
    bool fenced = false;         // a round through every loop ran since it was unpublished
    UvHandle<uv_timer_t> timer;  // shutdown_time_limit
  };
  void drain(std::shared_ptr<Generation> generation);
  static void on_drain_timeout(uv_timer_t* timer);
  void abort_requests_on(Draining& draining);
  void retire(std::shared_ptr<Generation> generation);
  void on_retired(Generation* generation);

  // Housekeeping runs from a timer, never inside the caller's stack (an adapter or a job may be
  // mid-call): retiring drained generations and advancing a stop.
  void poke();
  static void on_tick(uv_timer_t* timer);
  void advance_stop();
  bool stop_generations();  // true once no generation is left
  void finish_stop();

  const SiteConfig config_;
  uv_loop_t* loop_;  // the control loop
  Logger& log_;
  EventLoops* loops_;                 // null: one loop, loop_ (the control thread)
  std::shared_ptr<Mailbox> mailbox_;  // the control loop's: jobs' results, lanes' requests
  UvHandle<uv_timer_t> startup_timer_;
  UvHandle<uv_timer_t> tick_timer_;
  bool tick_scheduled_ = false;

  // Published for the lanes (see the top of this file).
  std::atomic<Generation*> serving_{nullptr};
  std::atomic<bool> stopping_flag_{false};
  std::atomic<bool> start_requested_{false};  // a request_start() is on its way
  std::atomic<bool> poke_requested_{false};   // a request_poke() is on its way

  // One lane per event loop; the vector never changes size after construction.
  std::vector<std::unique_ptr<InprocLane>> lanes_;
  struct Round {
    uint64_t id = 0;
    size_t remaining = 0;
    std::function<void()> then;
  };
  std::vector<Round> rounds_;
  uint64_t next_round_ = 1;
  std::vector<std::shared_ptr<Generation>> unfenced_;  // unpublished, maybe still looked at

  // Shadow copies (shadow_copy.h): where, and this site object's token in their names.
  std::filesystem::path shadow_dir_;
  std::filesystem::path trusted_root_;  // the default run directory, checked before use
  std::string shadow_token_;
  std::unique_ptr<HandlerWatch> watch_;  // from the first start on

  std::shared_ptr<Generation> current_;  // what serving_ points to (control thread's owner)
  uint64_t generations_started_ = 0;

  // The start in progress (at most one at a time).
  struct Startup {
    std::shared_ptr<Generation> generation;
    bool replacement = false;
    uint64_t began_ms = 0;
    std::unique_ptr<BackgroundJob> job;
    std::shared_ptr<StderrCapture::Session> capture;
  };
  std::unique_ptr<Startup> startup_;
  bool recheck_ = false;         // the file changed during a start: look again after it
  bool reload_pending_ = false;  // reload() during a start: run it after
  FileIdentity rejected_;        // a replacement that failed or was incomplete: not retried
                                 // until the file changes again
  bool missing_logged_ = false;

  std::vector<std::unique_ptr<Draining>> draining_;
  struct Retiring {
    std::shared_ptr<Generation> generation;
    std::unique_ptr<BackgroundJob> job;
  };
  std::vector<Retiring> retiring_;

  // Status.
  SiteMetrics* metrics_ = nullptr;  // hot swap counters for /metrics (null outside a Server)
  uint64_t swaps_ = 0;
  uint64_t swap_failures_ = 0;
  uint64_t aborted_requests_ = 0;
  std::string last_error_;
  std::chrono::system_clock::time_point last_error_time_{};

  std::unique_ptr<WorkerPool> pool_;  // threads start on first use (allow_synchronous_io)
  std::unique_ptr<BackgroundJob> pool_stop_job_;

  bool stopping_ = false;
  bool lanes_closing_ = false;  // the last step of a stop: lanes close on their loops
  std::function<void()> stop_done_;
  std::function<void(bool ok, const std::string& detail)> first_start_observer_;
};

}  // namespace sitehost::inproc
