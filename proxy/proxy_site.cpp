#include "proxy/proxy_site.h"
#include "shared/util/json.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iterator>
#include <set>
#include <string_view>

#include <fmt/format.h>

#include "proxy/child_environment.h"
#include "proxy/child_process.h"
#include "proxy/child_slot.h"
#include "proxy/forwarder.h"
#include "shared/log/logger.h"

extern char** environ;

namespace sitehost {
namespace proxy {
namespace {

std::string json_pids(const std::vector<pid_t>& pids) {
  std::string out = "[";
  for (size_t i = 0; i < pids.size(); ++i)
    fmt::format_to(std::back_inserter(out), "{}{}", i ? "," : "", pids[i]);
  return out + "]";
}

// `file` is `folder` or inside it (lexically, after normalisation).
bool inside(const std::filesystem::path& file, const std::filesystem::path& folder) {
  std::filesystem::path rel = file.lexically_normal().lexically_relative(folder.lexically_normal());
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

const char* to_string(ProxyStatus::State state) {
  switch (state) {
    case ProxyStatus::State::kNotStarted:
      return "not started";
    case ProxyStatus::State::kStarting:
      return "starting";
    case ProxyStatus::State::kRunning:
      return "running";
    case ProxyStatus::State::kRecycling:
      return "recycling";
    case ProxyStatus::State::kStopping:
      return "stopping";
  }
  return "?";
}

uint16_t ancm_https_port(const SiteConfig& config) {
  uint16_t port = 0;
  for (const Binding& b : config.bindings) {
    if (b.scheme != "https") continue;
    if (port != 0 && b.port != port) return 0;  // several https ports: none (as ANCM)
    port = b.port;
  }
  return port;
}

ProxySite::ProxySite(const SiteConfig& config, const SiteContext& context)
    : config_(config),
      context_(context),
      control_(std::make_unique<TaskQueue>(context.loop)),
      launcher_(find_launcher()) {
  environment_ = child_base_environment(config_, environ, ancm_https_port(config_));

  unsigned processes = std::max<uint32_t>(1, config_.processes);
  std::vector<uint64_t> serving;
  for (unsigned i = 0; i < processes; ++i) {
    slots_.push_back(make_slot(i, ChildSlot::Role::kServing));
    serving.push_back(slots_.back()->id());
  }
  // The lanes are complete before the site is published to the loops: nothing is posted for
  // them here (a request may reach a lane before a posted message would).
  size_t lanes = context_.loops ? context_.loops->count() : 1;
  for (size_t i = 0; i < lanes; ++i) {
    unsigned index = static_cast<unsigned>(i);
    uv_loop_t* loop = context_.loops ? context_.loops->loop(index) : context_.loop;
    lanes_.push_back(std::make_shared<ProxyLane>(*this, index, loop, serving));
  }

  drain_timer_.init(loop(), [this] {
    log()->warn("site '{}': {} request(s) still running after shutdown_time_limit: cut",
                config_.name, status().in_flight);
    post_all([](ProxyLane& lane) { lane.cut_all("the site stopped before the request ended"); });
  });
  recycle_timer_.init(loop(), [this] { advance_recycle(); });
  reap_timer_.init(loop(), [this] { reap(); });
  watch_ = std::make_unique<DeployWatch>(loop(), deployed_files(),
                                         [this] { recycle_children("a deployed file changed"); });
  if (std::string error = watch_->start(); !error.empty())
    log()->warn("site '{}': {}; deploys are noticed on requests only (at most every {} ms)",
                config_.name, error, DeployWatch::kPollMs);
  if (launcher_.empty()) {
    log()->warn(
        "site '{}': sitehost-launch not found next to sitehost: application processes "
        "will not be killed if sitehost itself dies",
        config_.name);
  }
}

ProxySite::~ProxySite() {
  // Normally stop() ran to the end (every lane closed). Otherwise kill what is left
  // (~ChildProcess) and drop the rest. The mailbox goes first: no lane message runs any more.
  control_.reset();
  slots_.clear();
  candidates_.clear();
  retired_.clear();
  lanes_.clear();
}

std::unique_ptr<ChildSlot> ProxySite::make_slot(unsigned index, ChildSlot::Role role) {
  uint64_t id = next_slot_id_++;
  uint64_t generation = role == ChildSlot::Role::kCandidate ? generation_ + 1 : generation_;
  return std::make_unique<ChildSlot>(*this, index, id, generation, role);
}

ChildSlot* ProxySite::find_slot(uint64_t id) const {
  for (auto* list : {&slots_, &candidates_, &retired_})
    for (const auto& slot : *list)
      if (slot->id() == id) return slot.get();
  return nullptr;
}

SiteMetrics* ProxySite::metrics() const {
  if (context_.site_metrics) return context_.site_metrics;
  return context_.metrics ? &context_.metrics->site(config_) : nullptr;
}

bool ProxySite::post_lane(unsigned lane, std::function<void()> task) {
  if (context_.loops) return context_.loops->post(lane, std::move(task));
  return control_ && control_->post(std::move(task));
}

// A lane that runs on the control loop (the only one without `loops`; today's loop 0) is told at
// once, as the slots told their requests before there were lanes: then a request handled right
// after a reload or stop sees it. Lanes never call the site back synchronously (they post), so
// this cannot re-enter a slot. Other lanes get the message in order through their loop.
bool ProxySite::tell_lane(unsigned lane, std::function<void()> task) {
  if (lanes_[lane]->loop() == context_.loop) {
    task();
    return true;
  }
  return post_lane(lane, std::move(task));
}

// Each task holds its lane: a message still queued when the site goes finds it alive (and
// ignores it: the lane closed before the site could go).
void ProxySite::post_all(const std::function<void(ProxyLane&)>& fn) {
  for (const auto& lane : lanes_) tell_lane(lane->index(), [lane, fn] { fn(*lane); });
}

void ProxySite::publish_ready(uint64_t id, uint32_t generation, uint16_t port,
                              const std::string& token, int lane) {
  auto message = [id, generation, port, token](ProxyLane& l) {
    l.child_ready(id, generation, port, token);
  };
  if (lane < 0) {
    post_all(message);
    return;
  }
  auto target = lanes_[static_cast<size_t>(lane)];
  tell_lane(target->index(), [target, message] { message(*target); });
}

void ProxySite::publish_failed(uint64_t id, const HttpError& error, int lane) {
  auto message = [id, status = error.status, substatus = error.substatus,
                  detail = std::string(error.detail)](ProxyLane& l) {
    l.child_failed(id, status, substatus, detail);
  };
  if (lane < 0) {
    post_all(message);
    return;
  }
  auto target = lanes_[static_cast<size_t>(lane)];
  tell_lane(target->index(), [target, message] { message(*target); });
}

void ProxySite::publish_gone(uint64_t id, uint32_t generation, const std::string& crash) {
  post_all([id, generation, crash](ProxyLane& l) { l.child_gone(id, generation, crash); });
}

// The program, and the first argument when it names a file inside physical_path (the script or
// assembly of `python3 app.py`, `dotnet app.dll`).
std::vector<std::filesystem::path> ProxySite::deployed_files() const {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  std::string error;
  std::string program = resolve_program(config_, &error);
  if (!program.empty())
    files.emplace_back(program);
  else if (!config_.process_path.empty())
    files.push_back(config_.process_path.is_relative()
                        ? config_.physical_path / config_.process_path
                        : config_.process_path);
  if (!config_.arguments.empty() && !config_.arguments.front().empty()) {
    fs::path arg = config_.arguments.front();
    if (arg.is_relative()) arg = config_.physical_path / arg;
    std::error_code ec;
    if (inside(arg, config_.physical_path) && fs::is_regular_file(arg, ec) &&
        std::find(files.begin(), files.end(), arg) == files.end())
      files.push_back(arg.lexically_normal());
  }
  return files;
}

void ProxySite::start() {
  if (!config_.preload || stopping_) return;
  for (auto& slot : slots_) slot->start();
}

void ProxySite::handle(Exchange& exchange) {
  lanes_[exchange.loop_index()]->handle(exchange);
}

// --- messages from lanes ------------------------------------------------------------------------

void ProxySite::start_wanted(unsigned lane, uint64_t id) {
  if (ChildSlot* slot = find_slot(id)) slot->want_start(lane);
}

void ProxySite::lane_drained(uint64_t id) {
  if (ChildSlot* slot = find_slot(id)) slot->lane_drained();
}

void ProxySite::poll_watch() {
  if (watch_) watch_->poll();
}

void ProxySite::lane_closed(unsigned) {
  if (lanes_open_ > 0) --lanes_open_;
  if (lanes_open_ == 0) stop_children();
}

void ProxySite::record_failure(std::string_view error) {
  set_last_error(std::string(error));
  failures_[failure_next_] = now();
  failure_next_ = (failure_next_ + 1) % failures_.size();
  failure_count_ = std::min(failure_count_ + 1, failures_.size());
}

bool ProxySite::rapid_fail_blocked(std::string* detail) const {
  constexpr uint64_t kWindowMs = 60000;
  uint64_t t = now();
  size_t recent = 0;
  uint64_t oldest = t;
  for (size_t i = 0; i < failure_count_; ++i) {
    uint64_t when = failures_[i];
    if (t - when < kWindowMs) {
      ++recent;
      oldest = std::min(oldest, when);
    }
  }
  if (recent <= config_.rapid_fails_per_minute) return false;
  if (detail) {
    *detail = fmt::format(
        "rapid-fail protection: the application failed {} times within 60 s "
        "(rapid_fails_per_minute = {}); it is not started again for about {} s, or until the "
        "configuration changes or a new version is deployed",
        recent, config_.rapid_fails_per_minute, (oldest + kWindowMs - t + 999) / 1000);
  }
  return true;
}

void ProxySite::stop(std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  stop_done_ = std::move(done);
  watch_.reset();  // its handles must not keep the loop alive
  recycle_pending_ = false;
  recycle_timer_.stop();
  // Every lane answers its waiting requests 503, lets those in flight finish, closes its
  // connections and handles, then reports lane_closed(); the children stop after that.
  lanes_open_ = lanes_.size();
  for (const auto& lane : lanes_)
    if (!tell_lane(lane->index(), [lane] { lane->stop(); })) --lanes_open_;  // its loop ended
  size_t in_flight = status().in_flight;
  if (in_flight > 0)
    log()->info("site '{}': stopping; waiting for {} request(s) in flight", config_.name,
                in_flight);
  drain_timer_.start(static_cast<uint64_t>(config_.shutdown_time_limit.count()));
  if (lanes_open_ == 0) stop_children();
}

void ProxySite::stop_children() {
  if (children_stopping_) return;
  children_stopping_ = true;
  drain_timer_.stop();
  for (auto* list : {&slots_, &candidates_, &retired_})
    for (auto& slot : *list)
      if (!slot->stop_requested()) slot->stop([this] { slot_stopped(); });
  reap_timer_.start(0);  // whatever had stopped already
}

void ProxySite::slot_stopped() {
  reap_timer_.start(0);  // never from inside the slot's own call
}

void ProxySite::reap() {
  std::erase_if(retired_, [this](const std::unique_ptr<ChildSlot>& s) {
    if (!s->finished()) return false;
    uint64_t id = s->id();
    if (!stopping_) post_all([id](ProxyLane& lane) { lane.forget(id); });
    return true;
  });
  if (stopping_) {
    if (!children_stopping_ || !retired_.empty()) return;
    for (auto* list : {&slots_, &candidates_})
      for (auto& slot : *list)
        if (!slot->finished()) return;
    auto done = std::move(stop_done_);
    stop_done_ = nullptr;
    if (done) done();  // may destroy this site: nothing after it
    return;
  }
  // A fixed-port replacement starts once every replaced child is gone.
  if (retired_.empty())
    for (auto& slot : slots_)
      if (slot->held()) slot->release_hold();
}

// --- overlapped recycle -------------------------------------------------------------------------

void ProxySite::reload() {
  if (stopping_) return;
  watch_->accept_current();  // the files as they are now are what the new children start from
  recycle_children("reload requested");
}

void ProxySite::recycle_children(std::string_view reason) {
  if (stopping_) return;
  if (!candidates_.empty()) {
    if (!recycle_pending_)
      log()->info("site '{}': {}: a new generation is already starting; another one follows it",
                  config_.name, reason);
    recycle_pending_ = true;
    pending_reason_ = reason;
    return;
  }
  bool running =
      std::any_of(slots_.begin(), slots_.end(), [](const auto& s) { return s->active(); });
  if (!running) {
    reset_failures();  // a new version gets a fresh rapid-fail window
    log()->info("site '{}': {}: no application process is running; the next start uses it",
                config_.name, reason);
    return;
  }
  if (slots_.front()->fixed_port()) {
    recycle_fixed_port(reason);
    return;
  }
  size_t processes = slots_.size();
  log()->info("site '{}': {}: starting generation {} ({} process(es)) beside generation {}",
              config_.name, reason, generation_ + 1, processes, generation_);
  recycle_began_ = now();
  for (unsigned i = 0; i < processes; ++i) {
    candidates_.push_back(make_slot(i, ChildSlot::Role::kCandidate));
    uint64_t id = candidates_.back()->id();
    post_all([id](ProxyLane& lane) { lane.add_child(id); });  // before any news of it
  }
  for (auto& slot : candidates_) slot->start_candidate();
}

// Two children cannot listen on one fixed ASPNETCORE_PORT: the new one starts once the old one
// has drained and exited; requests wait for it meanwhile (they are not dropped).
void ProxySite::recycle_fixed_port(std::string_view reason) {
  log()->warn(
      "site '{}': {}: ASPNETCORE_PORT is fixed, so generation {} starts only once generation {} "
      "has finished its {} request(s) and exited; new requests wait for it",
      config_.name, reason, generation_ + 1, generation_, status().in_flight);
  ++generation_;
  ++recycles_;
  reset_failures();
  size_t processes = slots_.size();
  std::vector<std::unique_ptr<ChildSlot>> old = std::move(slots_);
  slots_.clear();
  for (unsigned i = 0; i < processes; ++i) {
    slots_.push_back(make_slot(i, ChildSlot::Role::kServing));
    slots_.back()->hold();
    uint64_t id = slots_.back()->id();
    post_all([id](ProxyLane& lane) { lane.add_child(id); });
  }
  serve_slots();
  for (auto& slot : old) retire_slot(std::move(slot));
  reap_timer_.start(0);  // releases the hold at once if the old child was already gone
}

// Every lane sends new requests to slots_ from now on (the others retire there).
void ProxySite::serve_slots() {
  std::vector<uint64_t> ids;
  for (const auto& slot : slots_) ids.push_back(slot->id());
  post_all([ids](ProxyLane& lane) { lane.serve(ids); });
}

void ProxySite::candidate_changed() {
  recycle_timer_.start(0);
}

void ProxySite::advance_recycle() {
  if (candidates_.empty() || stopping_) return;
  for (auto& slot : candidates_)
    if (slot->candidate_failed()) {
      abort_recycle(*slot);
      return;
    }
  for (auto& slot : candidates_)
    if (!slot->ready()) return;
  switch_generation();
}

void ProxySite::switch_generation() {
  ++generation_;
  ++recycles_;
  reset_failures();  // a new version gets a fresh rapid-fail window
  std::vector<std::unique_ptr<ChildSlot>> old = std::move(slots_);
  slots_ = std::move(candidates_);
  candidates_.clear();
  std::string pids;
  for (auto& slot : slots_) {
    slot->promote();
    fmt::format_to(std::back_inserter(pids), "{}{}", pids.empty() ? "" : ", ", slot->pid());
  }
  log()->info(
      "site '{}': generation {} ready after {} ms (pid {}): new requests go to it; generation {} "
      "drains ({} request(s) in flight, up to shutdown_time_limit = {} ms)",
      config_.name, generation_, now() - recycle_began_, pids, generation_ - 1, status().in_flight,
      config_.shutdown_time_limit.count());
  serve_slots();
  for (auto& slot : old) retire_slot(std::move(slot));
  if (recycle_pending_) {
    recycle_pending_ = false;
    recycle_children(pending_reason_);
  }
}

void ProxySite::abort_recycle(const ChildSlot& failed) {
  ++recycle_failures_;
  std::string error = fmt::format("the new version did not start: {}", failed.failure());
  log()->error("site '{}': {}; generation {} keeps serving.{}", config_.name, error, generation_,
               failed.failure_output());
  set_last_error(std::move(error));
  std::vector<std::unique_ptr<ChildSlot>> failing = std::move(candidates_);
  candidates_.clear();
  for (auto& slot : failing) {
    ChildSlot& s = *slot;
    retired_.push_back(std::move(slot));
    s.stop([this] { slot_stopped(); });  // no request ever went to it
  }
  if (recycle_pending_) {
    recycle_pending_ = false;
    recycle_children(pending_reason_);
  }
}

// After serve_slots(): every lane retires it on its side and reports when none of its requests
// uses it any more.
void ProxySite::retire_slot(std::unique_ptr<ChildSlot> slot) {
  ChildSlot& s = *slot;
  retired_.push_back(std::move(slot));
  s.retire(lanes_.size());
}

void ProxySite::cut_requests_on(uint64_t id) {
  post_all([id](ProxyLane& lane) { lane.cut(id); });
}

void ProxySite::reset_failures() {
  failure_count_ = 0;
  failure_next_ = 0;
}

void ProxySite::set_last_error(std::string error) {
  last_error_ = std::move(error);
  last_error_time_ = std::chrono::system_clock::now();
}

// --- status -------------------------------------------------------------------------------------

ProxyStatus ProxySite::status() const {
  ProxyStatus s;
  bool ready = false, active = false;
  for (const auto& slot : slots_) {
    ready = ready || slot->ready();
    active = active || slot->active();
    if (slot->pid() > 0) s.pids.push_back(slot->pid());
  }
  for (const auto& slot : candidates_)
    if (slot->pid() > 0) s.starting_pids.push_back(slot->pid());
  for (const auto& slot : retired_)
    if (slot->pid() > 0) s.draining_pids.push_back(slot->pid());
  // The lanes' own counts (each written by its loop): a recent value, not a snapshot.
  int64_t in_flight = 0, waiting = 0;
  for (const auto& lane : lanes_) {
    in_flight += lane->in_flight();
    waiting += lane->waiting();
  }
  s.in_flight = static_cast<size_t>(std::max<int64_t>(0, in_flight));
  s.waiting = static_cast<size_t>(std::max<int64_t>(0, waiting));
  if (stopping_)
    s.state = ProxyStatus::State::kStopping;
  else if (!candidates_.empty())
    s.state = ProxyStatus::State::kRecycling;
  else if (ready)
    s.state = ProxyStatus::State::kRunning;
  else if (active || s.waiting > 0)
    s.state = ProxyStatus::State::kStarting;
  s.generation = generation_;
  s.restarts = restarts_;
  s.recycles = recycles_;
  s.recycle_failures = recycle_failures_;
  s.last_error = last_error_;
  s.last_error_time = last_error_time_;
  return s;
}

std::string ProxySite::readiness() const {
  if (!config_.preload || stopping_) return {};
  bool active = false;
  for (const auto& slot : slots_) {
    if (slot->ready()) return {};
    active = active || slot->active();
  }
  if (active) return "starting";
  if (rapid_fail_blocked(nullptr)) return "rapid-fail protection";
  return last_error_.empty() ? "not started" : "failed";
}

std::string ProxySite::status_json() const {
  ProxyStatus s = status();
  return json_site_status(
      to_string(s.state),
      fmt::format("\"generation\":{},\"pids\":{},\"starting_pids\":{},\"draining_pids\":{},"
                  "\"in_flight\":{},\"waiting\":{},\"restarts\":{},\"recycles\":{},"
                  "\"recycle_failures\":{}",
                  s.generation, json_pids(s.pids), json_pids(s.starting_pids),
                  json_pids(s.draining_pids), s.in_flight, s.waiting, s.restarts, s.recycles,
                  s.recycle_failures),
      s.last_error, s.last_error_time);
}

}  // namespace proxy

std::unique_ptr<Site> make_proxy_site(const SiteConfig& config, const SiteContext& context) {
  return std::make_unique<proxy::ProxySite>(config, context);
}

}  // namespace sitehost
