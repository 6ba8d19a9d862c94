#include "proxy/proxy_site.h"

#include <unistd.h>

#include <algorithm>
#include <set>
#include <string_view>

#include <fmt/format.h>

#include "proxy/child_process.h"
#include "proxy/child_slot.h"
#include "proxy/forwarder.h"
#include "shared/log/logger.h"

extern char** environ;

namespace sitehost {
namespace proxy {
namespace {

// Set per child by the slot, whatever the environments say.
bool per_child_variable(std::string_view name) {
  return name == "ASPNETCORE_PORT" || name == "ASPNETCORE_TOKEN" ||
         name == "ASPNETCORE_APPL_PATH" || name == "ASPNETCORE_IIS_PHYSICAL_PATH";
}

}  // namespace

ProxySite::ProxySite(const SiteConfig& config, const SiteContext& context)
    : config_(config), context_(context), launcher_(find_launcher()) {
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    if (per_child_variable(name) || config_.environment.count(std::string(name))) continue;
    environment_.emplace_back(entry);
  }
  for (const auto& [name, value] : config_.environment)
    if (!per_child_variable(name)) environment_.push_back(name + "=" + value);

  unsigned processes = std::max<uint32_t>(1, config_.processes);
  for (unsigned i = 0; i < processes; ++i) slots_.push_back(std::make_unique<ChildSlot>(*this, i));

  sweep_timer_.init(loop(), [this] { sweep(); });
  drain_timer_.init(loop(), [this] {
    log()->warn("site '{}': {} request(s) still running after shutdown_time_limit: cut",
                config_.name, busy_);
    for (auto& f : forwarders_)
      if (!Forwarder::free_hook_linked(*f)) f->cut("the site stopped before the request ended");
  });
  done_timer_.init(loop(), [this] {
    auto done = std::move(stop_done_);
    stop_done_ = nullptr;
    if (done) done();  // may destroy this site
  });
  if (launcher_.empty()) {
    log()->warn(
        "site '{}': sitehost-launch not found next to sitehost: application processes "
        "will not be killed if sitehost itself dies",
        config_.name);
  }
}

ProxySite::~ProxySite() {
  // Normally stop() ran to the end. Otherwise kill what is left (~ChildProcess) and drop the rest.
  forwarders_.clear();
  slots_.clear();
}

void ProxySite::start() {
  if (!config_.preload || stopping_) return;
  for (auto& slot : slots_) slot->start();
}

Forwarder& ProxySite::acquire_forwarder() {
  ++busy_;
  if (Forwarder* f = free_.pop_front()) return *f;
  forwarders_.push_back(std::make_unique<Forwarder>(*this));
  return *forwarders_.back();
}

void ProxySite::handle(Exchange& exchange) {
  if (stopping_) {
    exchange.respond_error(HttpError{503, 0, "the site is stopping"});
    return;
  }
  Forwarder& forwarder = acquire_forwarder();
  ChildSlot& slot = *slots_[next_slot_];
  next_slot_ = (next_slot_ + 1) % slots_.size();
  forwarder.begin(exchange, slot);
}

void ProxySite::recycle(Forwarder& forwarder) {
  timed_.remove(&forwarder);
  free_.push_front(&forwarder);
  --busy_;
  if (stopping_ && busy_ == 0) stop_children();
}

void ProxySite::track(Forwarder& forwarder) {
  if (!IntrusiveList<Forwarder, &Forwarder::timed_hook>::linked(&forwarder))
    timed_.push_back(&forwarder);
  if (!sweep_timer_.active()) {
    auto timeout = static_cast<uint64_t>(config_.request_timeout.count());
    uint64_t interval = std::clamp<uint64_t>(timeout / 8, 10, 250);
    sweep_timer_.start(interval, interval);
  }
}

void ProxySite::untrack(Forwarder& forwarder) {
  timed_.remove(&forwarder);
}

void ProxySite::sweep() {
  if (timed_.empty()) {
    sweep_timer_.stop();
    return;
  }
  uint64_t now = uv_now(loop());
  auto timeout = static_cast<uint64_t>(config_.request_timeout.count());
  Forwarder* f = timed_.front();
  while (f) {
    Forwarder* next = IntrusiveList<Forwarder, &Forwarder::timed_hook>::next(f);
    if (f->timed() && now - f->last_activity() >= timeout) f->on_timeout();
    f = next;
  }
}

void ProxySite::record_failure() {
  failures_[failure_next_] = now();
  failure_next_ = (failure_next_ + 1) % failures_.size();
  failure_count_ = std::min(failure_count_ + 1, failures_.size());
}

bool ProxySite::rapid_fail_blocked(std::string* detail) {
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
        "configuration changes",
        recent, config_.rapid_fails_per_minute, (oldest + kWindowMs - t + 999) / 1000);
  }
  return true;
}

void ProxySite::stop(std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  stop_done_ = std::move(done);
  for (auto& slot : slots_) slot->refuse_waiters(HttpError{503, 0, "the site is stopping"});
  if (busy_ == 0) {
    stop_children();
    return;
  }
  log()->info("site '{}': stopping; waiting for {} request(s) in flight", config_.name, busy_);
  drain_timer_.start(static_cast<uint64_t>(config_.shutdown_time_limit.count()));
}

void ProxySite::stop_children() {
  if (children_stopping_) return;
  children_stopping_ = true;
  drain_timer_.stop();
  children_running_ = slots_.size();
  for (auto& slot : slots_) slot->stop([this] { on_child_stopped(); });
}

void ProxySite::on_child_stopped() {
  if (--children_running_ != 0) return;
  sweep_timer_.stop();
  done_timer_.start(0);  // never from inside stop(): the caller may destroy the site in done
}

}  // namespace proxy

std::unique_ptr<Site> make_proxy_site(const SiteConfig& config, const SiteContext& context) {
  return std::make_unique<proxy::ProxySite>(config, context);
}

}  // namespace sitehost
