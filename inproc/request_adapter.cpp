#include "inproc/request_adapter.h"

#include <cstring>
#include <type_traits>

#include <fmt/format.h>

#include "inproc/generation.h"
#include "inproc/inproc_lane.h"
#include "shared/http/field_rules.h"
#include "shared/log/logger.h"

namespace sitehost::inproc {

namespace {

// Sync-read buffering: pause the client above kHigh unread bytes, resume below kLow.
constexpr size_t kSyncHigh = 256 * 1024;
constexpr size_t kSyncLow = 64 * 1024;

sitehost_str_t str(std::string_view v) {
  return {v.data(), v.size()};
}

int body_error_code(int status) {
  switch (status) {
    case 413:
      return SITEHOST_E_TOO_LARGE;
    case 400:
      return SITEHOST_E_BAD_BODY;
    default:
      return SITEHOST_E_ABORTED;
  }
}

void ignore_write(void*, int) {}

// --- the function table: thin C trampolines onto RequestAdapter -------------------------------

const RequestInfo& info_of(const sitehost_request_t* r) {
  return RequestAdapter::from(r)->info();
}

sitehost_str_t request_method(const sitehost_request_t* r) {
  return str(info_of(r).method);
}
sitehost_str_t request_target(const sitehost_request_t* r) {
  return str(info_of(r).target);
}
sitehost_str_t request_path_base(const sitehost_request_t* r) {
  return str(info_of(r).path_base);
}
sitehost_str_t request_path(const sitehost_request_t* r) {
  return str(info_of(r).path);
}
sitehost_str_t request_query(const sitehost_request_t* r) {
  return str(info_of(r).query);
}
sitehost_str_t request_protocol(const sitehost_request_t* r) {
  const auto& i = info_of(r);
  if (i.http_major == 2) return str("HTTP/2");
  if (i.http_major == 1 && i.http_minor == 0) return str("HTTP/1.0");
  return str("HTTP/1.1");
}
int request_header(const sitehost_request_t* r, const char* name, size_t len,
                   sitehost_str_t* value) {
  auto found = info_of(r).header(std::string_view(name, len));
  if (found && value) *value = str(*found);
  return found ? 1 : 0;
}
size_t request_header_count(const sitehost_request_t* r) {
  return info_of(r).headers.size();
}
int request_header_at(const sitehost_request_t* r, size_t index, sitehost_str_t* name,
                      sitehost_str_t* value) {
  const auto& headers = info_of(r).headers;
  if (index >= headers.size()) return 0;
  if (name) *name = str(headers[index].name);
  if (value) *value = str(headers[index].value);
  return 1;
}
const sockaddr* request_remote_addr(const sitehost_request_t* r) {
  return reinterpret_cast<const sockaddr*>(info_of(r).remote);
}
const sockaddr* request_local_addr(const sitehost_request_t* r) {
  return reinterpret_cast<const sockaddr*>(info_of(r).local);
}
int request_is_tls(const sitehost_request_t* r) {
  return info_of(r).tls ? 1 : 0;
}
sitehost_str_t request_client_certificate(const sitehost_request_t* r) {
  std::string_view der = info_of(r).client_certificate;
  return der.empty() ? str("") : str(der);
}
int request_is_upgrade(const sitehost_request_t* r) {
  return info_of(r).upgrade ? 1 : 0;
}
int64_t request_content_length(const sitehost_request_t* r) {
  const auto& cl = info_of(r).content_length;
  return cl ? static_cast<int64_t>(*cl) : -1;
}

int request_read_start(sitehost_request_t* r, sitehost_read_cb cb) {
  return RequestAdapter::from(r)->read_start(cb);
}
int request_read_stop(sitehost_request_t* r) {
  return RequestAdapter::from(r)->read_stop();
}
ssize_t request_read(sitehost_request_t* r, char* buf, size_t len) {
  return RequestAdapter::from(r)->read_sync(buf, len);
}
int response_set_status(sitehost_request_t* r, int status, const char* reason, size_t len) {
  return RequestAdapter::from(r)->set_status(status, std::string_view(reason ? reason : "", len));
}
int response_add_header(sitehost_request_t* r, const char* name, size_t name_len, const char* value,
                        size_t value_len) {
  if (!name || (!value && value_len)) return SITEHOST_E_INVAL;
  return RequestAdapter::from(r)->add_header(std::string_view(name, name_len),
                                             std::string_view(value ? value : "", value_len));
}
int response_write(sitehost_request_t* r, const char* data, size_t len, unsigned flags,
                   sitehost_write_cb cb, void* arg) {
  return RequestAdapter::from(r)->write(data, len, flags, cb, arg);
}
int response_write_sync(sitehost_request_t* r, const char* data, size_t len) {
  return RequestAdapter::from(r)->write_sync(data, len);
}
int response_finish(sitehost_request_t* r) {
  return RequestAdapter::from(r)->finish();
}
int response_abort(sitehost_request_t* r) {
  return RequestAdapter::from(r)->finish(true);
}
int response_upgrade(sitehost_request_t* r) {
  return RequestAdapter::from(r)->upgrade();
}
int request_on_abort(sitehost_request_t* r, sitehost_abort_cb cb) {
  return RequestAdapter::from(r)->on_abort(cb);
}
int request_is_aborted(const sitehost_request_t* r) {
  return RequestAdapter::from(r)->is_aborted() ? 1 : 0;
}
void site_log(sitehost_site_t* site, int level, const char* message, size_t len) {
  if (!site || !message) return;
  Generation::from(site)->log_from_app(level, std::string_view(message, len));
}

constexpr sitehost_server_t kServerTable = {
    SITEHOST_HANDLER_ABI_VERSION,
    sizeof(sitehost_server_t),
    request_method,
    request_target,
    request_path_base,
    request_path,
    request_query,
    request_protocol,
    request_header,
    request_header_count,
    request_header_at,
    request_remote_addr,
    request_local_addr,
    request_is_tls,
    request_content_length,
    request_read_start,
    request_read_stop,
    request_read,
    response_set_status,
    response_add_header,
    response_write,
    response_write_sync,
    response_finish,
    request_on_abort,
    request_is_aborted,
    site_log,
    response_abort,
    request_client_certificate,  // 1.1
    request_is_upgrade,          // 1.2
    response_upgrade,
};

}  // namespace

const sitehost_server_t* server_table() {
  return &kServerTable;
}

// --- serial apps ------------------------------------------------------------------------------

AppCall::AppCall(const Generation* generation) {
  SerialGate* gate = generation ? generation->gate() : nullptr;
  if (gate && gate->enter()) gate_ = gate;
}

AppCall::~AppCall() {
  if (gate_) gate_->leave();
}

namespace {

// Around a blocking server call (sync I/O) made from inside a call into a serial app: lets go of
// the gate while it waits, so the loop can run other requests' callbacks meanwhile (it may have
// to before it can complete this call), and takes it back before returning to the app.
class BlockingCall {
 public:
  explicit BlockingCall(const Generation* generation) {
    SerialGate* gate = generation ? generation->gate() : nullptr;
    if (gate && gate->held_here()) {
      gate_ = gate;
      gate_->leave();
    }
  }
  ~BlockingCall() {
    if (gate_) gate_->enter();
  }
  BlockingCall(const BlockingCall&) = delete;
  BlockingCall& operator=(const BlockingCall&) = delete;

