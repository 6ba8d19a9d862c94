#include "shared/service/service_notifier.h"

#include <unistd.h>

#include <cerrno>
#include <ctime>

#include <fmt/format.h>

namespace sitehost::service {
namespace {

constexpr uint64_t kStatusEveryMs = 5000;
constexpr size_t kMaxReason = 200;

// One line, at most kMaxReason bytes: STATUS= is one assignment and meant to be read at a glance.
std::string brief(const std::string& text) {
  std::string out = text.substr(0, text.find('\n'));
  if (out.size() > kMaxReason) out = out.substr(0, kMaxReason - 3) + "...";
  return out;
}

uint64_t monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

// The errno a start error names (by libuv's wording of it, as our errors carry), else EINVAL.
int errno_in(const std::string& reason) {
  for (int e : {EADDRINUSE, EADDRNOTAVAIL, EACCES, EPERM, ENOENT, EMFILE, ENOMEM})
    if (reason.find(uv_strerror(uv_translate_sys_error(e))) != std::string::npos) return e;
  return EINVAL;
}

}  // namespace

ServiceNotifier::ServiceNotifier(NotifySocket socket, std::chrono::microseconds watchdog,
                                 Logger& log)
    : socket_(std::move(socket)), watchdog_(watchdog), log_(log) {}

void ServiceNotifier::send(const std::string& message) {
  std::string error = socket_.send(message);
  if (error.empty() || send_failed_) return;
  send_failed_ = true;  // once: a manager that went away should not flood the log
  log_.warn("{} (further notification failures are not logged)", error);
}

std::string ServiceNotifier::status_line() const {
  std::string status = status_ ? status_() : std::string();
  if (reload_failure_.empty()) return status;
  return fmt::format("reload failed, running config kept: {}; {}", reload_failure_, status);
}

void ServiceNotifier::ready(uv_loop_t* loop, StatusFn status, ProbeFn probe) {
  if (!enabled()) return;
  status_ = std::move(status);
  probe_ = std::move(probe);
  send(fmt::format("READY=1\nSTATUS={}\nMAINPID={}", status_line(), ::getpid()));
  std::weak_ptr<ServiceNotifier*> weak = self_;
  status_timer_.init(loop, [weak] {
    if (auto self = weak.lock()) (*self)->send("STATUS=" + (*self)->status_line());
  });
  status_timer_.unref();
  status_timer_.start(kStatusEveryMs, kStatusEveryMs);
  if (watchdog_.count() <= 0) return;
  uint64_t every_ms = std::max<uint64_t>(1, static_cast<uint64_t>(watchdog_.count()) / 2000u);
  watchdog_timer_.init(loop, [weak] {
    if (auto self = weak.lock()) (*self)->watchdog_tick();
  });
  watchdog_timer_.unref();
  watchdog_timer_.start(every_ms, every_ms);
}

void ServiceNotifier::watchdog_tick() {
  // A loop that has not answered the previous probe is stuck: no WATCHDOG=1, and the service
  // manager restarts us once WATCHDOG_USEC passes without one.
  if (probe_pending_) return;
  probe_pending_ = true;
  std::weak_ptr<ServiceNotifier*> weak = self_;
  probe_([weak] {
    if (auto self = weak.lock()) {
      (*self)->probe_pending_ = false;
      (*self)->send("WATCHDOG=1");
    }
  });
}

void ServiceNotifier::reloading() {
  if (!enabled()) return;
  send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=reloading the configuration",
                   monotonic_usec()));
}

void ServiceNotifier::reloaded(const std::string& error) {
  if (!enabled()) return;
  reload_failure_ = error.empty() ? std::string() : brief(error);
  send("READY=1\nSTATUS=" + status_line());
}

void ServiceNotifier::stopping(const std::string& status) {
  if (!enabled()) return;
  status_timer_.close();
  send("STOPPING=1\nSTATUS=" + brief(status));
}

void ServiceNotifier::start_failed(const std::string& reason) {
  if (!enabled()) return;
  send(fmt::format("STATUS=failed to start: {}\nERRNO={}", brief(reason), errno_in(reason)));
}

}  // namespace sitehost::service
