// HAProxy (Debian's haproxy) in front of sitehost instances, for the operations tests: the config
// docs/scale-out.md shows, written to a temp dir, the process tracked by PID, and the server
// states read from its stats socket.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/harness.h"

namespace sitehost::test {

// The haproxy binary (PATH, then /usr/sbin), or empty when it is not installed.
std::filesystem::path haproxy_binary();

struct Backend {
  std::string name;     // the server's name in HAProxy (stats, logs)
  uint16_t port = 0;    // where it serves
  uint16_t health = 0;  // its health endpoint (sitehost's [server] health)
};

class HaProxy {
 public:
  // Writes dir/haproxy.cfg (a frontend on 127.0.0.1:port, one backend with `servers`) and starts
  // haproxy in the foreground. Does not wait.
  HaProxy(const TempDir& dir, uint16_t port, const std::vector<Backend>& servers);
  HaProxy(const HaProxy&) = delete;
  HaProxy& operator=(const HaProxy&) = delete;

  static std::string config(const std::filesystem::path& stats_socket, uint16_t port,
                            const std::vector<Backend>& servers);
  // A server's state as its health checks see it: "UP", "DOWN", "MAINT", ... or nullopt when
  // the stats socket does not answer.
  std::optional<std::string> server_status(const std::string& server) const;
  bool wait_status(const std::string& server, const std::string& status, Ms timeout) const;
  Process& process() { return process_; }
  std::string log() const { return process_.output(); }

 private:
  std::filesystem::path stats_socket_;
  Process process_;
};

}  // namespace sitehost::test
