// Supervises one child process of an out-of-process site (a site has `processes` slots).
//
// States: idle (no child) → starting (spawned, probing its port) → ready → idle again when the
// child exits (restarted lazily by the next request). Requests that arrive while it starts wait
// in a bounded queue. A start gives the child `startup_time_limit` to accept a connection and
// makes two attempts (a new port each) when it exits before that; every failed attempt and every
// crash counts toward rapid_fails_per_minute. stop(): SIGTERM, shutdown_time_limit, SIGKILL of
// the process group.
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
#include "proxy/uv_handle.h"
#include "shared/site/exchange.h"

namespace sitehost::proxy {

class ProxySite;

class ChildSlot final : private UpstreamUser {
 public:
  static constexpr size_t kMaxWaiters = 4096;
  static constexpr int kStartAttempts = 2;

  ChildSlot(ProxySite& site, unsigned index);
  ~ChildSlot();
  ChildSlot(const ChildSlot&) = delete;
  ChildSlot& operator=(const ChildSlot&) = delete;

  // Runs `forwarder` now when the child is ready, else queues it (starting the child if needed)
  // or fails it.
  void submit(Forwarder& forwarder);
  // A forwarder that found the child dead before the slot saw the exit: it waits for the exit
  // (then a restart) when the slot still thinks the child is ready.
  void requeue(Forwarder& forwarder);
  // A queued forwarder whose client went away.
  void withdraw(Forwarder& forwarder);
  // Starts the child ahead of requests (preload).
  void start();
  // Fails queued requests with `error` (the site is stopping).
  void refuse_waiters(const HttpError& error);
  // No new requests; SIGTERM, shutdown_time_limit, SIGKILL the group; `done` once the child is
  // gone and every connection to it is closed.
  void stop(std::function<void()> done);

  UpstreamPool& pool() { return pool_; }
  std::string_view token() const { return token_; }
  uint16_t port() const { return port_; }
  pid_t pid() const { return child_ ? child_->pid() : 0; }
  // True when the child that `generation` names has exited or is exiting.
  bool child_dead(uint32_t generation) const;
  // Appends a description of the child's death (and its last output) for a 502.5 page.
  void describe_crash(std::string& out) const;

 private:
  enum class State { kIdle, kStarting, kReady, kKilling, kStopping, kStopped };

  void begin_start();
  void spawn_attempt();
  void schedule_probe();
  void probe();
  void on_ready();
  void on_child_exit(int64_t exit_status, int term_signal);
  void on_startup_timeout();
  void fail_start(const std::string& detail);
  void fail_waiters(const HttpError& error);
  void check_stopped();
  std::string exit_text(int64_t exit_status, int term_signal) const;
  std::string output_excerpt() const;

  // The readiness probe is a connection whose user is the slot.
  void on_upstream_connect(UpstreamConnection& connection, int status) override;
  void on_upstream_data(UpstreamConnection& connection, Block* block, size_t len) override;
  void on_upstream_end(UpstreamConnection& connection, int status) override;
  void on_upstream_written(UpstreamConnection&, size_t, int) override {}

  ProxySite& site_;
  unsigned index_;
  State state_ = State::kIdle;
  std::unique_ptr<ChildProcess> child_;
  ChildOutput output_;
  UpstreamPool pool_;
  UpstreamConnection* probe_ = nullptr;
  Timer probe_timer_;
  Timer startup_timer_;
  Timer kill_timer_;
  IntrusiveList<Forwarder, &Forwarder::queue_hook> waiters_;
  std::string token_;
  std::string program_;
  uint16_t port_ = 0;
  uint32_t generation_ = 0;
  int attempt_ = 0;
  uint64_t start_time_ = 0;
  uint64_t probe_delay_ = 0;
  bool fixed_port_ = false;
  std::string last_exit_;  // how the last child ended
  std::function<void()> stop_done_;
};

}  // namespace sitehost::proxy
