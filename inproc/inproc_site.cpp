#include "inproc/inproc_site.h"

#include <fmt/format.h>

#include "shared/log/logger.h"

namespace sitehost {

std::unique_ptr<Site> make_inproc_site(const SiteConfig& config, const SiteContext& context) {
  return std::make_unique<inproc::InprocSite>(config, context);
}

}  // namespace sitehost

namespace sitehost::inproc {

namespace {

constexpr size_t kMaxWorkers = 64;             // allow_synchronous_io threads per site
constexpr size_t kCaptureLimit = 32 * 1024;    // stderr kept from a start
constexpr size_t kKeepCopyCapacity = 1 << 20;  // larger write copies are freed, not pooled
constexpr uint64_t kFailedCheckIntervalMs = 1000;

// First line of a message, for one-line log entries.
std::string_view first_line(std::string_view s) {
  return s.substr(0, s.find('\n'));
}

}  // namespace

InprocSite::InprocSite(const SiteConfig& config, const SiteContext& context)
    : config_(config),
      loop_(context.loop),
      log_(*context.log),
      loop_thread_(pthread_self()),
      mailbox_(std::make_shared<Mailbox>(context.loop, &InprocSite::consume, this)) {
  startup_timer_.init([this](uv_timer_t* t) { return uv_timer_init(loop_, t); }, this);
  stop_timer_.init([this](uv_timer_t* t) { return uv_timer_init(loop_, t); }, this);
}

InprocSite::~InprocSite() {
  // Normally stop() ran to completion first. If not, nothing may call back into *this.
  if (startup_job_ && !startup_job_->abandon()) startup_job_.reset();
  mailbox_->close();
  if (startup_capture_) StderrCapture::process().close(startup_capture_);
}

void InprocSite::consume(void*, LoopOp& op) {
  static_cast<RequestAdapter*>(op.target)->consume(op);
}

void InprocSite::start() {
  if (config_.preload && !current_ && !stopping_) start_generation();
}

// --- requests -----------------------------------------------------------------------------------

void InprocSite::handle(Exchange& exchange) {
  if (stopping_) {
    exchange.respond_error({503, 0, "the site is stopping"});
    return;
  }
  if (current_ && current_->state() == Generation::State::kFailed) {
    if (!library_changed()) {
      exchange.respond_error(failure_of(*current_));
      return;
    }
    log_.info("site {}: {} changed since the failed start; starting again", config_.name,
              config_.handler.string());
    current_.reset();
  }
  if (!current_) start_generation();
  RequestAdapter& adapter = acquire(exchange);
  if (current_->state() == Generation::State::kStarting) {
    adapter.waiting = true;
    adapter.next = nullptr;
    adapter.prev = waiting_tail_;
    if (waiting_tail_)
      waiting_tail_->next = &adapter;
    else
      waiting_head_ = &adapter;
    waiting_tail_ = &adapter;
    return;
  }
  dispatch(adapter);
}

RequestAdapter& InprocSite::acquire(Exchange& exchange) {
  RequestAdapter* adapter = free_adapters_;
  if (adapter) {
    free_adapters_ = adapter->next;
  } else {
    adapters_.push_back(std::make_unique<RequestAdapter>(*this));
    adapter = adapters_.back().get();
  }
  adapter->next = adapter->prev = nullptr;
  adapter->attach(exchange);
  return *adapter;
}

void InprocSite::dispatch(RequestAdapter& adapter) {
  const RequestInfo& request = adapter.info();
  const uint64_t limit = config_.max_request_body_size;
  if (limit != 0 && request.content_length && *request.content_length > limit) {
    std::string detail = fmt::format("Content-Length {} exceeds max_request_body_size ({} bytes)",
                                     *request.content_length, limit);
    adapter.reject({413, 0, detail});
    return;
  }
  Generation& generation = *current_;
  adapter.begin(generation);
  if (config_.allow_synchronous_io) {
    if (!pool_) pool_ = std::make_unique<WorkerPool>(kMaxWorkers);
    pool_->submit(&InprocSite::run_on_worker, &adapter);
    return;
  }
  generation.call_request(adapter.abi());
  adapter.handler_returned();
}

void InprocSite::run_on_worker(void* adapter) {
  static_cast<RequestAdapter*>(adapter)->run_handler_on_worker();
}

void InprocSite::adapter_done(RequestAdapter& adapter) {
  if (Generation* generation = adapter.generation()) generation->release();
  adapter.waiting = false;
  adapter.prev = nullptr;
  adapter.next = free_adapters_;
  free_adapters_ = &adapter;
  if (stopping_) maybe_finish_stop();
}

void InprocSite::cancel_waiting(RequestAdapter& adapter) {
  if (adapter.prev)
    adapter.prev->next = adapter.next;
  else
    waiting_head_ = adapter.next;
  if (adapter.next)
    adapter.next->prev = adapter.prev;
  else
    waiting_tail_ = adapter.prev;
  adapter.abandon_waiting();
}

WriteRecord* InprocSite::take_write_record() {
  WriteRecord* record = free_write_records_;
  if (record) {
    free_write_records_ = record->next_free;
  } else {
    write_records_.push_back(std::make_unique<WriteRecord>());
    record = write_records_.back().get();
  }
  record->next_free = nullptr;
  return record;
}

void InprocSite::recycle_write_record(WriteRecord* record) {
  if (record->copy.capacity() > kKeepCopyCapacity)
    std::string().swap(record->copy);
  else
    record->copy.clear();
  record->adapter = nullptr;
  record->cb = nullptr;
  record->next_free = free_write_records_;
  free_write_records_ = record;
}

// --- starting the app -------------------------------------------------------------------------

void InprocSite::start_generation() {
  auto generation =
      std::make_shared<Generation>(config_, log_, ++generations_started_, server_table());
  current_ = generation;
  startup_began_ms_ = uv_now(loop_);
  auto capture = std::make_shared<StderrCapture::Session>(kCaptureLimit);
  auto result = std::make_shared<StartupResult>();
  startup_capture_ = capture;
  log_.info("site {}: starting {} (generation {})", config_.name, config_.handler.string(),
            generation->number());
  startup_job_ = std::make_unique<BackgroundJob>(
      mailbox_, [generation, capture, result] { *result = generation->start(capture); },
      [this, generation, capture, result] {
        on_started(generation, std::move(*result), capture->text());
      },
      [result] { Generation::discard(*result); });
  auto limit = static_cast<uint64_t>(config_.startup_time_limit.count());
  if (limit > 0) uv_timer_start(startup_timer_.get(), &InprocSite::on_startup_timeout, limit, 0);
}

void InprocSite::on_started(const std::shared_ptr<Generation>& generation, StartupResult result,
                            const std::string& captured) {
  uv_timer_stop(startup_timer_.get());
  startup_job_.reset();  // joins a thread that is done
  startup_capture_.reset();
  const bool ok = result.ok;
  const uint32_t abi = result.entry.library_abi;
  generation->adopt(std::move(result), captured);
  if (ok) {
    log_.info("site {}: app started in {} ms (generation {}, handler ABI {}.{})", config_.name,
              uv_now(loop_) - startup_began_ms_, generation->number(),
              SITEHOST_HANDLER_ABI_VERSION_MAJOR(abi), SITEHOST_HANDLER_ABI_VERSION_MINOR(abi));
    serve_waiting();
  } else {
    log_.error("site {}: app failed to start (500.{}): {}", config_.name, generation->substatus(),
               first_line(generation->detail()));
    failed_check_ms_ = uv_now(loop_);
    reject_waiting();
  }
  maybe_finish_stop();
}

void InprocSite::on_startup_timeout(uv_timer_t* timer) {
  auto* self = static_cast<InprocSite*>(timer->data);
  if (!self || !self->startup_job_ || !self->startup_job_->abandon()) return;  // result on its way
  self->startup_job_.reset();  // detached: it cleans up after itself if init ever returns
  StderrCapture::process().close(self->startup_capture_);
  std::string captured = self->startup_capture_->text();
  self->startup_capture_.reset();
  Generation& generation = *self->current_;
  std::string detail = generation.describe_failure(
      fmt::format("{}: the application did not start within startup_time_limit ({} ms): "
                  "sitehost_handler_init (or the library's constructors) did not return",
                  self->config_.handler.string(), self->config_.startup_time_limit.count()),
      captured);
  generation.fail(37, std::move(detail));
  self->log_.error("site {}: app did not start within startup_time_limit ({} ms) (500.37)",
                   self->config_.name, self->config_.startup_time_limit.count());
  self->failed_check_ms_ = uv_now(self->loop_);
  self->reject_waiting();
  self->maybe_finish_stop();
}

void InprocSite::serve_waiting() {
  while (RequestAdapter* adapter = waiting_head_) {
    waiting_head_ = adapter->next;
    if (waiting_head_)
      waiting_head_->prev = nullptr;
    else
      waiting_tail_ = nullptr;
    adapter->waiting = false;
    adapter->next = adapter->prev = nullptr;
    dispatch(*adapter);
  }
}

void InprocSite::reject_waiting() {
  while (RequestAdapter* adapter = waiting_head_) {
    waiting_head_ = adapter->next;
    if (waiting_head_)
      waiting_head_->prev = nullptr;
    else
      waiting_tail_ = nullptr;
    adapter->waiting = false;
    adapter->next = adapter->prev = nullptr;
    adapter->reject(failure_of(*current_));
  }
}

bool InprocSite::library_changed() {
  uint64_t now = uv_now(loop_);
  if (now - failed_check_ms_ < kFailedCheckIntervalMs) return false;
  failed_check_ms_ = now;
  return identify_file(config_.handler) != current_->identity();
}

HttpError InprocSite::failure_of(const Generation& generation) const {
  return HttpError{500, generation.substatus(), generation.detail()};
}

// --- stopping -----------------------------------------------------------------------------------

void InprocSite::stop(std::function<void()> done) {
  stopping_ = true;
  stop_done_ = std::move(done);
  maybe_finish_stop();
}

void InprocSite::maybe_finish_stop() {
  // Never inside the caller's stack (an adapter or a job may be mid-call): from a timer.
  if (!stopping_ || stop_scheduled_ || !stop_timer_) return;
  stop_scheduled_ = true;
  uv_timer_start(stop_timer_.get(), &InprocSite::on_stop_tick, 0, 0);
}

void InprocSite::on_stop_tick(uv_timer_t* timer) {
  auto* self = static_cast<InprocSite*>(timer->data);
  if (!self) return;
  self->stop_scheduled_ = false;
  self->advance_stop();
}

void InprocSite::advance_stop() {
  if (startup_job_) {
    // Requests waiting for the start are in flight: let it end (bounded by startup_time_limit).
    // With none, nothing needs the app: give up on the start; its thread shuts the app down
    // itself if init ever returns.
    if (waiting_head_ || !startup_job_->abandon()) return;
    startup_job_.reset();
    uv_timer_stop(startup_timer_.get());
    StderrCapture::process().close(startup_capture_);
    startup_capture_.reset();
    log_.info("site {}: stopped while the app was starting; it is shut down if its init returns",
              config_.name);
    current_.reset();
  }
  if (waiting_head_) return;
  if (current_) {
    if (current_->ready()) {
      if (current_->in_flight() > 0) return;  // adapter_done brings us back
      retire(std::move(current_));
    }
    current_.reset();  // failed: nothing loaded here (an abandoned start owns its own copy)
  }
  if (!retiring_.empty()) return;  // on_retired brings us back
  if (pool_) {
    if (!pool_stop_job_) {
      WorkerPool* pool = pool_.get();
      pool_stop_job_ = std::make_unique<BackgroundJob>(
          mailbox_, [pool] { pool->stop(); },
          [this] {
            pool_stop_job_.reset();
            pool_.reset();
            maybe_finish_stop();
          });
    }
    return;
  }
  // Everything is down: close our handles (their memory goes in their close callbacks) and
  // report. `done` may destroy *this: nothing after it.
  log_.info("site {}: stopped", config_.name);
  mailbox_->close();
  startup_timer_.close();
  stop_timer_.close();
  auto done = std::move(stop_done_);
  stop_done_ = nullptr;
  if (done) done();
}

void InprocSite::retire(std::shared_ptr<Generation> generation) {
  Generation* raw = generation.get();
  log_.info("site {}: shutting down generation {}", config_.name, raw->number());
  auto job = std::make_unique<BackgroundJob>(
      mailbox_, [generation] { generation->shutdown(); }, [this, raw] { on_retired(raw); });
  retiring_.push_back(Retiring{std::move(generation), std::move(job)});
}

void InprocSite::on_retired(Generation* generation) {
  for (auto it = retiring_.begin(); it != retiring_.end(); ++it) {
    if (it->generation.get() != generation) continue;
    it->job.reset();  // joins a thread that is done
    it->generation->mark_retired();
    log_.info("site {}: generation {} shut down and unloaded", config_.name,
              it->generation->number());
    retiring_.erase(it);
    break;
  }
  maybe_finish_stop();
}

}  // namespace sitehost::inproc
