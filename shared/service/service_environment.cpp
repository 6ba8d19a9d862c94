#include "shared/service/service_environment.h"

#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "shared/service/journal_stream.h"

namespace sitehost::service {
namespace {

constexpr const char* kVariables[] = {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
                                      "LISTEN_PID",    "LISTEN_FDS",    "LISTEN_FDNAMES",
                                      "JOURNAL_STREAM"};

std::string_view env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// WATCHDOG_USEC, unless WATCHDOG_PID names another process; 0 when unset or malformed.
std::chrono::microseconds watchdog_interval(pid_t pid) {
  std::string_view usec = env("WATCHDOG_USEC");
  std::string_view owner = env("WATCHDOG_PID");
  if (!owner.empty() && owner != std::to_string(pid)) return {};
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(usec.data(), usec.data() + usec.size(), value);
  if (ec != std::errc() || end != usec.data() + usec.size() || value == 0) return {};
  return std::chrono::microseconds(value);
}

}  // namespace

ServiceEnvironment take_service_environment() {
  ServiceEnvironment out;
  pid_t pid = ::getpid();
  out.notify = NotifySocket::open(env("NOTIFY_SOCKET"), &out.notify_error);
  out.watchdog = watchdog_interval(pid);
  out.listeners_error = out.listeners.take(std::getenv("LISTEN_PID"), std::getenv("LISTEN_FDS"),
                                           std::getenv("LISTEN_FDNAMES"), pid);
  out.journal_stderr = is_journal_stream(env("JOURNAL_STREAM"), STDERR_FILENO);
  for (const char* name : kVariables) ::unsetenv(name);
  return out;
}

}  // namespace sitehost::service
