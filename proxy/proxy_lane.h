// The request path of an out-of-process site on one event loop (a "lane"). A ProxySite has one
// lane per event loop (SiteContext::loops; one lane on the control loop when there is none).
//
// A lane owns, for its loop only: the forwarders (and their tunnels), the I/O blocks they use,
// one keep-alive UpstreamPool per child (LaneChild), the requests waiting for a child to start,
// and the request_timeout sweep timer. It never touches the children themselves: those belong to
// the supervisor (ProxySite + ChildSlot, control thread). They talk by message only:
//   lane → control (ProxySite::post_control): "start child ID" (requests wait for it), "no request
//     of mine is left on retired child ID", "lane closed" (after stop), "poll the deploy watch";
//   control → lane (ProxySite::post_lane): a child was added, is ready (port, token, generation),
//     failed to start (the 502.5/503 to answer), is gone (exited or killed, with the 502.5 text);
//     "serve these children" (overlapped recycle: the others retire), cut requests, stop, forget.
// Messages are queued in order per lane, so a lane learns of a child before any event about it.
//
// Threads: a lane and its LaneChildren are built on the control thread before the site is
// published to the loops (no handle is created then); from then on everything in them runs on
// the lane's loop thread, except in_flight()/waiting() (relaxed atomics, any thread). Lanes are
// shared_ptr-owned so that a message still queued for a lane when the site goes finds it alive;
// a closed lane ignores every message and never touches the site again.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/buffer_pool.h"
#include "proxy/forwarder.h"
#include "proxy/intrusive_list.h"
#include "proxy/upstream_pool.h"
#include "shared/net/uv_handle.h"
#include "shared/site/exchange.h"
#include "shared/thread/loop_counter.h"

namespace sitehost {
class Logger;
}

namespace sitehost::proxy {

class ProxyLane;
class ProxySite;

// One child process (a ChildSlot of the supervisor, named by its id) as one lane sees it: what
// the control thread published about it, the lane's keep-alive connections to it, the lane's
// requests waiting for it and those using it. Lane thread only.
class LaneChild final {
 public:
  static constexpr size_t kMaxWaiters = 4096;  // per child and lane

  LaneChild(ProxyLane& lane, uint64_t id, uv_loop_t* loop, BufferPool& buffers);
  LaneChild(const LaneChild&) = delete;
  LaneChild& operator=(const LaneChild&) = delete;

  uint64_t id() const { return id_; }

  // --- for forwarders (see ChildSlot's former API: same meaning, lane-local) ---
  // Runs `forwarder` now when the child is known ready, else queues it and asks the control
  // thread to start the child.
  void submit(Forwarder& forwarder);
  // A forwarder whose request never reached the child and whose connect failed: while the child
  // of `generation` is the ready one it waits for the child's exit (then a restart), otherwise it
  // is submitted again (to the serving children when this one retires).
  void requeue(Forwarder& forwarder, uint32_t generation);
  void withdraw(Forwarder& forwarder);
  void await_exit(Forwarder& forwarder);
  void stop_awaiting_exit(Forwarder& forwarder);
  void request_begun() { ++requests_; }
  void request_ended();

  UpstreamPool& pool() { return pool_; }
  std::string_view token() const { return token_; }
  uint16_t port() const { return port_; }
  bool ready() const { return ready_; }
  bool retiring() const { return retiring_; }
  // True when the lane has been told that the child of `generation` is gone (or a newer one
  // replaced it). A child that died a moment ago counts as alive until then.
  bool child_dead(uint32_t generation) const { return !ready_ || generation != generation_; }
  void describe_crash(uint32_t generation, std::string& out) const;

  // --- messages from the control thread ---
  void on_ready(uint32_t generation, uint16_t port, std::string token);
  void on_failed(const HttpError& error);
  void on_gone(uint32_t generation, std::string crash);
  // Leaves service on this lane: idle connections close, waiting requests go to the serving
  // children; "drained" is reported once no request of this lane uses it.
  void retire();
  void fail_waiters(const HttpError& error);
  void forget() { forgotten_ = true; }
  // Nothing of this lane refers to it any more (it may be erased).
  bool unused() const;
  bool forgotten() const { return forgotten_; }
  size_t requests() const { return requests_; }