 private:
  SerialGate* gate_ = nullptr;
};

}  // namespace

// --- the lane's side ----------------------------------------------------------------------------

RequestAdapter::RequestAdapter(InprocLane& lane) : site_(lane) {
  handle_.abi.server = server_table();
  handle_.abi.data = nullptr;
  handle_.owner = this;
}

void RequestAdapter::attach(Exchange& exchange) {
  exchange_ = &exchange;
  held_ = nullptr;
  info_ = &exchange.request();
  generation_ = nullptr;
  refs_ = 0;
  handle_.abi.data = nullptr;
  head_committed_.store(false, std::memory_order_relaxed);
  finish_called_.store(false, std::memory_order_relaxed);
  aborted_.store(false, std::memory_order_relaxed);
  forced_error_.store(false, std::memory_order_relaxed);
  status_101_.store(false, std::memory_order_relaxed);
  upgraded_.store(false, std::memory_order_relaxed);
  tunnel_ = false;
  read_mode_ = ReadMode::kNone;
  read_cb_ = nullptr;
  reading_ = false;
  body_done_ = false;
  received_ = 0;
  abort_cb_ = nullptr;
  abort_fired_ = false;
  // No other thread holds this adapter yet (the handoff to a worker or the app publishes these
  // writes), so the blocking-I/O state is reset without its lock.
  sync_allowed_ = site_.config().allow_synchronous_io;
  sync_buffer_.clear();
  sync_offset_ = 0;
  sync_status_ = 0;
  sync_paused_ = false;
  sync_read_started_ = false;
  sync_write_pending_ = false;
  sync_write_status_ = 0;
  waiting = false;
  exchange.set_abort_handler(AbortHandler{&RequestAdapter::on_exchange_abort, this});
}

void RequestAdapter::begin(Generation& generation) {
  generation_ = &generation;
  generation.acquire(site_.index());
  refs_ = 2;  // the handler call + the app's finish
}

void RequestAdapter::reject(const HttpError& error) {
  Exchange* ex = std::exchange(exchange_, nullptr);
  ex->set_abort_handler({});
  ex->respond_error(error);
  site_.adapter_done(*this);
}

void RequestAdapter::run_handler_on_worker() {
  {
    AppCall call(generation_);
    generation_->call_request(abi());
  }
  // From here on the request may already be recycled for another exchange except for the
  // handler's reference, which the loop drops when it sees this op.
  post([](LoopOp& op) { op.kind = kHandlerReturned; });
}

void RequestAdapter::force_abort(const HttpError& error) {
  if (refs_ == 0) return;
  ++refs_;  // whatever the app does in its callbacks, *this stays ours until the end
  aborted_.store(true, std::memory_order_release);
  if (Exchange* ex = std::exchange(exchange_, nullptr)) {
    // Not respond_error: that would end the exchange, and the front end would reuse its
    // RequestInfo and buffer while the app (maybe on another thread) still reads views into
    // them. Holding the exchange keeps the hot path zero-copy; copying the views here instead
    // could not fix views the app took before the abort.
    ex->set_abort_handler({});
    ex->respond_error_and_hold(error);
    held_ = ex;
  }
  if (read_mode_ != ReadMode::kNone && !body_done_) {
    body_done_ = true;
    deliver_body_status(SITEHOST_E_ABORTED);
  } else if (sync_allowed_) {
    std::lock_guard lock(sync_mutex_);  // a worker blocked in a read sees aborted_
    sync_cv_.notify_all();
  }
  fire_abort();
  unref();
}

void RequestAdapter::abandon_waiting() {
  Exchange* ex = std::exchange(exchange_, nullptr);
  ex->set_abort_handler({});
  ex->set_status(499, "Client Closed Request");
  ex->finish();
  site_.adapter_done(*this);
}

bool RequestAdapter::on_loop() const {
  return site_.on_loop();
}

template <class Now, class Fill>
int RequestAdapter::now_or_post(Now&& now, Fill&& fill) {
  // Queued behind this request's own queued ops (order); never a drain of the mailbox here,
  // which would run other requests' ops and callbacks inside this call.
  if (!on_loop() || queued_.load(std::memory_order_acquire) != 0)
    return post(std::forward<Fill>(fill));
  if constexpr (std::is_void_v<std::invoke_result_t<Now>>) {
    now();
    return SITEHOST_OK;
  } else {
    return now();
  }
}

template <class Fill>
int RequestAdapter::post(Fill&& fill) {
  bool posted = site_.mailbox().post([&](LoopOp& op) {
    op.target = this;
    queued_.fetch_add(1, std::memory_order_release);  // under the mailbox lock: only when posted
    fill(op);
  });
  return posted ? SITEHOST_OK : SITEHOST_E_ABORTED;
}

void RequestAdapter::unref() {
  if (--refs_ == 0) site_.adapter_done(*this);
}

void RequestAdapter::consume(LoopOp& op) {
  queued_.fetch_sub(1, std::memory_order_relaxed);  // first: the op may release *this
  switch (op.kind) {
    case kSetStatus:
      do_set_status(op.number, op.text1);
      break;
    case kAddHeader:
      do_add_header(op.text1, op.text2);
      break;
    case kWrite: {
      auto cb = reinterpret_cast<sitehost_write_cb>(op.fn);
      const bool copy = (op.flags & SITEHOST_WRITE_COPY) != 0;
      int rc = do_write(copy ? op.text1.data() : op.data, op.len, op.flags, cb, op.arg,
                        copy ? &op.text1 : nullptr);
      if (rc != 0 && cb) {
        ++refs_;
        {
          AppCall call(generation_);
          cb(abi(), rc, op.arg);
        }
        unref();
      }
      break;
    }
    case kWriteSync:
      do_write_sync(op.data, op.len);
      break;
    case kFinish:
      do_finish(false);
      break;
    case kAbortResponse:
      do_finish(true);
      break;
    case kReadStart: {
      auto cb = reinterpret_cast<sitehost_read_cb>(op.fn);
      int rc = do_read_start(cb);
      if (rc != 0) {
        ++refs_;
        {
          AppCall call(generation_);
          cb(abi(), rc, nullptr);
        }
        unref();
      }
      break;
    }
    case kReadStop:
      do_read_stop();
      break;
    case kReadStartSync:
      do_read_start_sync();
      break;
    case kReadResumeSync:
      if (exchange_ && !body_done_) exchange_->resume_body();
      break;
    case kOnAbort:
      do_set_abort(reinterpret_cast<sitehost_abort_cb>(op.fn));
      break;
    case kFireAbort:
      fire_abort();
      unref();  // taken when the op was posted
      break;
    case kHandlerReturned:
      handler_returned();
      break;
    case kUpgrade:
      do_upgrade();
      break;
    case kUpgradeRequestEof:
      deliver_upgrade_request_eof();
      unref();  // taken when the op was posted
      break;
    default:
      break;
  }
}

// --- response -------------------------------------------------------------------------------

int RequestAdapter::set_status(int status, std::string_view reason) {
  if (status < 100 || status > 999 || !http::valid_field_value(reason)) return SITEHOST_E_INVAL;
  if (status == 101 && !info_->upgrade) return SITEHOST_E_INVAL;  // nothing to switch to
  if (finish_called_.load(std::memory_order_acquire) ||
      head_committed_.load(std::memory_order_acquire))
    return SITEHOST_E_STATE;
  status_101_.store(status == 101, std::memory_order_release);
  return now_or_post([&] { do_set_status(status, reason); },
                     [&](LoopOp& op) {
                       op.kind = kSetStatus;
                       op.number = status;
                       op.text1.assign(reason);
                     });
}

void RequestAdapter::do_set_status(int status, std::string_view reason) {
  if (exchange_ && !forced_error_.load(std::memory_order_relaxed))
    exchange_->set_status(status, reason);
}

int RequestAdapter::add_header(std::string_view name, std::string_view value) {
  if (!http::valid_field_name(name) || !http::valid_field_value(value)) return SITEHOST_E_INVAL;
  if (finish_called_.load(std::memory_order_acquire) ||
      head_committed_.load(std::memory_order_acquire))
    return SITEHOST_E_STATE;
  return now_or_post([&] { do_add_header(name, value); },
                     [&](LoopOp& op) {
                       op.kind = kAddHeader;
                       op.text1.assign(name);
                       op.text2.assign(value);
                     });
}

void RequestAdapter::do_add_header(std::string_view name, std::string_view value) {
  if (exchange_ && !forced_error_.load(std::memory_order_relaxed))
    exchange_->add_header(name, value);
}

int RequestAdapter::write(const char* data, size_t len, unsigned flags, sitehost_write_cb cb,
                          void* arg) {
  if (!data && len) return SITEHOST_E_INVAL;
  if (finish_called_.load(std::memory_order_acquire) || awaiting_upgrade()) return SITEHOST_E_STATE;
  if (is_aborted()) return SITEHOST_E_ABORTED;
  head_committed_.store(true, std::memory_order_release);
  return now_or_post([&] { return do_write(data, len, flags, cb, arg, nullptr); },
                     [&](LoopOp& op) {
                       op.kind = kWrite;
                       op.flags = flags;
                       op.len = len;
                       op.fn = reinterpret_cast<void (*)()>(cb);
                       op.arg = arg;
                       op.data = data;
                       if (flags & SITEHOST_WRITE_COPY) op.text1.assign(data ? data : "", len);
                     });
}

int RequestAdapter::do_write(const char* data, size_t len, unsigned flags, sitehost_write_cb cb,
                             void* arg, std::string* copied) {
  if (!exchange_ || is_aborted()) return SITEHOST_E_ABORTED;
  const bool copy = (flags & SITEHOST_WRITE_COPY) != 0;
  if (!cb && !copy) {
    // Zero-copy and nobody to tell: the bytes outlive the request (the app's contract).
    exchange_->write(std::string_view(data, len), WriteDone{&ignore_write, nullptr});
    return SITEHOST_OK;
  }
  WriteRecord* record = site_.take_write_record();
  record->adapter = this;
  record->cb = cb;
  record->arg = arg;
  record->sync = false;
  std::string_view bytes(data, len);
  if (copy) {
    if (copied)
      record->copy.swap(*copied);  // the op's copy moves in; its old buffer goes to the op
    else
      record->copy.assign(data, len);
    bytes = record->copy;
  }
  ++refs_;
  exchange_->write(bytes, WriteDone{&RequestAdapter::on_write_done, record});
  return SITEHOST_OK;
}

void RequestAdapter::on_write_done(void* ctx, int status) {
  auto* record = static_cast<WriteRecord*>(ctx);
  record->adapter->write_done(record, status);
}

void RequestAdapter::write_done(WriteRecord* record, int status) {
  int code = status == 0 ? SITEHOST_OK : SITEHOST_E_ABORTED;
  if (record->sync) {
    site_.recycle_write_record(record);
    complete_sync_write(code);
  } else {
    sitehost_write_cb cb = record->cb;
    void* arg = record->arg;
    site_.recycle_write_record(record);
    if (cb) {
      AppCall call(generation_);
      cb(abi(), code, arg);  // the write's own reference is still held here
    }
  }
  unref();
}

int RequestAdapter::write_sync(const char* data, size_t len) {
  if (!sync_allowed_) return SITEHOST_E_SYNC_IO;
  if (on_loop()) return SITEHOST_E_DEADLOCK;
  if (!data && len) return SITEHOST_E_INVAL;
  if (finish_called_.load(std::memory_order_acquire) || awaiting_upgrade()) return SITEHOST_E_STATE;
  if (is_aborted()) return SITEHOST_E_ABORTED;
  head_committed_.store(true, std::memory_order_release);
  std::unique_lock lock(sync_mutex_);
  if (sync_write_pending_) return SITEHOST_E_STATE;  // one blocking write at a time
  sync_write_pending_ = true;
  lock.unlock();
  int rc = post([&](LoopOp& op) {
    op.kind = kWriteSync;
    op.data = data;
    op.len = len;
  });
  lock.lock();
  if (rc != 0) {
    sync_write_pending_ = false;
    return rc;
  }
  lock.unlock();
  BlockingCall blocking(generation_);  // not under sync_mutex_: the gate comes first
  lock.lock();
  sync_cv_.wait(lock, [this] { return !sync_write_pending_; });
  int status = sync_write_status_;
  lock.unlock();  // before the gate is taken back (BlockingCall's destructor)
  return status;
}

void RequestAdapter::do_write_sync(const char* data, size_t len) {
  if (!exchange_ || is_aborted()) {
    complete_sync_write(SITEHOST_E_ABORTED);
    return;
  }
  WriteRecord* record = site_.take_write_record();
  record->adapter = this;
  record->cb = nullptr;
  record->arg = nullptr;
  record->sync = true;
  ++refs_;
  exchange_->write(std::string_view(data, len), WriteDone{&RequestAdapter::on_write_done, record});
}

void RequestAdapter::complete_sync_write(int status) {
  std::lock_guard lock(sync_mutex_);
  sync_write_pending_ = false;
  sync_write_status_ = status;
  sync_cv_.notify_all();
}

int RequestAdapter::finish(bool abnormal) {
  if (finish_called_.exchange(true, std::memory_order_acq_rel)) return SITEHOST_E_STATE;
  head_committed_.store(true, std::memory_order_release);
  return now_or_post([&] { do_finish(abnormal); },
                     [&](LoopOp& op) { op.kind = abnormal ? kAbortResponse : kFinish; });
}

void RequestAdapter::do_finish(bool abnormal) {
  if (Exchange* ex = std::exchange(held_, nullptr)) {
    ex->finish();  // answered by force_abort; this only lets go of the request's views
  } else if (Exchange* ex = std::exchange(exchange_, nullptr)) {
    ex->set_abort_handler({});
    if (forced_error_.load(std::memory_order_relaxed)) {
      std::string detail = fmt::format("request body exceeds max_request_body_size ({} bytes)",
                                       site_.config().max_request_body_size);
      ex->respond_error(HttpError{413, 0, detail});
    } else if (abnormal) {
      ex->respond_error(HttpError{500, 0, "the application aborted the response"});
    } else {
      ex->finish();
    }
  }
  if (sync_allowed_) {
    // A worker blocked in a read would wait forever now.
    std::lock_guard lock(sync_mutex_);
    if (sync_status_ == 0) sync_status_ = SITEHOST_E_STATE;
    sync_cv_.notify_all();
  }
  unref();  // the app's reference
}

// --- upgrade ----------------------------------------------------------------------------------

int RequestAdapter::upgrade() {
  if (!info_->upgrade) return SITEHOST_E_INVAL;
  if (finish_called_.load(std::memory_order_acquire)) return SITEHOST_E_STATE;
  if (is_aborted()) return SITEHOST_E_ABORTED;
  if (head_committed_.exchange(true, std::memory_order_acq_rel)) return SITEHOST_E_STATE;
  upgraded_.store(true, std::memory_order_release);
  {
    // Blocking reads start anew on the raw stream; reset here, on the caller's thread, so its
    // next read cannot see the (empty) request body's end.
    std::lock_guard lock(sync_mutex_);
    sync_buffer_.clear();
    sync_offset_ = 0;
    sync_status_ = 0;
    sync_paused_ = false;
    sync_read_started_ = false;
  }
  return now_or_post([&] { do_upgrade(); }, [&](LoopOp& op) { op.kind = kUpgrade; });
}

void RequestAdapter::do_upgrade() {
  if (!exchange_) return;  // cut meanwhile (client gone, force_abort): its writes fail anyway
  tunnel_ = true;
  read_mode_ = ReadMode::kNone;  // the app reads the raw stream from the start
  read_cb_ = nullptr;
  reading_ = false;
  body_done_ = false;
  received_ = 0;
  if (!status_101_.load(std::memory_order_acquire)) exchange_->set_status(101, {});
  exchange_->write({}, WriteDone{&ignore_write, nullptr});  // the 101 head, alone
}

bool RequestAdapter::awaiting_upgrade() const {
  return status_101_.load(std::memory_order_acquire) && !upgraded_.load(std::memory_order_acquire);
}

void RequestAdapter::deliver_upgrade_request_eof() {
  // Not once the app asked for the upgrade (reads start anew on the raw stream), nor after finish.
  if (tunnel_ || upgraded_.load(std::memory_order_acquire) ||
      finish_called_.load(std::memory_order_acquire) || read_mode_ != ReadMode::kAsync || !read_cb_)
    return;
  ++refs_;
  {
    AppCall call(generation_);
    read_cb_(abi(), exchange_ ? SITEHOST_EOF : SITEHOST_E_ABORTED, nullptr);
  }
  unref();
}

// --- request body -----------------------------------------------------------------------------

int RequestAdapter::read_start(sitehost_read_cb cb) {
  if (!cb) return SITEHOST_E_INVAL;
  if (finish_called_.load(std::memory_order_acquire)) return SITEHOST_E_STATE;
  return now_or_post([&] { return do_read_start(cb); },
                     [&](LoopOp& op) {
                       op.kind = kReadStart;
                       op.fn = reinterpret_cast<void (*)()>(cb);
                     });
}

int RequestAdapter::do_read_start(sitehost_read_cb cb) {
  if (read_mode_ == ReadMode::kSync || body_done_) return SITEHOST_E_STATE;
  if (!exchange_)  // finished, or cut by force_abort
    return aborted_.load(std::memory_order_acquire) ? SITEHOST_E_ABORTED : SITEHOST_E_STATE;
  if (is_aborted()) return SITEHOST_E_ABORTED;
  read_cb_ = cb;
  if (read_mode_ == ReadMode::kNone) {
    read_mode_ = ReadMode::kAsync;
    reading_ = true;
    if (info_->upgrade && !tunnel_) {
      // Not upgraded (yet): the request's own body is empty. Its end comes soon, never inside
      // this call; the raw stream is read after the upgrade.
      body_done_ = true;
      ++refs_;
      if (post([](LoopOp& op) { op.kind = kUpgradeRequestEof; }) != SITEHOST_OK) --refs_;
      return SITEHOST_OK;
    }
    exchange_->read_body(*this);
  } else if (!reading_) {
    reading_ = true;
    exchange_->resume_body();
  }
  return SITEHOST_OK;
}

int RequestAdapter::read_stop() {
  return now_or_post([&] { do_read_stop(); }, [&](LoopOp& op) { op.kind = kReadStop; });
}

void RequestAdapter::do_read_stop() {
  if (read_mode_ != ReadMode::kAsync || !reading_ || body_done_ || !exchange_) return;
  reading_ = false;
  exchange_->pause_body();
}

ssize_t RequestAdapter::read_sync(char* buf, size_t len) {
  if (!sync_allowed_) return SITEHOST_E_SYNC_IO;
  if (on_loop()) return SITEHOST_E_DEADLOCK;
  if (!buf && len) return SITEHOST_E_INVAL;
  BlockingCall blocking(
      generation_);  // declared first: the lock below goes before the gate returns
  std::unique_lock lock(sync_mutex_);
  if (!sync_read_started_) {
    sync_read_started_ = true;
    lock.unlock();
    int rc = post([&](LoopOp& op) { op.kind = kReadStartSync; });
    lock.lock();
    if (rc != 0) return rc;
  }
  sync_cv_.wait(lock, [this] {
    return sync_buffer_.size() > sync_offset_ || sync_status_ != 0 ||
           aborted_.load(std::memory_order_acquire);
  });
  size_t available = sync_buffer_.size() - sync_offset_;
  if (available > 0) {
    size_t n = std::min(available, len);
    std::memcpy(buf, sync_buffer_.data() + sync_offset_, n);
    sync_offset_ += n;
    if (sync_offset_ == sync_buffer_.size()) {
      sync_buffer_.clear();
      sync_offset_ = 0;
    }
    bool resume = sync_paused_ && sync_buffer_.size() - sync_offset_ <= kSyncLow;
    if (resume) sync_paused_ = false;
    lock.unlock();
    if (resume) post([&](LoopOp& op) { op.kind = kReadResumeSync; });
    return static_cast<ssize_t>(n);
  }
  if (sync_status_ == SITEHOST_EOF) return 0;
  if (sync_status_ != 0) return sync_status_;
  return SITEHOST_E_ABORTED;
}

void RequestAdapter::do_read_start_sync() {
  if (read_mode_ == ReadMode::kAsync || !exchange_) {
    std::lock_guard lock(sync_mutex_);
    if (sync_status_ == 0) sync_status_ = exchange_ ? SITEHOST_E_STATE : SITEHOST_E_ABORTED;
    sync_cv_.notify_all();
    return;
  }
  if (read_mode_ == ReadMode::kSync) return;
  read_mode_ = ReadMode::kSync;
  if (body_done_) return;  // already failed (limit) before the first read
  if (info_->upgrade && !tunnel_) {
    // Not upgraded (yet): the request's own body is empty; the raw stream comes after the 101.
    body_done_ = true;
    std::lock_guard lock(sync_mutex_);
    if (sync_status_ == 0) sync_status_ = SITEHOST_EOF;
    sync_cv_.notify_all();
    return;
  }
  exchange_->read_body(*this);
}

void RequestAdapter::on_body_data(std::string_view chunk) {
  if (body_done_ || !exchange_) return;
  received_ += chunk.size();
  const uint64_t limit = tunnel_ ? 0 : site_.config().max_request_body_size;
  if (limit != 0 && received_ > limit) {
    // IISServerOptions.MaxRequestBodySize counted while reading: the read fails, and the answer
    // is 413 unless the response already started.
    body_done_ = true;
    if (!exchange_->head_sent() && !head_committed_.load(std::memory_order_acquire))
      forced_error_.store(true, std::memory_order_release);
    exchange_->pause_body();
    site_.log().info("site {}: request body over max_request_body_size ({} bytes): {}",
                     site_.config().name, limit, info_->target);
    deliver_body_status(SITEHOST_E_TOO_LARGE);
    return;
  }
  if (read_mode_ == ReadMode::kSync) {
    bool pause = false;
    {
      std::lock_guard lock(sync_mutex_);
      if (sync_offset_ > 0 && sync_offset_ >= sync_buffer_.size() / 2) {
        sync_buffer_.erase(0, sync_offset_);
        sync_offset_ = 0;
      }
      sync_buffer_.append(chunk);
      if (!sync_paused_ && sync_buffer_.size() - sync_offset_ >= kSyncHigh) {
        sync_paused_ = true;
        pause = true;
      }
      sync_cv_.notify_all();
    }
    if (pause) exchange_->pause_body();
    return;
  }
  if (read_cb_) {
    ++refs_;
    {
      AppCall call(generation_);
      read_cb_(abi(), static_cast<ssize_t>(chunk.size()), chunk.data());
    }
    unref();
  }
}

void RequestAdapter::on_body_end() {
  if (body_done_) return;
  body_done_ = true;
  deliver_body_status(SITEHOST_EOF);
}

void RequestAdapter::on_body_error(int status) {
  if (body_done_) return;
  body_done_ = true;
  deliver_body_status(body_error_code(status));
}

void RequestAdapter::deliver_body_status(int code) {
  if (read_mode_ == ReadMode::kSync) {
    std::lock_guard lock(sync_mutex_);
    sync_status_ = code;
    sync_cv_.notify_all();
    return;
  }
  if (read_cb_) {
    ++refs_;
    {
      AppCall call(generation_);
      read_cb_(abi(), code, nullptr);
    }
    unref();
  }
}

// --- abort ------------------------------------------------------------------------------------

int RequestAdapter::on_abort(sitehost_abort_cb cb) {
  if (!cb) return SITEHOST_E_INVAL;
  if (finish_called_.load(std::memory_order_acquire)) return SITEHOST_E_STATE;
  auto now = [&] {
    abort_cb_ = cb;
    if (aborted_.load(std::memory_order_acquire) && !abort_fired_) {
      // Already gone: tell the app soon, not inside its own call.
      ++refs_;
      if (post([](LoopOp& op) { op.kind = kFireAbort; }) != SITEHOST_OK) --refs_;
    }
  };
  return now_or_post(now, [&](LoopOp& op) {
    op.kind = kOnAbort;
    op.fn = reinterpret_cast<void (*)()>(cb);
  });
}

void RequestAdapter::do_set_abort(sitehost_abort_cb cb) {
  abort_cb_ = cb;
  if (aborted_.load(std::memory_order_acquire)) fire_abort();
}

void RequestAdapter::on_exchange_abort(void* ctx) {
  auto* self = static_cast<RequestAdapter*>(ctx);
  if (self->waiting) {
    self->site_.cancel_waiting(*self);
    return;
  }
  self->aborted_.store(true, std::memory_order_release);
  {
    std::lock_guard lock(self->sync_mutex_);
    self->sync_cv_.notify_all();
  }
  self->fire_abort();
}

void RequestAdapter::fire_abort() {
  // Not once the app has finished (its finish may still be on its way from another thread).
  if (!abort_cb_ || abort_fired_ || finish_called_.load(std::memory_order_acquire)) return;
  abort_fired_ = true;
  ++refs_;
  {
    AppCall call(generation_);
    abort_cb_(abi());
  }
  unref();
}

}  // namespace sitehost::inproc
