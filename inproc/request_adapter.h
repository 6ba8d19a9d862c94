// The app's view of one request: implements the ABI's server function table (sitehost_server_t)
// over an Exchange. Adapters are pooled by their site and reused request after request, so the
// hot path (handler on the loop thread) allocates nothing.
//
// Threads: an adapter belongs to one lane (InprocLane: the site's request path on one event loop)
// and "the loop" below is that lane's loop. The ABI functions may be called from any thread. On
// the loop thread they act at once; elsewhere they post a LoopOp to the lane's mailbox (copying
// what the caller may free) and the loop applies it. A loop-thread call on a request with ops still
// queued is queued behind them (per-request order); a call never drains the mailbox, so it never
// runs another request's callbacks (an app holding one lock around its calls and callbacks cannot
// deadlock itself). Everything not marked otherwise is loop-thread state.
//
// Lifetime: an adapter is released back to the pool when three things are over: the handler call
// (it may run on a worker), the app's sitehost_response_finish, and every write the app is owed a
// callback for. Each app callback runs with a reference held, so a generation is never shut down
// while app code runs on the loop.
//
// Serial apps (Generation::gate()): every call into the app made here (the entry point on a
// worker, every callback) holds the generation's gate (AppCall); the blocking calls let go of it
// while they wait (BlockingCall).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include <sitehost/handler.h>

#include "inproc/mailbox.h"
#include "shared/site/exchange.h"

namespace sitehost::inproc {

class InprocLane;
class Generation;
class RequestAdapter;
class SerialGate;

// Holds a serial app's gate for the duration of one call into the app; nothing for a concurrent
// app (gate null). Any thread.
class AppCall {
 public:
  explicit AppCall(const Generation* generation);
  ~AppCall();
  AppCall(const AppCall&) = delete;
  AppCall& operator=(const AppCall&) = delete;

 private:
  SerialGate* gate_ = nullptr;
};

// One write the adapter must see completed (a callback is owed, or it holds a copy of the bytes,
// or a worker is blocked on it). Pooled by the lane.
struct WriteRecord {
  RequestAdapter* adapter = nullptr;
  sitehost_write_cb cb = nullptr;
  void* arg = nullptr;
  std::string copy;  // SITEHOST_WRITE_COPY bytes; capacity kept across uses
  bool sync = false;
  WriteRecord* next_free = nullptr;
};

// The ABI's function table (one for the process; plain constant data).
const sitehost_server_t* server_table();

class RequestAdapter final : public BodyReader {
 public:
  explicit RequestAdapter(InprocLane& lane);
  RequestAdapter(const RequestAdapter&) = delete;
  RequestAdapter& operator=(const RequestAdapter&) = delete;

  static RequestAdapter* from(sitehost_request_t* req) {
    return reinterpret_cast<Handle*>(req)->owner;
  }
  static const RequestAdapter* from(const sitehost_request_t* req) {
    return reinterpret_cast<const Handle*>(req)->owner;
  }
  sitehost_request_t* abi() { return &handle_.abi; }

  // --- the lane (loop thread) --------------------------------------------------------------
  // Takes a new exchange: resets every per-request field and installs the abort handler.
  void attach(Exchange& exchange);
  Exchange* exchange() const { return exchange_; }
  const RequestInfo& info() const { return *info_; }
  // Binds the request to the generation about to handle it (references: handler + app) and
  // counts it in the generation's slot for this lane.
  void begin(Generation& generation);
  Generation* generation() const { return generation_; }
  // Whether this adapter holds a request dispatched to `generation` that is not over yet.
  bool serving(const Generation* generation) const {
    return refs_ > 0 && generation_ == generation;
  }
  // The request outlived its generation's shutdown_time_limit: the client gets `error` (a page,
  // or a cut connection when the head was sent), the app's body read fails with
  // SITEHOST_E_ABORTED, its abort callback runs and its later writes fail. The request stays the
  // app's until it calls finish: its generation is not unloaded under it, and the exchange is
  // held (respond_error_and_hold) so every request view the app has or takes stays valid.
  void force_abort(const HttpError& error);
  // The handler call returned (on the loop, or reported by a worker through the mailbox).
  void handler_returned() { unref(); }
  // Worker thread (allow_synchronous_io): calls the handler, then reports its return to the loop.
  void run_handler_on_worker();
  // Answers without the app (never dispatched): the adapter is released.
  void reject(const HttpError& error);
  // A waiting request whose client went away: ends it quietly (499 in the access log).
  void abandon_waiting();
  // An op another thread posted for this request.
  void consume(LoopOp& op);

  // Pool and waiting-list links, the lane's to use.
  RequestAdapter* next = nullptr;
  RequestAdapter* prev = nullptr;
  bool waiting = false;

  // --- BodyReader (loop thread) ------------------------------------------------------------
  void on_body_data(std::string_view chunk) override;
  void on_body_end() override;
  void on_body_error(int status) override;

