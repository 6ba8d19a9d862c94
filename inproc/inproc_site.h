// The in-process Site: serves exchanges by calling a dlopen'ed handler library (the ABI is
// include/sitehost/handler.h, documented in docs/handler-abi.md).
//
// The app starts lazily on the first request (or at start() with preload = true): a generation
// copies the library to a shadow file, loads the copy and inits on a thread of its own while
// requests wait, bounded by startup_time_limit. A failed start answers its 500.xx page cheaply
// until the library file changes or the config does (the front end then builds a new site).
//
// Hot swap: the library file is watched (HandlerWatch). Once a change has settled, or on
// reload(), a new generation loads beside the serving one. If it starts, new requests go to it
// at once and the old one drains: its requests finish on it, then it is shut down, unloaded and
// its shadow copy removed; requests still running after shutdown_time_limit are aborted first
// (RequestAdapter::force_abort), never unloaded under. If it fails (any 500.3x reason, or
// startup_time_limit), the old generation keeps serving and the error is logged and kept for
// status(). A file still being written is never loaded: the watch waits for it to settle and the
// copy is checked against its own ELF headers.
#pragma once

#include <pthread.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "inproc/background_job.h"
#include "inproc/generation.h"
#include "inproc/handler_watch.h"
#include "inproc/mailbox.h"
#include "inproc/request_adapter.h"
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

  // --- status (loop thread) -------------------------------------------------------------------
  SiteStatus status() const;
  // The latest start failure ("500.xx: first line of the detail"); empty when none.
  const std::string& last_error() const { return last_error_; }
  // The generation serving new requests (0 before the first start).
  uint64_t generation_number() const { return current_ ? current_->number() : 0; }
  const std::filesystem::path& shadow_directory() const { return shadow_dir_; }
  // status() as the JSON object GET /status shows as the site's "app".
  std::string status_json() const override;

  // --- for RequestAdapter ---------------------------------------------------------------------
  bool on_loop() const { return pthread_equal(pthread_self(), loop_thread_) != 0; }  // any thread
  Mailbox& mailbox() { return *mailbox_; }
  const SiteConfig& config() const { return config_; }
  Logger& log() { return log_; }
  WriteRecord* take_write_record();
  void recycle_write_record(WriteRecord* record);
  // The adapter is free again (its generation's in-flight count drops).
  void adapter_done(RequestAdapter& adapter);
  // A waiting request's client went away.
  void cancel_waiting(RequestAdapter& adapter);

  // For tests: the generation serving new requests (null before the first start).
  const Generation* current_generation() const { return current_.get(); }

 private:
  static void consume(void* self, LoopOp& op);
  RequestAdapter& acquire(Exchange& exchange);
  void dispatch(RequestAdapter& adapter);
  static void run_on_worker(void* adapter);

  // Starts a generation: the site's current one (requests wait for it), or a replacement
  // loading beside the serving one.
  void start_generation(bool replacement);
  void on_started(const std::shared_ptr<Generation>& generation, StartupResult result,
                  const std::string& captured);
  void finish_replacement(const std::shared_ptr<Generation>& generation, StartupResult result,
                          const std::string& captured, uint64_t began_ms);
  static void on_startup_timeout(uv_timer_t* timer);
  void after_start();
  void serve_waiting();
  void reject_waiting();
  HttpError failure_of(const Generation& generation) const;
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

  const SiteConfig config_;
  uv_loop_t* loop_;
  Logger& log_;
  pthread_t loop_thread_;
  std::shared_ptr<Mailbox> mailbox_;
  UvHandle<uv_timer_t> startup_timer_;
  UvHandle<uv_timer_t> tick_timer_;
  bool tick_scheduled_ = false;

  // Shadow copies (shadow_copy.h): where, and this site object's token in their names.
  std::filesystem::path shadow_dir_;
  std::filesystem::path trusted_root_;  // the default run directory, checked before use
  std::string shadow_token_;
  std::unique_ptr<HandlerWatch> watch_;  // from the first start on

  std::shared_ptr<Generation> current_;
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

  std::unique_ptr<WorkerPool> pool_;  // allow_synchronous_io only, created on first use
  std::unique_ptr<BackgroundJob> pool_stop_job_;

  // Pools: adapters and write records are reused, so the hot path does not allocate.
  std::vector<std::unique_ptr<RequestAdapter>> adapters_;
  RequestAdapter* free_adapters_ = nullptr;
  std::vector<std::unique_ptr<WriteRecord>> write_records_;
  WriteRecord* free_write_records_ = nullptr;

  // Requests waiting for the app to start (intrusive list through RequestAdapter::next/prev).
  RequestAdapter* waiting_head_ = nullptr;
  RequestAdapter* waiting_tail_ = nullptr;

  bool stopping_ = false;
  std::function<void()> stop_done_;
  std::function<void(bool ok, const std::string& detail)> first_start_observer_;
};

}  // namespace sitehost::inproc
