#include "proxy/proxy_lane.h"

#include <algorithm>

#include <fmt/format.h>

#include "proxy/deploy_watch.h"
#include "proxy/proxy_site.h"
#include "shared/log/logger.h"

namespace sitehost::proxy {

// --- LaneChild ----------------------------------------------------------------------------------

LaneChild::LaneChild(ProxyLane& lane, uint64_t id, uv_loop_t* loop, BufferPool& buffers)
    : lane_(lane), id_(id), pool_(loop, buffers) {
  pool_.set_on_empty([this] { lane_.pool_empty(); });
}

void LaneChild::push_waiter(Forwarder& forwarder) {
  waiters_.push_back(&forwarder);
  lane_.waiting_changed(1);
}

Forwarder* LaneChild::pop_waiter() {
  Forwarder* f = waiters_.pop_front();
  if (f) lane_.waiting_changed(-1);
  return f;
}

void LaneChild::submit(Forwarder& forwarder) {
  if (ready_) {
    forwarder.on_child_ready();
    return;
  }
  if (waiters_.size() >= kMaxWaiters) {
    forwarder.on_child_failed(
        HttpError{503, 0, "too many requests are waiting for the application to start"});
    return;
  }
  push_waiter(forwarder);
  ask_start();
}

void LaneChild::ask_start() {
  if (start_asked_ || lane_.stopping()) return;
  start_asked_ = true;
  lane_.ask_start(id_);
}

void LaneChild::requeue(Forwarder& forwarder, uint32_t generation) {
  if (retiring_) {  // never restarted: the request goes to the serving children
    lane_.resubmit(forwarder);
    return;
  }
  if (ready_ && generation == generation_) {
    push_waiter(forwarder);  // on_gone asks for a restart for it
    return;
  }
  submit(forwarder);
}

void LaneChild::withdraw(Forwarder& forwarder) {
  if (!IntrusiveList<Forwarder, &Forwarder::queue_hook>::linked(&forwarder)) return;
  waiters_.remove(&forwarder);  // queued forwarders are in waiters_ only (not exit_watchers_)
  lane_.waiting_changed(-1);
}

void LaneChild::await_exit(Forwarder& forwarder) {
  exit_watchers_.push_back(&forwarder);
}

void LaneChild::stop_awaiting_exit(Forwarder& forwarder) {
  exit_watchers_.remove(&forwarder);
}

void LaneChild::request_ended() {
  --requests_;
  maybe_drained();
}

void LaneChild::describe_crash(uint32_t generation, std::string& out) const {
  if (generation == gone_generation_ && !gone_crash_.empty())
    out += gone_crash_;
  else
    out += "the application process exited while handling the request";
}

void LaneChild::on_ready(uint32_t generation, uint16_t port, std::string token) {
  start_asked_ = false;
  if (ready_ && generation == generation_) return;  // a repeated answer
  ready_ = true;
  generation_ = generation;
  port_ = port;
  token_ = std::move(token);
  pool_.close_idle();  // to an older child
  pool_.set_target(port_, generation_);
  // Moved aside first: a request may end at once and bring a new one (pipelining).
  IntrusiveList<Forwarder, &Forwarder::queue_hook> run;
  while (Forwarder* f = pop_waiter()) run.push_back(f);
  while (Forwarder* f = run.pop_front()) f->on_child_ready();
}

void LaneChild::on_failed(const HttpError& error) {
  start_asked_ = false;
  if (ready_) return;  // about an older start; this lane has a ready child
  fail_waiters(error);
}

void LaneChild::on_gone(uint32_t generation, std::string crash) {
  gone_generation_ = generation;
  gone_crash_ = std::move(crash);
  if (!ready_ || generation != generation_) return;
  ready_ = false;
  pool_.close_idle();
  IntrusiveList<Forwarder, &Forwarder::queue_hook> watchers;
  while (Forwarder* f = exit_watchers_.pop_front()) watchers.push_back(f);
  while (Forwarder* f = watchers.pop_front()) f->on_child_exited(gone_crash_);
  if (waiters_.empty()) return;  // restarted by the next request
  if (retiring_)
    hand_back_waiters();
  else
    ask_start();  // requests that found it dead: restart now
}

void LaneChild::fail_waiters(const HttpError& error) {
  // Moved aside first: failing one may bring a new request (pipelining) into waiters_.
  IntrusiveList<Forwarder, &Forwarder::queue_hook> failing;
  while (Forwarder* f = pop_waiter()) failing.push_back(f);
  while (Forwarder* f = failing.pop_front()) f->on_child_failed(error);
}

void LaneChild::retire() {
  if (retiring_) return;
  retiring_ = true;
  pool_.close_idle();
  hand_back_waiters();
  maybe_drained();
}

void LaneChild::hand_back_waiters() {
  IntrusiveList<Forwarder, &Forwarder::queue_hook> moving;
  while (Forwarder* f = pop_waiter()) moving.push_back(f);
  while (Forwarder* f = moving.pop_front()) lane_.resubmit(*f);
}

void LaneChild::maybe_drained() {
  if (!retiring_ || requests_ != 0 || drained_reported_) return;
  drained_reported_ = true;
  lane_.report_drained(id_);
}

bool LaneChild::unused() const {
  return requests_ == 0 && waiters_.empty() && exit_watchers_.empty() && pool_.live() == 0;
}

// --- ProxyLane ----------------------------------------------------------------------------------

ProxyLane::ProxyLane(ProxySite& site, unsigned index, uv_loop_t* loop,
                     const std::vector<uint64_t>& serving)
    : site_(site), index_(index), loop_(loop) {
  for (uint64_t id : serving) {
    children_.push_back(std::make_unique<LaneChild>(*this, id, loop_, buffers_));
    serving_.push_back(children_.back().get());
  }
}

// After close (normally): nothing is left but memory. Destroyed on whichever thread drops the
// last reference (a message for a closed lane may hold one).
ProxyLane::~ProxyLane() {
  forwarders_.clear();
  children_.clear();
}

const SiteConfig& ProxyLane::config() const {
  return site_.config();
}

Logger* ProxyLane::log() const {
  return site_.log();
}

LaneChild* ProxyLane::find(uint64_t id) const {
  for (const auto& c : children_)
    if (c->id() == id) return c.get();
  return nullptr;
}

Forwarder& ProxyLane::acquire_forwarder() {
  ++busy_;
  in_flight_.add();
  if (Forwarder* f = free_.pop_front()) return *f;
  forwarders_.push_back(std::make_unique<Forwarder>(*this));
  return *forwarders_.back();
}

void ProxyLane::handle(Exchange& exchange) {
  if (stopping_ || serving_.empty()) {
    exchange.respond_error(HttpError{503, 0, "the site is stopping"});
    return;
  }
  // The deploy watch's safety net for a missed file event lives on the control thread: asked at
  // most once per poll period per lane.
  uint64_t t = now();
  if (t - last_poll_ >= DeployWatch::kPollMs) {
    last_poll_ = t;
    ProxySite* site = &site_;
    site_.post_control([site] { site->poll_watch(); });
  }
  Forwarder& forwarder = acquire_forwarder();
  LaneChild& child = *serving_[next_];
  next_ = (next_ + 1) % serving_.size();
  forwarder.begin(exchange, child);
}

void ProxyLane::resubmit(Forwarder& forwarder) {
  LaneChild* from = forwarder.child();
  LaneChild& to = *serving_[next_];
  next_ = (next_ + 1) % serving_.size();
  forwarder.move_to(to);
  if (from) from->request_ended();
  to.submit(forwarder);
}

void ProxyLane::recycle(Forwarder& forwarder) {
  timed_.remove(&forwarder);
  free_.push_front(&forwarder);
  --busy_;
  in_flight_.sub();
  if (stopping_ && busy_ == 0) maybe_close();
}

void ProxyLane::track(Forwarder& forwarder) {
  if (!IntrusiveList<Forwarder, &Forwarder::timed_hook>::linked(&forwarder))
    timed_.push_back(&forwarder);
  if (!sweep_timer_.active()) {
    if (closed_) return;
    if (!sweep_ready_) {  // created here: on this lane's thread
      sweep_ready_ = true;
      sweep_timer_.init(loop_, [this] { sweep(); });
    }
    auto timeout = static_cast<uint64_t>(config().request_timeout.count());
    uint64_t interval = std::clamp<uint64_t>(timeout / 8, 10, 250);
    sweep_timer_.start(interval, interval);
  }
}

void ProxyLane::untrack(Forwarder& forwarder) {
  timed_.remove(&forwarder);
}

void ProxyLane::sweep() {
  if (timed_.empty()) {
    sweep_timer_.stop();
    return;
  }
  uint64_t t = now();
  auto timeout = static_cast<uint64_t>(config().request_timeout.count());
  Forwarder* f = timed_.front();
  while (f) {
    Forwarder* next = IntrusiveList<Forwarder, &Forwarder::timed_hook>::next(f);
    if (f->timed() && t - f->last_activity() >= f->timeout_ms(timeout)) f->on_timeout();
    f = next;
  }
}

// --- messages -----------------------------------------------------------------------------------

void ProxyLane::ask_start(uint64_t id) {
  ProxySite* site = &site_;
  unsigned lane = index_;
  site_.post_control([site, lane, id] { site->start_wanted(lane, id); });
}

void ProxyLane::report_drained(uint64_t id) {
  if (closed_) return;
  ProxySite* site = &site_;
  site_.post_control([site, id] { site->lane_drained(id); });
}

void ProxyLane::add_child(uint64_t id) {
  if (closed_ || find(id)) return;
  children_.push_back(std::make_unique<LaneChild>(*this, id, loop_, buffers_));
}

void ProxyLane::child_ready(uint64_t id, uint32_t generation, uint16_t port, std::string token) {
  if (closed_) return;
  if (LaneChild* c = find(id)) c->on_ready(generation, port, std::move(token));
}

void ProxyLane::child_failed(uint64_t id, int status, int substatus, std::string detail) {
  if (closed_) return;
  if (LaneChild* c = find(id)) c->on_failed(HttpError{status, substatus, detail});
}

void ProxyLane::child_gone(uint64_t id, uint32_t generation, std::string crash) {
  if (closed_) return;
  if (LaneChild* c = find(id)) c->on_gone(generation, std::move(crash));
}

void ProxyLane::serve(std::vector<uint64_t> ids) {
  if (closed_ || stopping_) return;
  std::vector<LaneChild*> old = std::move(serving_);
  serving_.clear();
  for (uint64_t id : ids)
    if (LaneChild* c = find(id)) serving_.push_back(c);
  next_ = 0;
  if (serving_.empty()) {  // cannot happen (added before): keep the old ones rather than none
    serving_ = std::move(old);
    return;
  }
  for (LaneChild* c : old)
    if (std::find(serving_.begin(), serving_.end(), c) == serving_.end()) c->retire();
}

void ProxyLane::cut(uint64_t id) {
  if (closed_) return;
  LaneChild* child = find(id);
  if (!child) return;
  std::vector<Forwarder*> cut;  // collected first: cutting may start new exchanges (pipelining)
  for (auto& f : forwarders_)
    if (!Forwarder::free_hook_linked(*f) && f->child() == child) cut.push_back(f.get());
  if (cut.empty()) return;
  log()->warn(
      "site '{}': {} request(s) still running on the replaced process after "
      "shutdown_time_limit ({} ms): cut",
      config().name, cut.size(), config().shutdown_time_limit.count());
  for (Forwarder* f : cut)
    if (f->child() == child)
      f->cut("the application was replaced and the request outlived shutdown_time_limit");
}

void ProxyLane::cut_all(std::string_view why) {
  if (closed_) return;
  std::vector<Forwarder*> cut;
  for (auto& f : forwarders_)
    if (!Forwarder::free_hook_linked(*f)) cut.push_back(f.get());
  for (Forwarder* f : cut)
    if (!Forwarder::free_hook_linked(*f)) f->cut(why);
}

void ProxyLane::stop() {
  if (closed_ || stopping_) return;
  stopping_ = true;
  for (auto& c : children_) c->fail_waiters(HttpError{503, 0, "the site is stopping"});
  maybe_close();
}

void ProxyLane::forget(uint64_t id) {
  if (closed_) return;
  if (LaneChild* c = find(id)) {
    c->forget();
    c->pool().close_idle();
    erase_unused();
  }
}

void ProxyLane::pool_empty() {
  if (stopping_) {
    maybe_close();
    return;
  }
  // Only forgotten children are erased (rare: after a recycle), never from inside their own
  // pool's callback: on a later turn.
  if (erase_posted_ || closed_ ||
      std::none_of(children_.begin(), children_.end(),
                   [](const auto& c) { return c->forgotten(); }))
    return;
  erase_posted_ = true;
  site_.post_lane(index_, [lane = shared_from_this()] {
    lane->erase_posted_ = false;
    if (!lane->closed_) lane->erase_unused();
  });
}

void ProxyLane::erase_unused() {
  std::erase_if(children_,
                [](const std::unique_ptr<LaneChild>& c) { return c->forgotten() && c->unused(); });
}

// Closes once no request is left and every connection is closed: the sweep timer goes (the last
// handle of this lane on its loop), and the control thread hears it. Never touches the site
// afterwards.
void ProxyLane::maybe_close() {
  if (!stopping_ || closed_ || busy_ != 0) return;
  for (auto& c : children_) c->pool().close_idle();
  for (auto& c : children_)
    if (c->pool().live() != 0) return;  // pool_empty() comes back here
  closed_ = true;
  sweep_timer_.close();
  ProxySite* site = &site_;
  unsigned lane = index_;
  site_.post_control([site, lane] { site->lane_closed(lane); });
}

}  // namespace sitehost::proxy
