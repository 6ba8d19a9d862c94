// Supervises one child process of an out-of-process site (a site has `processes` slots). Control
// thread only: the slot owns the child, its port and token, its readiness probe, its timers and
// its output; it never sees a request. The lanes (proxy_lane.h: the request path, one per event
// loop) hold their own view of it (LaneChild: keep-alive pool, waiting requests) and hear about it
// through the site (ProxySite::publish_*): ready (port, token, generation), failed to start (the
// 502.5 to answer), gone (exited, or killed by the slot, with the 502.5 text).
//
// States: idle (no child) → starting (spawned, probing its port) → ready → idle again when the
// child exits (restarted when a lane asks: want_start()). A start gives the child
// `startup_time_limit` to accept a connection and makes two attempts (a new port each) when it
// exits before that; every failed attempt and every crash counts toward rapid_fails_per_minute.
// stop(): SIGTERM, shutdown_time_limit, SIGKILL of the process group.
//
// Overlapped recycle (ProxySite::recycle_children): a site's slots form one generation. A recycle
// makes a new generation of candidate slots that start at once; the site reads ready() /
// candidate_failed(). Once they all are ready the site promotes them, tells every lane to serve
// them and retires the old slots: a retiring slot waits until every lane reported that none of
// its requests uses it any more (lane_drained), for up to shutdown_time_limit (then the lanes cut
// them), and stops its child as soon as that is so.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/child_output.h"
#include "proxy/child_process.h"
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
  static constexpr int kStartAttempts = 2;

  enum class Role { kServing, kCandidate };

  // `id`: unique within the site (how lanes name the slot); `site_generation`: the site's
  // generation the slot belongs to (for logs).
  ChildSlot(ProxySite& site, unsigned index, uint64_t id, uint64_t site_generation, Role role);
  ~ChildSlot();
  ChildSlot(const ChildSlot&) = delete;
  ChildSlot& operator=(const ChildSlot&) = delete;

  uint64_t id() const { return id_; }
  // Lane `lane` has requests waiting for the child: starts it when idle (unless rapid-fail
  // protection refuses: that lane is told the 502.5), answers "ready" at once when it is.
  void want_start(unsigned lane);
  // Starts the child ahead of requests (preload).
  void start();
  // No new requests; SIGTERM, shutdown_time_limit, SIGKILL the group; `done` once the child is
  // gone and the probe connection is closed.
  void stop(std::function<void()> done);

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
  // Leaves service (the lanes were told to serve other slots): the drain deadline
  // (shutdown_time_limit) starts; the child is stopped once each of `lanes` lanes reported
  // lane_drained().
  void retire(size_t lanes);
  void lane_drained();
  bool retiring() const { return retiring_; }
  // A fixed ASPNETCORE_PORT cannot be shared by two children: the replacement of such a slot is
  // held (requests wait in the lanes, nothing starts) until release_hold(), once the old child is
  // gone.
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
  pid_t pid() const { return child_ ? child_->pid() : 0; }

 private:
  enum class State { kIdle, kStarting, kReady, kKilling, kStopping, kStopped };

  void begin_start();
  void spawn_attempt();
  void schedule_probe();
  void probe();
  void on_ready();
  void on_child_exit(int64_t exit_status, int term_signal);
  void handle_exit(pid_t pid);
  void exit_while_starting(pid_t pid);
  void exit_while_ready(pid_t pid);
  void on_startup_timeout();
  void fail_start(const std::string& detail);
  void start_or_refuse();
  void check_stopped();
  void note_candidate_failure(const std::string& detail);
  void maybe_drained();
  void publish_gone(pid_t pid, std::string_view how);
  std::string exit_text(int64_t exit_status, int term_signal) const;
  std::string output_excerpt() const;

  // The readiness probe is a connection whose user is the slot.
  void on_upstream_connect(UpstreamConnection& connection, int status) override;
  void on_upstream_data(UpstreamConnection& connection, Block* block, size_t len) override;
  void on_upstream_end(UpstreamConnection& connection, int status) override;
  void on_upstream_written(UpstreamConnection&, size_t, int) override {}

  ProxySite& site_;
  unsigned index_;
  uint64_t id_;
  uint64_t site_generation_;
  Role role_;
  State state_ = State::kIdle;
  std::unique_ptr<ChildProcess> child_;
  ChildOutput output_;
  UpstreamPool probe_pool_;  // the readiness probe only (the lanes have their own pools)
  UpstreamConnection* probe_ = nullptr;
  UvTimer probe_timer_;
  UvTimer startup_timer_;
  UvTimer kill_timer_;
  UvTimer drain_timer_;  // retiring: shutdown_time_limit for the requests in flight
  std::string token_;
  std::string program_;
  uint16_t port_ = 0;
  uint32_t generation_ = 0;            // +1 per spawned child
  uint32_t published_generation_ = 0;  // the child the lanes were told is ready (0: none)
  int attempt_ = 0;
  uint64_t start_time_ = 0;
  uint64_t probe_delay_ = 0;
  size_t lanes_busy_ = 0;  // retiring: lanes that have not reported lane_drained()
  bool fixed_port_ = false;
  bool started_once_ = false;  // a start was made before (the next one is a restart)
  bool start_wanted_ = false;  // a lane asked while the child was being killed
  bool retiring_ = false;
  bool held_ = false;
  bool stop_requested_ = false;
  bool finished_ = false;
  std::string last_exit_;  // how the last child ended
  std::string failure_;    // a candidate's failed start
  std::string failure_output_;
  std::function<void()> stop_done_;
};

}  // namespace sitehost::proxy
