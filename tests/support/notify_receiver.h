// The service manager's end of sd_notify(3) for tests: a bound AF_UNIX datagram socket whose
// address goes into sitehost's NOTIFY_SOCKET, and what arrives on it, one datagram per message.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/harness.h"

namespace sitehost::test {

class NotifyReceiver {
 public:
  // Bound at `path` (a filesystem socket), or, when `path` starts with '@', at that abstract name.
  explicit NotifyReceiver(const std::string& path);
  ~NotifyReceiver();
  NotifyReceiver(const NotifyReceiver&) = delete;
  NotifyReceiver& operator=(const NotifyReceiver&) = delete;

  // The value for NOTIFY_SOCKET.
  const std::string& address() const { return address_; }
  // The next datagram within `timeout`; nullopt when none came.
  std::optional<std::string> next(Ms timeout = 10s);
  // The next datagram that is not a periodic one (STATUS= alone, WATCHDOG=1): READY=1,
  // RELOADING=1, STOPPING=1, ... Periodic ones that came first are kept in periodic().
  std::optional<std::string> next_event(Ms timeout = 10s);
  // Reads until a datagram carries `assignment` (e.g. "WATCHDOG=1") as one of its lines.
  std::optional<std::string> wait_for(const std::string& assignment, Ms timeout = 10s);
  const std::vector<std::string>& periodic() const { return periodic_; }

 private:
  int fd_ = -1;
  std::string address_;
  std::filesystem::path path_;  // removed when done (empty for an abstract name)
  std::vector<std::string> periodic_;
};

// The value NAME has in `message` ("READY=1\nSTATUS=x" → "x" for STATUS); nullopt when absent.
std::optional<std::string> notify_value(const std::string& message, const std::string& name);

// CLOCK_MONOTONIC in microseconds, as MONOTONIC_USEC= carries it.
uint64_t monotonic_usec();

}  // namespace sitehost::test