 private:
  void ask_start();
  void hand_back_waiters();
  void push_waiter(Forwarder& forwarder);
  Forwarder* pop_waiter();
  void maybe_drained();

  ProxyLane& lane_;
  uint64_t id_;
  UpstreamPool pool_;
  IntrusiveList<Forwarder, &Forwarder::queue_hook> waiters_;
  IntrusiveList<Forwarder, &Forwarder::queue_hook> exit_watchers_;
  std::string token_;
  uint16_t port_ = 0;
  uint32_t generation_ = 0;  // of the child last published ready
  bool ready_ = false;
  bool start_asked_ = false;  // a start was asked for and neither ready nor failed came back
  bool retiring_ = false;
  bool drained_reported_ = false;
  bool forgotten_ = false;  // the control thread dropped the child: erase once unused
  size_t requests_ = 0;
  uint32_t gone_generation_ = 0;
  std::string gone_crash_;  // the 502.5 text for requests on the child of gone_generation_
};

class ProxyLane final : public std::enable_shared_from_this<ProxyLane> {
 public:
  // Control thread, before the site is published. `serving`: the ids of the serving children.
  ProxyLane(ProxySite& site, unsigned index, uv_loop_t* loop, const std::vector<uint64_t>& serving);
  ~ProxyLane();
  ProxyLane(const ProxyLane&) = delete;
  ProxyLane& operator=(const ProxyLane&) = delete;

  // --- lane thread ---
  void handle(Exchange& exchange);

  // Messages from the control thread (posted; lane thread).
  void add_child(uint64_t id);
  void child_ready(uint64_t id, uint32_t generation, uint16_t port, std::string token);
  void child_failed(uint64_t id, int status, int substatus, std::string detail);
  void child_gone(uint64_t id, uint32_t generation, std::string crash);
  // The children new requests go to from now on; the serving ones not listed retire.
  void serve(std::vector<uint64_t> ids);
  // shutdown_time_limit passed: requests on child `id` (or on any child) are cut.
  void cut(uint64_t id);
  void cut_all(std::string_view why);
  // The site stops: waiting requests get 503, in-flight ones finish; once none is left and every
  // connection is closed the lane closes its handles and reports it (ProxySite::lane_closed).
  void stop();
  void forget(uint64_t id);

  // For forwarders and lane children (lane thread).
  const SiteConfig& config() const;
  Logger* log() const;
  uint64_t now() const { return uv_now(loop_); }
  BufferPool& buffers() { return buffers_; }
  bool stopping() const { return stopping_; }
  void track(Forwarder& forwarder);
  void untrack(Forwarder& forwarder);
  void recycle(Forwarder& forwarder);
  // A waiting request of a retiring child goes to a serving one.
  void resubmit(Forwarder& forwarder);
  void ask_start(uint64_t id);
  void report_drained(uint64_t id);
  void waiting_changed(int64_t delta) { waiting_.add(delta); }
  // A child's pool has no connection left (an erase or the lane's close may follow).
  void pool_empty();

  // --- any thread ---
  unsigned index() const { return index_; }
  uv_loop_t* loop() const { return loop_; }
  int64_t in_flight() const { return in_flight_.get(); }
  int64_t waiting() const { return waiting_.get(); }

 private:
  Forwarder& acquire_forwarder();
  LaneChild* find(uint64_t id) const;
  void sweep();
  void maybe_close();
  void erase_unused();

  ProxySite& site_;  // only its thread-safe parts, and only while the lane is open
  const unsigned index_;
  uv_loop_t* const loop_;
  BufferPool buffers_;
  std::vector<std::unique_ptr<LaneChild>> children_;
  std::vector<LaneChild*> serving_;
  size_t next_ = 0;
  std::vector<std::unique_ptr<Forwarder>> forwarders_;  // every forwarder ever made here
  IntrusiveList<Forwarder, &Forwarder::free_hook> free_;
  IntrusiveList<Forwarder, &Forwarder::timed_hook> timed_;
  size_t busy_ = 0;
  UvTimer sweep_timer_;  // created on first use, on this lane's thread
  bool sweep_ready_ = false;
  uint64_t last_poll_ = 0;
  bool erase_posted_ = false;
  bool stopping_ = false;
  bool closed_ = false;
  LoopGauge in_flight_;
  LoopGauge waiting_;
};

}  // namespace sitehost::proxy
