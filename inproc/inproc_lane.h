// The request path of an in-process site on one event loop (a "lane"): the exchanges that loop
// hands to the site, the request adapters and write records they use (pooled, so the hot path
// allocates nothing), the Mailbox through which other threads' ABI calls reach this loop, the
// requests waiting there for the app to start, and the count of them.
//
// Threads and ownership. InprocSite (control thread) creates one InprocLane object per event loop
// up front and destroys them after stop; everything else about a lane belongs to its loop's
// thread: it opens (its Mailbox on its own uv_loop_t, its thread id) lazily on the first handle()
// there, and closes (close()) on that thread from a task the site posts during stop. The control
// thread reads only waiting() (a LoopGauge). Requests count themselves in their generation's slot
// for this lane (Generation::acquire/release(index)), not here.
//
// The serving generation is read once per request from InprocSite::serving() (an acquire load of
// a pointer the control thread publishes): after a swap, the site runs a barrier through every
// loop (InprocSite::for_each_lane) before it trusts the old generation's counts, so a request
// that read the old pointer has counted itself by then.
#pragma once

#include <pthread.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "inproc/mailbox.h"
#include "inproc/request_adapter.h"
#include "shared/thread/loop_counter.h"

namespace sitehost {
class Exchange;
class Logger;
struct SiteConfig;
}  // namespace sitehost

namespace sitehost::inproc {

class Generation;
class InprocSite;

class InprocLane {
 public:
  // Control thread. `index`: the event loop this lane serves; `loop`: its uv loop, or null to
  // have the site's control loop (no EventLoops: one loop, the control thread).
  InprocLane(InprocSite& site, unsigned index, uv_loop_t* loop);
  ~InprocLane();
  InprocLane(const InprocLane&) = delete;
  InprocLane& operator=(const InprocLane&) = delete;

  // --- this lane's loop thread ------------------------------------------------------------------
  void handle(Exchange& exchange);
  // The app has started (or failed, or the site is stopping): dispatch or answer the requests
  // waiting here, by what InprocSite::serving() says now.
  void serve_waiting();
  // A stop with no start left to wait for: answers every request waiting here with `error`.
  void reject_waiting(const HttpError& error);
  // After shutdown_time_limit: aborts this loop's requests still running on generation `number`.
  void abort_requests_on(uint64_t number, const HttpError& error);
  // Stop: closes the mailbox (its handle) on this thread. Nothing is in flight here by then.
  void close();

  // --- for RequestAdapter (this lane's loop thread unless said) -------------------------------
  bool on_loop() const { return opened_ && pthread_equal(pthread_self(), thread_) != 0; }  // any
  Mailbox& mailbox() { return *mailbox_; }  // any thread, once a request was dispatched here
  const SiteConfig& config() const;
  Logger& log();
  unsigned index() const { return index_; }
  WriteRecord* take_write_record();
  void recycle_write_record(WriteRecord* record);
  // The adapter is free again (its generation's in-flight count for this loop drops).
  void adapter_done(RequestAdapter& adapter);
  // A waiting request's client went away.
  void cancel_waiting(RequestAdapter& adapter);

  // --- any thread ----------------------------------------------------------------------------
  int64_t waiting() const { return waiting_count_.get(); }

 private:
  void open();
  static void consume(void* self, LoopOp& op);
  RequestAdapter& acquire(Exchange& exchange);
  void dispatch(RequestAdapter& adapter, Generation& generation);
  static void run_on_worker(void* adapter);
  void push_waiting(RequestAdapter& adapter);
  RequestAdapter* pop_waiting();
  void maybe_poll_watch();

  InprocSite& site_;
  const unsigned index_;
  uv_loop_t* const loop_;
  bool opened_ = false;
  bool closed_ = false;
  pthread_t thread_{};
  std::shared_ptr<Mailbox> mailbox_;  // ops for this loop's requests from other threads
  uint64_t last_poll_ms_ = 0;

  // Pools: adapters and write records are reused, so the hot path does not allocate.
  std::vector<std::unique_ptr<RequestAdapter>> adapters_;
  RequestAdapter* free_adapters_ = nullptr;
  std::vector<std::unique_ptr<WriteRecord>> write_records_;
  WriteRecord* free_write_records_ = nullptr;

  // Requests waiting for the app to start (intrusive list through RequestAdapter::next/prev).
  RequestAdapter* waiting_head_ = nullptr;
  RequestAdapter* waiting_tail_ = nullptr;
  LoopGauge waiting_count_;  // written here, read by the control thread (status, stop)
};

}  // namespace sitehost::inproc
