#include "proxy/port_allocator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

namespace sitehost::proxy {
namespace {

uint32_t random_seed() {
  uint32_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) != sizeof seed) seed = static_cast<uint32_t>(getpid());
  return seed;
}

// Binds 127.0.0.1:port (0 = any) and returns the bound port, or 0.
uint16_t bind_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  uint16_t bound = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      bound = ntohs(addr.sin_port);
  }
  ::close(fd);
  return bound;
}

}  // namespace

PortAllocator::PortAllocator() : rng_(random_seed()) {
  // Stay below the ephemeral range when it starts inside ours (Linux default 32768–60999).
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  unsigned first = 0, last = 0;
  if (range >> first >> last && first > low_ + 1000u && first <= high_) high_ = first - 1;
}

bool PortAllocator::bindable(uint16_t port) {
  return bind_loopback(port) == port;
}

uint16_t PortAllocator::allocate() {
  std::uniform_int_distribution<unsigned> pick(low_, high_);
  for (int i = 0; i < 10; ++i) {
    auto port = static_cast<uint16_t>(pick(rng_));
    if (bindable(port)) return port;
  }
  return bind_loopback(0);
}

}  // namespace sitehost::proxy
