// What a service manager (systemd) hands sitehost through its environment, read once in main():
// the notification socket (notify_socket.h), the watchdog interval, the sockets of socket
// activation (inherited_listeners.h) and whether stderr is the journal (journal_stream.h).
#pragma once

#include <chrono>
#include <string>

#include "shared/service/inherited_listeners.h"
#include "shared/service/notify_socket.h"

namespace sitehost::service {

struct ServiceEnvironment {
  NotifySocket notify;
  std::string notify_error;  // NOTIFY_SOCKET was set but unusable
  // WATCHDOG_USEC when it is meant for us (WATCHDOG_PID absent or our pid); 0 = no watchdog.
  std::chrono::microseconds watchdog{0};
  InheritedListeners listeners;
  std::string listeners_error;  // an inherited descriptor sitehost cannot serve on
  bool journal_stderr = false;  // stderr is the journal stream JOURNAL_STREAM names
};

// Reads the variables, then removes them all from the environment (NOTIFY_SOCKET, WATCHDOG_USEC,
// WATCHDOG_PID, LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES, JOURNAL_STREAM): they describe this
// process alone. Out-of-process children inherit the environment, and a child must neither
// notify on our socket nor take its stdout (one of our pipes) for the journal. Call it before
// any thread starts (unsetenv is not thread-safe).
ServiceEnvironment take_service_environment();

}  // namespace sitehost::service
