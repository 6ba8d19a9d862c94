// Supervises one child process of an out-of-process site (a site has `processes` slots).
//
// States: idle (no child) → starting (spawned, probing its port) → ready → idle again when the
// child exits (restarted lazily by the next request). Requests that arrive while it starts wait
// in a bounded queue. A start gives the child `startup_time_limit` to accept a connection and
// makes two attempts (a new port each) when it exits before that; every failed attempt and every
// crash counts toward rapid_fails_per_minute. stop(): SIGTERM, shutdown_time_limit, SIGKILL of
// the process group.
//
// Overlapped recycle (ProxySite::recycle): a site's slots form one generation. A recycle makes a
// new generation of candidate slots that start at once (no request waits on them); the site
// reads candidate_ready() / candidate_failed(). Once they all are ready the site promotes them
// and retires the old slots: a retiring slot takes no new request, hands its waiting ones back to
// the site, keeps serving those in flight (counted by request_begun/request_ended) for up to
// shutdown_time_limit (then the site cuts them), and stops its child as soon as none is left.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/child_output.h"
#include "proxy/child_process.h"
#include "proxy/forwarder.h"
#include "proxy/intrusive_list.h"
#include "proxy/upstream_pool.h"
#include "shared/net/uv_handle.h"
#include "shared/site/exchange.h"

namespace sitehost::proxy {

class ProxySite;

// process_path as configured: absolute, or relative to physical_path; a bare command name
// ("python3", "dotnet") is looked up in PATH when the app folder has no such file. Empty, with
// `*error` set, when there is no such executable.
std::string resolve_program(const SiteConfig& config, std::string* error);

class ChildSlot final : private UpstreamUser {
 public:
  static constexpr size_t kMaxWaiters = 4096;
  static constexpr int kStartAttempts = 2;

  enum class Role { kServing, kCandidate };

  // `site_generation`: the site's generation the slot belongs to (for logs).
  ChildSlot(ProxySite& site, unsigned index, uint64_t site_generation, Role role);
  ~ChildSlot();
  ChildSlot(const ChildSlot&) = delete;
  ChildSlot& operator=(const ChildSlot&) = delete;

  // Runs `forwarder` now when the child is ready, else queues it (starting the child if needed)
  // or fails it.
  void submit(Forwarder& forwarder);
  // A forwarder whose request never reached a child, and whose connect to the child of
  // `generation` failed because it died or was refused (it may have just died: libuv reports the
  // exit a little later). While that child is still the ready one it waits for its exit (then a
  // restart); otherwise it is submitted again.
  void requeue(Forwarder& forwarder, uint32_t generation);
  // A queued forwarder whose client went away.
  void withdraw(Forwarder& forwarder);
  // A forwarder whose request may have reached the current child and whose connection ended
  // before a response: it learns of the child's exit through Forwarder::on_child_exited.
  void await_exit(Forwarder& forwarder);
  void stop_awaiting_exit(Forwarder& forwarder);
  // Starts the child ahead of requests (preload).
  void start();
  // Fails queued requests with `error` (the site is stopping).
  void refuse_waiters(const HttpError& error);
  // No new requests; SIGTERM, shutdown_time_limit, SIGKILL the group; `done` once the child is
  // gone and every connection to it is closed.
  void stop(std::function<void()> done);

  // --- requests that reference the slot (from Forwarder::begin until the forwarder is free) ---
  void request_begun() { ++requests_; }
  void request_ended();
  size_t requests() const { return requests_; }
  size_t waiting() const { return waiters_.size(); }

