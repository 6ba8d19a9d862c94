#include "inproc/inproc_site.h"
#include "shared/util/json.h"

#include <random>

#include <fmt/format.h>

#include "inproc/request_adapter.h"
#include "inproc/shadow_copy.h"
#include "shared/log/logger.h"
#include "shared/site/metrics.h"

namespace sitehost {

std::unique_ptr<Site> make_inproc_site(const SiteConfig& config, const SiteContext& context) {
  return std::make_unique<inproc::InprocSite>(config, context);
}

}  // namespace sitehost

namespace sitehost::inproc {

namespace {

constexpr size_t kMaxWorkers = 64;           // allow_synchronous_io threads per site
constexpr size_t kCaptureLimit = 32 * 1024;  // stderr kept from a start

// First line of a message, for one-line log entries.
std::string_view first_line(std::string_view s) {
  return s.substr(0, s.find('\n'));
}

}  // namespace

const char* to_string(SiteStatus::State state) {
  switch (state) {
    case SiteStatus::State::kNotStarted:
      return "not started";
    case SiteStatus::State::kStarting:
      return "starting";
    case SiteStatus::State::kRunning:
      return "running";
    case SiteStatus::State::kFailed:
      return "failed";
    case SiteStatus::State::kStopping:
      return "stopping";
  }
  return "unknown";
}

InprocSite::InprocSite(const SiteConfig& config, const SiteContext& context)
    : config_(config),
      loop_(context.loop),
      log_(*context.log),
      loops_(context.loops),
      // Only post_call is used on this mailbox: it has no ops of its own to consume.
      mailbox_(std::make_shared<Mailbox>(
          context.loop, [](void*, LoopOp&) {}, nullptr)) {
  startup_timer_.init([this](uv_timer_t* t) { return uv_timer_init(loop_, t); }, this);
  tick_timer_.init([this](uv_timer_t* t) { return uv_timer_init(loop_, t); }, this);
  if (config_.shadow_copy_directory.empty()) {
    shadow_dir_ = default_shadow_directory(config_.name);
    trusted_root_ = run_directory();
  } else {
    shadow_dir_ = config_.shadow_copy_directory;
  }
  shadow_token_ = fmt::format("{:08x}", std::random_device()());
  if (context.site_metrics)
    metrics_ = context.site_metrics;
  else if (context.metrics)
    metrics_ = &context.metrics->site(config_);
  // One lane per loop, made here so that the vector never changes while loops read it; each
  // lane opens its handles on its own loop's thread at its first request.
  const size_t count = loops_ ? loops_->count() : 1;
  for (size_t i = 0; i < count; ++i)
    lanes_.push_back(std::make_unique<InprocLane>(
        *this, static_cast<unsigned>(i), loops_ ? loops_->loop(static_cast<unsigned>(i)) : loop_));
  if (config_.allow_synchronous_io) pool_ = std::make_unique<WorkerPool>(kMaxWorkers);
}

InprocSite::~InprocSite() {
  // Normally stop() ran to completion first. If not, nothing may call back into *this.
  if (startup_ && startup_->job && !startup_->job->abandon()) startup_->job.reset();
  mailbox_->close();
  if (startup_ && startup_->capture) StderrCapture::process().close(startup_->capture);
}

void InprocSite::start() {
  if (config_.preload && !current_ && !stopping_) start_generation(false);
}

// --- requests (any loop thread) -----------------------------------------------------------------

void InprocSite::handle(Exchange& exchange) {
  const size_t index = exchange.loop_index();
  lanes_[index < lanes_.size() ? index : 0]->handle(exchange);
}

void InprocSite::request_start() {
  if (start_requested_.exchange(true, std::memory_order_acq_rel)) return;  // one on its way
  mailbox_->post_call([this] {
    start_requested_.store(false, std::memory_order_release);
    if (!stopping_ && !current_ && !startup_) start_generation(false);
  });
}

void InprocSite::request_poke() {
  if (poke_requested_.exchange(true, std::memory_order_acq_rel)) return;
  if (!mailbox_->post_call([this] {
        // An exchange, not a store: it reads the flag the lanes set with release, so what they
        // did before (their in-flight counts) is visible to the tick this schedules.
        poke_requested_.exchange(false, std::memory_order_acq_rel);
        poke();
      }))
    poke_requested_.store(false, std::memory_order_release);
}

void InprocSite::request_poll() {
  mailbox_->post_call([this] {
    if (watch_) watch_->poll();
  });
}

HttpError InprocSite::failure_of(const Generation& generation) const {
  return HttpError{500, generation.substatus(), generation.detail()};
}

// --- rounds through the loops (control thread) --------------------------------------------------

void InprocSite::for_each_lane(std::function<void(InprocLane&)> fn, std::function<void()> then) {
  const uint64_t id = next_round_++;
  rounds_.push_back(Round{id, lanes_.size(), std::move(then)});
  std::shared_ptr<Mailbox> back = mailbox_;
  for (size_t i = 0; i < lanes_.size(); ++i) {
    InprocLane* lane = lanes_[i].get();
    // `this` stays valid: the stop waits for every round, and the mailbox drops the reply once
    // it is closed.
    auto task = [this, lane, fn, back, id] {
      if (fn) fn(*lane);
      back->post_call([this, id] { lane_done(id); });
    };
    bool posted = loops_ ? loops_->post(static_cast<unsigned>(i), std::move(task))
                         : mailbox_->post_call(std::move(task));
    // A loop that has stopped has no requests of ours left to wait for.
    if (!posted) mailbox_->post_call([this, id] { lane_done(id); });
  }
}

void InprocSite::lane_done(uint64_t round) {
  for (auto it = rounds_.begin(); it != rounds_.end(); ++it) {
    if (it->id != round) continue;
    if (--it->remaining > 0) return;
    std::function<void()> then = std::move(it->then);
    rounds_.erase(it);
    poke();  // a stop may be waiting for the rounds to end
    if (then) then();
    return;
  }
}

void InprocSite::publish(const std::shared_ptr<Generation>& generation) {
  current_ = generation;
  serving_.store(generation.get(), std::memory_order_release);
}

void InprocSite::keep_until_fenced(std::shared_ptr<Generation> generation) {
  if (!generation) return;
  Generation* raw = generation.get();
  unfenced_.push_back(std::move(generation));
  for_each_lane({}, [this, raw] {
    std::erase_if(unfenced_, [raw](const auto& g) { return g.get() == raw; });
  });
}

size_t InprocSite::waiting_requests() const {
  int64_t sum = 0;
  for (const auto& lane : lanes_) sum += lane->waiting();
  return sum > 0 ? static_cast<size_t>(sum) : 0;
}

// The start is over (ready or failed): every loop serves or answers what waits there.
void InprocSite::wake_lanes() {
  for_each_lane([](InprocLane& lane) { lane.serve_waiting(); }, {});
}

// --- starting the app -------------------------------------------------------------------------

void InprocSite::start_generation(bool replacement) {
  const uint64_t number = ++generations_started_;
  auto generation = std::make_shared<Generation>(
      config_, log_, number, server_table(),
      shadow_dir_ / shadow_file_name(shadow_token_, number, config_.handler), lanes_.size());
  if (!replacement) publish(generation);  // every loop's requests wait for it from now on
  if (!watch_) {
    watch_ = std::make_unique<HandlerWatch>(
        loop_, config_.handler,
        [this](const FileIdentity& identity) { on_file_settled(identity); });
    if (int rc = watch_->start(); rc != 0)
      log_.warn(
          "site {}: cannot watch the folder of {} for changes ({}); changes are noticed on "
          "requests only",
          config_.name, config_.handler.string(), uv_strerror(rc));
  }
  startup_ = std::make_unique<Startup>();
  startup_->generation = generation;
  startup_->replacement = replacement;
  startup_->began_ms = uv_now(loop_);
  auto capture = std::make_shared<StderrCapture::Session>(kCaptureLimit);
  startup_->capture = capture;
  auto result = std::make_shared<StartupResult>();
  StartOptions options;
  options.replacement = replacement;
  options.trusted_root = trusted_root_;
  options.sweep_stale = number == 1;
  if (replacement)
    log_.info("site {}: loading {} as generation {} (generation {} keeps serving meanwhile)",
              config_.name, config_.handler.string(), number, current_->number());
  else
    log_.info("site {}: starting {} (generation {})", config_.name, config_.handler.string(),
              number);
  startup_->job = std::make_unique<BackgroundJob>(
      mailbox_,
      [generation, capture, result, options] { *result = generation->start(capture, options); },
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
  const bool replacement = startup_->replacement;
  const uint64_t began_ms = startup_->began_ms;
  startup_.reset();  // joins a thread that is done
  if (replacement) {
    finish_replacement(generation, std::move(result), captured, began_ms);
  } else {
    const bool ok = result.ok;
    const uint32_t abi = result.entry.library_abi;
    generation->adopt(std::move(result), captured);
    if (ok) {
      log_.info("site {}: app started in {} ms (generation {}, handler ABI {}.{}{})", config_.name,
                uv_now(loop_) - began_ms, generation->number(),
                SITEHOST_HANDLER_ABI_VERSION_MAJOR(abi), SITEHOST_HANDLER_ABI_VERSION_MINOR(abi),
                generation->serial() ? ", serial: calls into it are serialized" : "");
    } else {
      log_.error("site {}: app failed to start (500.{}): {}", config_.name, generation->substatus(),
                 first_line(generation->detail()));
      record_error(*generation);
    }
    wake_lanes();  // the requests waiting on every loop are served or get the 500.3x page
    report_first_start(*generation);
  }
  after_start();
  poke();
}

void InprocSite::report_first_start(const Generation& generation) {
  if (!first_start_observer_) return;
  auto observer = std::move(first_start_observer_);
  first_start_observer_ = nullptr;
  bool ok = generation.state() != Generation::State::kFailed;
  observer(ok, ok ? std::string() : generation.detail());
}

void InprocSite::finish_replacement(const std::shared_ptr<Generation>& generation,
                                    StartupResult result, const std::string& captured,
                                    uint64_t began_ms) {
  if (result.incomplete) {
    // Not a load error: the deploy is (probably) still writing. The next change is looked at.
    rejected_ = result.identity;
    log_.warn(
        "site {}: {} is incomplete (still being written?); generation {} keeps serving "
        "until it changes",
        config_.name, config_.handler.string(), current_ ? current_->number() : 0);
    return;
  }
  const bool ok = result.ok;
  const uint32_t abi = result.entry.library_abi;
  generation->adopt(std::move(result), captured);
  if (!ok) {
    ++swap_failures_;
    if (metrics_) metrics_->hot_swaps_failed.fetch_add(1, std::memory_order_relaxed);
    rejected_ = generation->identity();
    record_error(*generation);
    log_.error("site {}: hot swap failed (500.{}): {}; generation {} keeps serving", config_.name,
               generation->substatus(), first_line(generation->detail()),
               current_ ? current_->number() : 0);
    return;
  }
  log_.info("site {}: generation {} started in {} ms (handler ABI {}.{}{})", config_.name,
            generation->number(), uv_now(loop_) - began_ms, SITEHOST_HANDLER_ABI_VERSION_MAJOR(abi),
            SITEHOST_HANDLER_ABI_VERSION_MINOR(abi),
            generation->serial() ? ", serial: calls into it are serialized" : "");
  swap_to(generation);
}

void InprocSite::on_startup_timeout(uv_timer_t* timer) {
  if (auto* self = static_cast<InprocSite*>(timer->data)) self->startup_timed_out();
}

void InprocSite::startup_timed_out() {
  if (!startup_ || !startup_->job->abandon()) return;  // result on its way
  // Detached: the job cleans up after itself (shutdown, dlclose, shadow copy) if init returns.
  std::unique_ptr<Startup> startup = std::move(startup_);
  StderrCapture::process().close(startup->capture);
  std::string captured = startup->capture->text();
  Generation& generation = *startup->generation;
  generation.remove_planned_shadow_files();  // nothing is left behind if init never returns
  std::string detail = generation.describe_failure(
      fmt::format("{}: the application did not start within startup_time_limit ({} ms): "
                  "sitehost_handler_init (or the library's constructors) did not return",
                  config_.handler.string(), config_.startup_time_limit.count()),
      captured);
  generation.fail(37, std::move(detail));
  record_error(generation);
  if (startup->replacement) {
    ++swap_failures_;
    if (metrics_) metrics_->hot_swaps_failed.fetch_add(1, std::memory_order_relaxed);
    rejected_ = generation.identity();
    log_.error(
        "site {}: hot swap failed (500.37): generation {} did not start within "
        "startup_time_limit ({} ms); generation {} keeps serving",
        config_.name, generation.number(), config_.startup_time_limit.count(),
        current_ ? current_->number() : 0);
  } else {
    log_.error("site {}: app did not start within startup_time_limit ({} ms) (500.37)",
               config_.name, config_.startup_time_limit.count());
    wake_lanes();  // the failure is published (current_): waiting requests get the 500.37 page
    report_first_start(generation);
  }
  after_start();
  poke();
}

// A change or a reload that arrived while a start ran is dealt with once it is over.
void InprocSite::after_start() {
  if (stopping_ || startup_) return;
  if (reload_pending_) {
    reload_pending_ = recheck_ = false;
    if (current_) replace();
    return;
  }
  if (recheck_) {
    recheck_ = false;
    if (watch_) watch_->changed();  // reported again once settled
  }
}

void InprocSite::record_error(const Generation& generation) {
  last_error_ = fmt::format("500.{}: {}", generation.substatus(), first_line(generation.detail()));
  last_error_time_ = std::chrono::system_clock::now();
}

// --- hot swap -----------------------------------------------------------------------------------

void InprocSite::reload() {
  if (stopping_) return;
  if (!current_) {
    log_.info("site {}: reload: the app has not started; the next request starts {}", config_.name,
              config_.handler.string());
    return;
  }
  log_.info("site {}: reload requested", config_.name);
  if (startup_) {
    reload_pending_ = true;
    return;
  }
  replace();
}

void InprocSite::on_file_settled(const FileIdentity& identity) {
  if (stopping_ || !current_) return;  // before the first start the next request loads the file
  if (startup_) {
    recheck_ = true;
    return;
  }
  const bool failed = current_->state() == Generation::State::kFailed;
  if (!identity.exists) {
    if (!failed && !missing_logged_)
      log_.warn("site {}: {} is gone; generation {} keeps serving", config_.name,
                config_.handler.string(), current_->number());
    missing_logged_ = true;
    return;
  }
  missing_logged_ = false;
  if (identity == current_->identity() || identity == rejected_) return;
  if (failed)
    log_.info("site {}: {} changed since the failed start; starting again", config_.name,
              config_.handler.string());
  else
    log_.info("site {}: {} changed; loading the new version", config_.name,
              config_.handler.string());
  replace();
}

void InprocSite::replace() {
  if (current_->state() == Generation::State::kFailed) {
    // Nothing serves: start afresh, requests wait for it as for the first start. The failed one
    // stays until no loop can be reading its page any more.
    keep_until_fenced(std::move(current_));
    start_generation(false);
    return;
  }
  start_generation(true);
}

void InprocSite::swap_to(const std::shared_ptr<Generation>& generation) {
  std::shared_ptr<Generation> old = current_;
  publish(generation);  // the one switch: every loop's next request goes to it
  ++swaps_;
  if (metrics_) metrics_->hot_swaps_ok.fetch_add(1, std::memory_order_relaxed);
  rejected_ = {};
  if (!old) return;  // (stopped meanwhile: the stop retires the new one)
  log_.info(
      "site {}: hot swap: generation {} serves new requests; generation {} finishes its {} "
      "request(s) in flight",
      config_.name, generation->number(), old->number(), old->in_flight());
  drain(std::move(old));
}

// --- replaced generations
// -------------------------------------------------------------------------

void InprocSite::drain(std::shared_ptr<Generation> generation) {
  if (!generation->ready()) {  // failed: nothing was loaded
    keep_until_fenced(std::move(generation));
    return;
  }
  auto draining = std::make_unique<Draining>();
  draining->site = this;
  draining->generation = std::move(generation);
  // Its counts mean something once every loop has seen the switch (see the top of the header).
  Draining* raw = draining.get();
  for_each_lane({}, [this, raw] {
    for (auto& d : draining_)
      if (d.get() == raw) d->fenced = true;
  });
  draining->timer.init([this](uv_timer_t* t) { return uv_timer_init(loop_, t); }, draining.get());
  if (draining->timer)
    uv_timer_start(draining->timer.get(), &InprocSite::on_drain_timeout,
                   static_cast<uint64_t>(config_.shutdown_time_limit.count()), 0);
  draining_.push_back(std::move(draining));
  poke();  // retired at once when nothing runs on it
}

void InprocSite::on_drain_timeout(uv_timer_t* timer) {
  auto* draining = static_cast<Draining*>(timer->data);
  if (draining) draining->site->abort_requests_on(*draining);
}

void InprocSite::abort_requests_on(Draining& draining) {
  const Generation& generation = *draining.generation;
  const size_t running = generation.in_flight();
  if (running == 0) return;
  const auto limit = config_.shutdown_time_limit.count();
  log_.warn(
      "site {}: {} request(s) still running on generation {} after shutdown_time_limit "
      "({} ms): aborting them before it is unloaded (it stays loaded until the app has "
      "finished each)",
      config_.name, running, generation.number(), limit);
  aborted_requests_ += running;
  // HttpError only views its detail: each loop's task owns a copy of the text.
  std::string detail = fmt::format(
      "the request was still running {} ms (shutdown_time_limit) after a new version "
      "of the application replaced the one serving it",
      limit);
  // Each on its own loop; adapter_done there brings us back as they finish.
  const uint64_t number = generation.number();
  for_each_lane(
      [number, detail](InprocLane& lane) {
        lane.abort_requests_on(number, HttpError{503, 0, detail});
      },
      {});
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
  poke();
}

// --- housekeeping and stopping ------------------------------------------------------------------

void InprocSite::poke() {
  if (tick_scheduled_ || !tick_timer_) return;
  tick_scheduled_ = true;
  uv_timer_start(tick_timer_.get(), &InprocSite::on_tick, 0, 0);
}

void InprocSite::on_tick(uv_timer_t* timer) {
  auto* self = static_cast<InprocSite*>(timer->data);
  if (!self) return;
  self->tick_scheduled_ = false;
  for (auto it = self->draining_.begin(); it != self->draining_.end();) {
    if ((*it)->fenced && (*it)->generation->in_flight() == 0) {
      self->retire(std::move((*it)->generation));
      it = self->draining_.erase(it);  // closes its timer
    } else {
      ++it;
    }
  }
  if (self->stopping_) self->advance_stop();  // may destroy *self: nothing after it
}

void InprocSite::stop(std::function<void()> done) {
  stopping_ = true;
  stopping_flag_.store(true, std::memory_order_release);
  stop_done_ = std::move(done);
  // A handle() that passed its stopping() check before the store above is over once this round
  // is: from then on the lanes' counts only go down.
  for_each_lane({}, {});
  poke();
}

// From the tick timer only: finish_stop may destroy *this, which must not happen inside the
// mailbox's own callback (a round's reply).
void InprocSite::advance_stop() {
  if (!rounds_.empty()) return;  // lane_done brings us back
  if (lanes_closing_) {
    finish_stop();  // the round that closed every lane is over
    return;
  }
  if (!stop_generations()) return;
  // Every lane closes its handles on its own loop; the end of that round finishes the stop.
  lanes_closing_ = true;
  for_each_lane([](InprocLane& lane) { lane.close(); }, {});
}

// True once nothing of the app is left: no start, no waiting request, no generation, no pool.
bool InprocSite::stop_generations() {
  if (startup_) {
    // Requests waiting for the start are in flight: let it end (bounded by startup_time_limit).
    // With none (always so for a replacement), nothing needs the app: give up on the start; its
    // thread shuts the app down itself if init ever returns.
    if ((!startup_->replacement && waiting_requests() > 0) || !startup_->job->abandon())
      return false;
    std::unique_ptr<Startup> startup = std::move(startup_);
    uv_timer_stop(startup_timer_.get());
    StderrCapture::process().close(startup->capture);
    startup->generation->remove_planned_shadow_files();
    if (startup->replacement) {
      log_.info(
          "site {}: stopped while generation {} was loading; it is shut down if its init "
          "returns",
          config_.name, startup->generation->number());
    } else {
      log_.info("site {}: stopped while the app was starting; it is shut down if its init returns",
                config_.name);
      keep_until_fenced(current_);
      publish(nullptr);
      return false;  // after that round
    }
  }
  if (waiting_requests() > 0) {
    // No start will wake them (the stop came before the start they asked for, which then never
    // ran), and no request joins them after the stop's first round: they get the stopping page.
    for_each_lane(
        [](InprocLane& lane) {
          lane.reject_waiting({503, 0, "the site is stopping"});
        },
        {});
    return false;  // after that round
  }
  if (current_) {
    if (current_->ready() && current_->in_flight() > 0) return false;  // adapter_done: back here
    std::shared_ptr<Generation> last = current_;
    publish(nullptr);
    if (last->ready())
      retire(std::move(last));
    else
      keep_until_fenced(std::move(last));  // failed: nothing loaded here
    return false;                          // after the round(s)
  }
  // Replaced generations finish (or are aborted after shutdown_time_limit); on_tick retires them.
  if (!draining_.empty() || !retiring_.empty() || !unfenced_.empty()) return false;
  if (pool_) {
    if (!pool_stop_job_) {
      WorkerPool* pool = pool_.get();
      pool_stop_job_ = std::make_unique<BackgroundJob>(
          mailbox_, [pool] { pool->stop(); },
          [this] {
            pool_stop_job_.reset();
            pool_.reset();
            poke();
          });
    }
    return false;
  }
  return true;
}

// Everything is down and every lane closed: close our handles (their memory goes in their close
// callbacks) and report. `done` may destroy *this: nothing after it.
void InprocSite::finish_stop() {
  log_.info("site {}: stopped", config_.name);
  watch_.reset();
  mailbox_->close();
  startup_timer_.close();
  tick_timer_.close();
  auto done = std::move(stop_done_);
  stop_done_ = nullptr;
  if (done) done();
}

// --- status
// ---------------------------------------------------------------------------------------

std::string InprocSite::readiness() const {
  SiteStatus::State state = status().state;
  if (state == SiteStatus::State::kFailed) return "failed";
  if (!config_.preload || state == SiteStatus::State::kRunning) return {};
  return state == SiteStatus::State::kStopping ? std::string() : to_string(state);
}

SiteStatus InprocSite::status() const {
  SiteStatus s;
  if (stopping_) {
    s.state = SiteStatus::State::kStopping;
  } else if (!current_) {
    s.state = SiteStatus::State::kNotStarted;
  } else {
    switch (current_->state()) {
      case Generation::State::kStarting:
        s.state = SiteStatus::State::kStarting;
        break;
      case Generation::State::kReady:
        s.state = SiteStatus::State::kRunning;
        break;
      case Generation::State::kFailed:
        s.state = SiteStatus::State::kFailed;
        break;
      case Generation::State::kRetired:
        s.state = SiteStatus::State::kStopping;
        break;
    }
  }
  if (current_) {
    s.generation = current_->number();
    s.in_flight = current_->in_flight();
  }
  s.waiting = waiting_requests();
  if (startup_ && startup_->replacement) s.swapping_to = startup_->generation->number();
  s.old_generations = draining_.size() + retiring_.size();
  for (const auto& d : draining_) s.old_in_flight += d->generation->in_flight();
  s.swaps = swaps_;
  s.swap_failures = swap_failures_;
  s.aborted_requests = aborted_requests_;
  s.last_error = last_error_;
  s.last_error_time = last_error_time_;
  return s;
}

std::string InprocSite::status_json() const {
  SiteStatus s = status();
  return json_site_status(
      to_string(s.state),
      fmt::format("\"generation\":{},\"in_flight\":{},\"waiting\":{},\"swapping_to\":{},"
                  "\"old_generations\":{},\"old_in_flight\":{},\"swaps\":{},"
                  "\"swap_failures\":{},\"aborted_requests\":{}",
                  s.generation, s.in_flight, s.waiting, s.swapping_to, s.old_generations,
                  s.old_in_flight, s.swaps, s.swap_failures, s.aborted_requests),
      s.last_error, s.last_error_time);
}

}  // namespace sitehost::inproc
