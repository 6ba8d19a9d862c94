// The in-process Site: serves exchanges by calling a dlopen'ed handler library (the ABI is
// include/sitehost/handler.h, documented in docs/handler-abi.md).
//
// The app starts lazily on the first request (or at start() with preload = true): a generation
// loads and inits on a thread of its own while requests wait, bounded by startup_time_limit. A
// failed start answers its 500.xx page cheaply until the library file changes (checked at most
// once a second) or the config does (the front end then builds a new site).
#pragma once

#include <pthread.h>

#include <functional>
#include <memory>
#include <vector>

#include "inproc/background_job.h"
#include "inproc/generation.h"
#include "inproc/mailbox.h"
#include "inproc/request_adapter.h"
#include "inproc/stderr_capture.h"
#include "inproc/uv_handle.h"
#include "inproc/worker_pool.h"
#include "shared/site/site.h"

namespace sitehost {

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
  void start() override;

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

  void start_generation();
  void on_started(const std::shared_ptr<Generation>& generation, StartupResult result,
                  const std::string& captured);
  static void on_startup_timeout(uv_timer_t* timer);
  void serve_waiting();
  void reject_waiting();
  bool library_changed();
  HttpError failure_of(const Generation& generation) const;

  void retire(std::shared_ptr<Generation> generation);
  void on_retired(Generation* generation);
  void maybe_finish_stop();
  static void on_stop_tick(uv_timer_t* timer);
  void advance_stop();

  const SiteConfig config_;
  uv_loop_t* loop_;
  Logger& log_;
  pthread_t loop_thread_;
  std::shared_ptr<Mailbox> mailbox_;
  UvHandle<uv_timer_t> startup_timer_;
  UvHandle<uv_timer_t> stop_timer_;

  std::shared_ptr<Generation> current_;
  uint64_t generations_started_ = 0;
  uint64_t failed_check_ms_ = 0;  // last library identity check of a failed generation
  uint64_t startup_began_ms_ = 0;
  std::unique_ptr<BackgroundJob> startup_job_;
  std::shared_ptr<StderrCapture::Session> startup_capture_;

  struct Retiring {
    std::shared_ptr<Generation> generation;
    std::unique_ptr<BackgroundJob> job;
  };
  std::vector<Retiring> retiring_;

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
  bool stop_scheduled_ = false;
  std::function<void()> stop_done_;
};

}  // namespace sitehost::inproc
