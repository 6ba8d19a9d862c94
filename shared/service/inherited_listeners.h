// Socket activation (sd_listen_fds(3), written out): when LISTEN_PID is our pid, LISTEN_FDS=n
// listening sockets were passed as descriptors 3 .. 3+n-1, optionally named by LISTEN_FDNAMES
// ("a:b:..."). The server uses such a socket in place of binding the address it is bound to.
//
// Every event loop needs a socket of its own per address: each gets a dup() of the inherited one,
// so they share one accept queue. No extra SO_REUSEPORT socket is opened beside it: connections
// the kernel queued on such a socket would be reset when this process exits, while those queued
// on the inherited socket wait there (the service manager keeps its copy) for the next start.
// The originals are kept here for the owner's lifetime (the server's), so a reload that drops an
// address and adds it back finds it again, and no reload closes one for good.
//
// Threads: built in main() before any thread starts; then the control thread only.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "shared/util/unique_fd.h"

namespace sitehost::service {

class InheritedListeners {
 public:
  InheritedListeners() = default;
  // Takes over the descriptors LISTEN_PID / LISTEN_FDS / LISTEN_FDNAMES (their values, as read
  // from the environment; null = unset) pass to process `pid`: each must be a listening TCP
  // socket (it gets FD_CLOEXEC and O_NONBLOCK). Returns "" or an error naming the descriptor.
  std::string take(const char* listen_pid, const char* listen_fds, const char* listen_fdnames,
                   pid_t pid);

  bool empty() const { return sockets_.empty(); }
  size_t size() const { return sockets_.size(); }
  // Whether a socket was inherited for ip:port (`ip` as the config writes it: "0.0.0.0", "::1").
  bool has(const std::string& ip, uint16_t port) const { return find(ip, port) >= 0; }
  // A new descriptor (FD_CLOEXEC) on the socket inherited for ip:port, or -1 with `*error` set.
  int dup_for(const std::string& ip, uint16_t port, std::string* error) const;
  // How the inherited socket for ip:port is known: "fd 3 [::]:8080 (name)".
  std::string describe_for(const std::string& ip, uint16_t port) const;
  // The inherited sockets that none of `used` (ip, port) matches, described as above.
  std::vector<std::string> unused(const std::vector<std::pair<std::string, uint16_t>>& used) const;

 private:
  struct Socket {
    UniqueFd fd;
    std::string name;          // from LISTEN_FDNAMES ("" when not given)
    sockaddr_storage address;  // getsockname()
    bool dual_stack = false;   // an IPv6 wildcard that takes IPv4 too (IPV6_V6ONLY off)
    std::string describe() const;
  };
  // The index of the socket for ip:port, -1 if none: the same address, else (for the IPv4
  // wildcard) a dual-stack IPv6 wildcard on that port, as systemd's plain ListenStream=PORT makes.
  int find(const std::string& ip, uint16_t port) const;
  std::string adopt(int fd, std::string name);

  std::vector<Socket> sockets_;
};

}  // namespace sitehost::service