  // --- overlapped recycle ---
  // A candidate starts its child now, whatever rapid-fail protection says (a deploy or reload
  // asked for it); becoming ready or failing is reported to the site (candidate_changed), which
  // reads ready() / candidate_failed().
  void start_candidate();
  bool ready() const { return state_ == State::kReady; }
  bool candidate_failed() const { return !failure_.empty(); }
  // Why the candidate failed (one paragraph), and the child's last output.
  const std::string& failure() const { return failure_; }
  const std::string& failure_output() const { return failure_output_; }
  // The candidate becomes a serving slot.
  void promote() { role_ = Role::kServing; }
  // Leaves service: idle connections are closed, the waiting requests go back to the site
  // (ProxySite::resubmit), the drain deadline (shutdown_time_limit) starts. The child is stopped
  // as soon as no request references the slot.
  void retire();
  bool retiring() const { return retiring_; }
  // A fixed ASPNETCORE_PORT cannot be shared by two children: the replacement of such a slot is
  // held (requests queue on it, nothing starts) until release_hold(), once the old child is gone.
  bool fixed_port() const { return fixed_port_; }
  void hold() { held_ = true; }
  bool held() const { return held_; }
  void release_hold();
  // True when the slot has a child process or is starting or stopping one.
  bool active() const { return state_ != State::kIdle && state_ != State::kStopped; }
  bool stop_requested() const { return stop_requested_; }
  // stop() completed: no child, no connection.
  bool finished() const { return finished_; }
  uint64_t site_generation() const { return site_generation_; }

  UpstreamPool& pool() { return pool_; }
  std::string_view token() const { return token_; }
  uint16_t port() const { return port_; }
  pid_t pid() const { return child_ ? child_->pid() : 0; }
  // True when the child that `generation` names is gone: it exited (libuv's exit callback), or
  // the slot killed or stopped it, or a newer child replaced it. No syscall: a child that died a
  // moment ago still counts as alive until its exit is reported.
  bool child_dead(uint32_t generation) const;
  // Appends a description of the death of the child of `generation` (and its last output) for a
  // 502.5 page.
  void describe_crash(uint32_t generation, std::string& out) const;

 private:
  enum class State { kIdle, kStarting, kReady, kKilling, kStopping, kStopped };

  void begin_start();
  void spawn_attempt();
  void schedule_probe();
  void probe();
  void on_ready();
  void on_child_exit(int64_t exit_status, int term_signal);
  void handle_exit(pid_t pid);
  void on_startup_timeout();
  void fail_start(const std::string& detail);
  void fail_waiters(const HttpError& error);
  void check_stopped();
  void note_candidate_failure(const std::string& detail);
  void hand_back_waiters();
  void maybe_drained();
  std::string exit_text(int64_t exit_status, int term_signal) const;
  std::string output_excerpt() const;

  // The readiness probe is a connection whose user is the slot.
  void on_upstream_connect(UpstreamConnection& connection, int status) override;
  void on_upstream_data(UpstreamConnection& connection, Block* block, size_t len) override;
  void on_upstream_end(UpstreamConnection& connection, int status) override;
  void on_upstream_written(UpstreamConnection&, size_t, int) override {}

  ProxySite& site_;
  unsigned index_;
  uint64_t site_generation_;
  Role role_;
  State state_ = State::kIdle;
  std::unique_ptr<ChildProcess> child_;
  ChildOutput output_;
  UpstreamPool pool_;
  UpstreamConnection* probe_ = nullptr;
  UvTimer probe_timer_;
  UvTimer startup_timer_;
  UvTimer kill_timer_;
  UvTimer drain_timer_;  // retiring: shutdown_time_limit for the requests in flight
  IntrusiveList<Forwarder, &Forwarder::queue_hook> waiters_;
  IntrusiveList<Forwarder, &Forwarder::queue_hook> exit_watchers_;  // see await_exit
  std::string token_;
  std::string program_;
  uint16_t port_ = 0;
  uint32_t generation_ = 0;
  int attempt_ = 0;
  uint64_t start_time_ = 0;
  uint64_t probe_delay_ = 0;
  bool fixed_port_ = false;
  bool started_once_ = false;  // a start was made before (the next one is a restart)
  bool retiring_ = false;
  bool held_ = false;
  bool stop_requested_ = false;
  bool finished_ = false;
  size_t requests_ = 0;
  std::string last_exit_;  // how the last child ended
  pid_t exited_pid_ = 0;   // and which
  uint32_t exited_generation_ = 0;
  std::string failure_;  // a candidate's failed start
  std::string failure_output_;
  std::function<void()> stop_done_;
};

}  // namespace sitehost::proxy
