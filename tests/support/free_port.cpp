// free_port(): ports for the servers tests start, reserved across concurrent test processes.
//
// Why not bind(0): the kernel then hands out a port from the ephemeral range, which it also uses
// for the source ports of outgoing connections; between the probe's close() and the server's
// bind() another test's client could take it (seen as a server that never answered under
// `ctest -j2`). So ports come from a window just below the ephemeral range, and each one is
// reserved for the life of the test process by an flock()ed file in a shared folder, so that two
// test processes never pick the same port.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/harness.h"

namespace sitehost::test {
namespace {

// The process's reservations: the lock files stay open (and locked) until the process exits.
class PortReservations {
 public:
  uint16_t take() {
    std::lock_guard guard(mutex_);
    auto [low, high] = window();
    std::uniform_int_distribution<uint32_t> pick(low, high - 1);
    for (int attempt = 0; attempt < 2000; ++attempt) {
      auto port = static_cast<uint16_t>(pick(random_));
      if (taken_.count(port) || !bindable(port) || !lock(port)) continue;
      taken_.insert(port);
      return port;
    }
    throw std::runtime_error("free_port: no free port below the ephemeral range");
  }

 private:
  // [low, high): up to 12000 ports below the first ephemeral port.
  static std::pair<uint32_t, uint32_t> window() {
    uint32_t first_ephemeral = 32768;
    std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
    range >> first_ephemeral;
    uint32_t high = first_ephemeral > 2048 ? first_ephemeral : 32768;
    uint32_t low = high > 13024 ? high - 12000 : 1024;
    return {low, high};
  }

  static bool bindable(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
  }

  bool lock(uint16_t port) {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / "sitehost-test-ports";
    ::mkdir(dir.c_str(), 01777);
    ::chmod(dir.c_str(), 01777);  // shared by every user's test runs, like /tmp
    std::string file = (dir / std::to_string(port)).string();
    int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return false;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return false;
    }
    locks_.push_back(fd);
    return true;
  }

  std::mutex mutex_;
  std::mt19937 random_{std::random_device{}() ^ static_cast<uint32_t>(::getpid())};
  std::set<uint16_t> taken_;
  std::vector<int> locks_;  // held until exit: the kernel drops the locks with the process
};

}  // namespace

uint16_t free_port() {
  static PortReservations reservations;
  return reservations.take();
}

}  // namespace sitehost::test
