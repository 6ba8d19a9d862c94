// The sending side of systemd's notification protocol (sd_notify(3)), written out rather than
// linked from libsystemd: NOTIFY_SOCKET names an AF_UNIX datagram socket (a filesystem path, or
// an abstract name written "@name"); each message is one datagram of newline-separated
// VARIABLE=value assignments ("READY=1\nSTATUS=serving 2 sites").
//
// Threads: one owner; the sitehost binary uses it from the control thread only.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <string>
#include <string_view>

#include "shared/util/unique_fd.h"

namespace sitehost::service {

class NotifySocket {
 public:
  NotifySocket() = default;  // disabled: send() does nothing
  // From NOTIFY_SOCKET's value; disabled (and `*error` set) when it is not an address this
  // protocol knows; disabled without an error when `value` is empty.
  static NotifySocket open(std::string_view value, std::string* error);

  bool enabled() const { return fd_.get() >= 0; }
  // Sends one datagram. Returns "" or why it failed (never blocks: a full queue is a failure).
  std::string send(std::string_view message) const;

 private:
  UniqueFd fd_;
  sockaddr_un address_{};
  socklen_t address_length_ = 0;
  std::string name_;  // as NOTIFY_SOCKET spelled it, for messages
};

}  // namespace sitehost::service