  // --- the ABI (any thread unless said) ----------------------------------------------------
  int set_status(int status, std::string_view reason);
  int add_header(std::string_view name, std::string_view value);
  int write(const char* data, size_t len, unsigned flags, sitehost_write_cb cb, void* arg);
  int write_sync(const char* data, size_t len);
  int finish(bool abnormal = false);
  // Accepts the upgrade the request offers: sends the 101; reads and writes then carry raw bytes.
  int upgrade();
  int read_start(sitehost_read_cb cb);
  int read_stop();
  ssize_t read_sync(char* buf, size_t len);
  int on_abort(sitehost_abort_cb cb);
  bool is_aborted() const {
    return aborted_.load(std::memory_order_acquire) ||
           forced_error_.load(std::memory_order_acquire);
  }

 private:
  enum OpKind {
    kSetStatus = 1,
    kAddHeader,
    kWrite,
    kWriteSync,
    kFinish,
    kReadStart,
    kReadStop,
    kReadStartSync,
    kReadResumeSync,
    kOnAbort,
    kFireAbort,
    kHandlerReturned,
    kAbortResponse,
    kUpgrade,
    kUpgradeRequestEof,
  };
  enum class ReadMode { kNone, kAsync, kSync };

  // The ABI struct, first member of a standard-layout struct so we can get back to *this.
  struct Handle {
    sitehost_request_t abi;
    RequestAdapter* owner;
  };

  template <class Fill>
  int post(Fill&& fill);
  // An ABI call's two halves: on the loop thread `now` runs at once, unless ops of this request
  // are still queued (then it is queued behind them); from any other thread `fill` describes it
  // for the loop.
  template <class Now, class Fill>
  int now_or_post(Now&& now, Fill&& fill);
  bool on_loop() const;

  // Loop-thread halves of the ABI calls.
  void do_set_status(int status, std::string_view reason);
  void do_add_header(std::string_view name, std::string_view value);
  int do_write(const char* data, size_t len, unsigned flags, sitehost_write_cb cb, void* arg,
               std::string* copied);
  void do_write_sync(const char* data, size_t len);
  void do_finish(bool abnormal);
  int do_read_start(sitehost_read_cb cb);
  void do_read_stop();
  void do_read_start_sync();
  void do_set_abort(sitehost_abort_cb cb);
  void do_upgrade();
  bool awaiting_upgrade() const;  // any thread: status 101 set, upgrade() not called yet
  void deliver_upgrade_request_eof();

  static void on_exchange_abort(void* ctx);
  static void on_write_done(void* ctx, int status);
  void write_done(WriteRecord* record, int status);
  void complete_sync_write(int status);
  void deliver_body_status(int code);  // EOF or an error to the reader (async or sync)
  void fire_abort();
  void unref();

  InprocLane& site_;  // the lane: this loop's part of the site
  Handle handle_{};
  Exchange* exchange_ = nullptr;  // null once the app finished, or cut by force_abort
  // After force_abort: the exchange answered but held for its views (RequestInfo) until the app
  // finishes; only finish() is called on it.
  Exchange* held_ = nullptr;
  const RequestInfo* info_ = nullptr;
  Generation* generation_ = nullptr;
  int refs_ = 0;

  // Any thread: ops posted for this request and not yet consumed. While non-zero, loop-thread
  // calls are queued too, so calls on one request take effect in order without draining the
  // mailbox (other requests' ops, and callbacks, never run inside a call).
  std::atomic<uint32_t> queued_{0};

  // Any thread (the app's view of its own calls).
  std::atomic<bool> head_committed_{false};  // a write or finish was called
  std::atomic<bool> finish_called_{false};
  std::atomic<bool> aborted_{false};       // the client went away
  std::atomic<bool> forced_error_{false};  // the body crossed the limit before the head: 413
  std::atomic<bool> status_101_{false};    // the app set 101: writes wait for upgrade()
  std::atomic<bool> upgraded_{false};      // upgrade() was called

  // Body (loop thread).
  ReadMode read_mode_ = ReadMode::kNone;
  sitehost_read_cb read_cb_ = nullptr;
  bool reading_ = false;
  bool body_done_ = false;
  uint64_t received_ = 0;
  // The 101 went out: the body is the client's raw stream (no max_request_body_size). Before
  // it, an upgrade request's body is empty (the front end delivers the raw stream only after
  // the 101), so reads end at once, and the upgrade starts them anew.
  bool tunnel_ = false;

  // Abort (loop thread).
  sitehost_abort_cb abort_cb_ = nullptr;
  bool abort_fired_ = false;

  // Blocking calls (allow_synchronous_io): a worker waits here for the loop.
  std::mutex sync_mutex_;
  std::condition_variable sync_cv_;
  std::string sync_buffer_;  // body bytes not yet read; capacity kept across requests
  size_t sync_offset_ = 0;
  int sync_status_ = 0;  // SITEHOST_EOF or an error once the body is over
  // allow_synchronous_io as the request arrived: only then may a thread block on sync_cv_.
  bool sync_allowed_ = false;
  bool sync_paused_ = false;
  bool sync_read_started_ = false;
  bool sync_write_pending_ = false;
  int sync_write_status_ = 0;
};

}  // namespace sitehost::inproc
