#include "inproc/inproc_lane.h"

#include <fmt/format.h>

#include "inproc/generation.h"
#include "inproc/handler_watch.h"
#include "inproc/inproc_site.h"
#include "shared/site/exchange.h"

namespace sitehost::inproc {

namespace {
constexpr size_t kKeepCopyCapacity = 1 << 20;  // larger write copies are freed, not pooled
}  // namespace

InprocLane::InprocLane(InprocSite& site, unsigned index, uv_loop_t* loop)
    : site_(site), index_(index), loop_(loop) {}

// Control thread, after close() ran on the lane's own thread (or it never opened): the mailbox's
// handle is closed already, the rest is plain memory.
InprocLane::~InprocLane() = default;

const SiteConfig& InprocLane::config() const {
  return site_.config();
}

Logger& InprocLane::log() {
  return site_.log();
}

void InprocLane::open() {
  thread_ = pthread_self();
  mailbox_ = std::make_shared<Mailbox>(loop_, &InprocLane::consume, this);
  last_poll_ms_ = uv_now(loop_);
  opened_ = true;
}

void InprocLane::close() {
  closed_ = true;
  if (mailbox_) mailbox_->close();
}

void InprocLane::consume(void*, LoopOp& op) {
  static_cast<RequestAdapter*>(op.target)->consume(op);
}

void InprocLane::handle(Exchange& exchange) {
  if (!opened_) open();
  if (site_.stopping() || closed_) {
    exchange.respond_error({503, 0, "the site is stopping"});
    return;
  }
  maybe_poll_watch();
  Generation* generation = site_.serving();
  const auto state = generation ? generation->state() : Generation::State::kStarting;
  if (state == Generation::State::kFailed) {
    // Cheap until the library changes (the watch restarts it once the new file has settled).
    exchange.respond_error(site_.failure_of(*generation));
    return;
  }
  RequestAdapter& adapter = acquire(exchange);
  if (state != Generation::State::kReady) {
    // Starting (or nothing yet): wait here; the site wakes every lane once the start is over.
    push_waiting(adapter);
    if (!generation) site_.request_start();
    return;
  }
  dispatch(adapter, *generation);
}

void InprocLane::maybe_poll_watch() {
  const uint64_t now = uv_now(loop_);
  if (now - last_poll_ms_ < HandlerWatch::kPollMs) return;
  last_poll_ms_ = now;
  site_.request_poll();
}

RequestAdapter& InprocLane::acquire(Exchange& exchange) {
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

void InprocLane::dispatch(RequestAdapter& adapter, Generation& generation) {
  const RequestInfo& request = adapter.info();
  const uint64_t limit = config().max_request_body_size;
  if (limit != 0 && request.content_length && *request.content_length > limit) {
    std::string detail = fmt::format("Content-Length {} exceeds max_request_body_size ({} bytes)",
                                     *request.content_length, limit);
    adapter.reject({413, 0, detail});
    return;
  }
  adapter.begin(generation);  // counted on this loop from here on
  if (config().allow_synchronous_io) {
    site_.pool().submit(&InprocLane::run_on_worker, &adapter);
    return;
  }
  {
    AppCall call(&generation);
    generation.call_request(adapter.abi());
  }
  adapter.handler_returned();
}

void InprocLane::run_on_worker(void* adapter) {
  static_cast<RequestAdapter*>(adapter)->run_handler_on_worker();
}

void InprocLane::adapter_done(RequestAdapter& adapter) {
  Generation* generation = adapter.generation();
  adapter.waiting = false;
  adapter.prev = nullptr;
  adapter.next = free_adapters_;
  free_adapters_ = &adapter;
  if (generation) generation->release(index_);
  // A replaced generation may now be free to go (only the pointer is compared from here on: the
  // control thread may unload it as soon as the count above is 0); a stop may be able to go on.
  if (site_.stopping() || (generation && generation != site_.serving())) site_.request_poke();
}

void InprocLane::push_waiting(RequestAdapter& adapter) {
  adapter.waiting = true;
  adapter.next = nullptr;
  adapter.prev = waiting_tail_;
  if (waiting_tail_)
    waiting_tail_->next = &adapter;
  else
    waiting_head_ = &adapter;
  waiting_tail_ = &adapter;
  waiting_count_.add();
}

RequestAdapter* InprocLane::pop_waiting() {
  RequestAdapter* adapter = waiting_head_;
  if (!adapter) return nullptr;
  waiting_head_ = adapter->next;
  if (waiting_head_)
    waiting_head_->prev = nullptr;
  else
    waiting_tail_ = nullptr;
  adapter->waiting = false;
  adapter->next = adapter->prev = nullptr;
  return adapter;
}

void InprocLane::cancel_waiting(RequestAdapter& adapter) {
  if (adapter.prev)
    adapter.prev->next = adapter.next;
  else
    waiting_head_ = adapter.next;
  if (adapter.next)
    adapter.next->prev = adapter.prev;
  else
    waiting_tail_ = adapter.prev;
  adapter.waiting = false;
  waiting_count_.sub();
  adapter.abandon_waiting();
}

void InprocLane::serve_waiting() {
  if (!waiting_head_) return;
  Generation* generation = site_.serving();
  const auto state = generation ? generation->state() : Generation::State::kStarting;
  if (state == Generation::State::kStarting) return;  // a restart: still waiting
  if (state != Generation::State::kReady) {
    reject_waiting(site_.failure_of(*generation));
    return;
  }
  // Counted down only after each one is dispatched (counted on its generation), so the control
  // thread never sees a request in neither count.
  while (RequestAdapter* adapter = pop_waiting()) {
    dispatch(*adapter, *generation);
    waiting_count_.sub();
  }
}

void InprocLane::reject_waiting(const HttpError& error) {
  while (RequestAdapter* adapter = pop_waiting()) {
    adapter->reject(error);
    waiting_count_.sub();
  }
}

void InprocLane::abort_requests_on(uint64_t number, const HttpError& error) {
  std::vector<RequestAdapter*> running;
  for (const auto& adapter : adapters_) {
    const Generation* generation = adapter->generation();
    if (generation && adapter->serving(generation) && generation->number() == number)
      running.push_back(adapter.get());
  }
  // The generation stays loaded until the app has finished each of them (its abort callback
  // usually does); adapter_done tells the site.
  for (RequestAdapter* adapter : running) adapter->force_abort(error);
}

WriteRecord* InprocLane::take_write_record() {
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

void InprocLane::recycle_write_record(WriteRecord* record) {
  if (record->copy.capacity() > kKeepCopyCapacity)
    std::string().swap(record->copy);
  else
    record->copy.clear();
  record->adapter = nullptr;
  record->cb = nullptr;
  record->next_free = free_write_records_;
  free_write_records_ = record;
}

}  // namespace sitehost::inproc
