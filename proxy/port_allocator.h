// Chooses the loopback port handed to a child as ASPNETCORE_PORT.
#pragma once

#include <cstdint>
#include <random>

namespace sitehost::proxy {

class PortAllocator {
 public:
  PortAllocator();

  // A random port in 10000–48000 outside the kernel's ephemeral range (so our own outgoing
  // connections never take it) on which nothing listens on 127.0.0.1 right now (up to 10 tries,
  // like ANCM); falls back to a kernel-chosen free port. 0 only when no socket can be bound.
  uint16_t allocate();

 private:
  static bool bindable(uint16_t port);

  std::mt19937 rng_;
  uint16_t low_ = 10000;
  uint16_t high_ = 48000;
};

}  // namespace sitehost::proxy
