// What sitehost tells its service manager over the notification socket (notify_socket.h), in
// the order systemd's Type=notify expects: READY=1 once the initial config is applied and every
// listener is open; RELOADING=1 (with MONOTONIC_USEC) when a reload starts and READY=1 when it
// has finished, whether it was applied or failed; STOPPING=1 when shutdown begins; STATUS= lines
// a person reads in `systemctl status`, refreshed every 5 s; WATCHDOG=1 at half of WATCHDOG_USEC
// while every event loop still answers; ERRNO= and STATUS= when the start fails.
// Every call does nothing when NOTIFY_SOCKET was not set. A failed send is logged once (warn),
// never fatal.
//
// Threads: the control thread only (its timers run on the control loop).
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "shared/log/logger.h"
#include "shared/net/uv_handle.h"
#include "shared/service/notify_socket.h"

namespace sitehost::service {

class ServiceNotifier {
 public:
  // "serving 2 sites, 14 connections, 1234 requests": the running state in a few words.
  using StatusFn = std::function<std::string()>;
  // Runs a task on every event loop and calls `alive` (on the control thread) once all ran it.
  using ProbeFn = std::function<void(std::function<void()> alive)>;

  // `watchdog`: WATCHDOG_USEC (0: no watchdog).
  ServiceNotifier(NotifySocket socket, std::chrono::microseconds watchdog, Logger& log);
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  bool enabled() const { return socket_.enabled(); }
  // The server is up: READY=1, STATUS=, MAINPID=; starts the status and watchdog timers on `loop`
  // (unreferenced: they never keep the loop running).
  void ready(uv_loop_t* loop, StatusFn status, ProbeFn probe);
  // A reload starts / has finished ("" or why it failed: the running config stays).
  void reloading();
  void reloaded(const std::string& error);
  // Shutdown begins: STOPPING=1 and `status`; the status timer ends (the watchdog goes on until
  // the process exits, as a slow drain is still alive).
  void stopping(const std::string& status);
  // The start failed: STATUS= with `reason`, ERRNO= with the errno it names (EINVAL if none).
  void start_failed(const std::string& reason);

 private:
  void send(const std::string& message);
  std::string status_line() const;
  void watchdog_tick();

  NotifySocket socket_;
  std::chrono::microseconds watchdog_;
  Logger& log_;
  StatusFn status_;
  ProbeFn probe_;
  UvTimer status_timer_;
  UvTimer watchdog_timer_;
  std::string reload_failure_;  // the last reload's error until one succeeds
  bool send_failed_ = false;
  bool probe_pending_ = false;  // a probe has not come back from every loop yet
  std::shared_ptr<ServiceNotifier*> self_ = std::make_shared<ServiceNotifier*>(this);
};

}  // namespace sitehost::service
