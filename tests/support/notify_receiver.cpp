#include "tests/support/notify_receiver.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace sitehost::test {

NotifyReceiver::NotifyReceiver(const std::string& path) : address_(path) {
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (fd_ < 0 || path.size() < 2 || path.size() >= sizeof addr.sun_path)
    throw std::runtime_error("NotifyReceiver: bad address " + path);
  std::memcpy(addr.sun_path, path.data(), path.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  if (path.front() == '@') {
    addr.sun_path[0] = '\0';  // abstract: exactly the name's bytes
  } else {
    path_ = path;
    ++len;
  }
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0)
    throw std::runtime_error("NotifyReceiver: bind " + path + ": " + std::strerror(errno));
}

NotifyReceiver::~NotifyReceiver() {
  if (fd_ >= 0) ::close(fd_);
  if (!path_.empty()) ::unlink(path_.c_str());
}

std::optional<std::string> NotifyReceiver::next(Ms timeout) {
  pollfd p{fd_, POLLIN, 0};
  int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (ready <= 0) return std::nullopt;
  char buf[4096];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

std::optional<std::string> NotifyReceiver::next_event(Ms timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) return std::nullopt;
    auto message = next(left);
    if (!message) return std::nullopt;
    bool status_only =
        message->rfind("STATUS=", 0) == 0 && message->find('\n') == std::string::npos;
    if (!status_only && *message != "WATCHDOG=1") return message;
    periodic_.push_back(*message);
  }
}

std::optional<std::string> NotifyReceiver::wait_for(const std::string& assignment, Ms timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t eq = assignment.find('=');
  for (;;) {
    auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) return std::nullopt;
    auto message = next(left);
    if (!message) return std::nullopt;
    if (notify_value(*message, assignment.substr(0, eq)) == assignment.substr(eq + 1))
      return message;
  }
}

std::optional<std::string> notify_value(const std::string& message, const std::string& name) {
  size_t at = 0;
  while (at <= message.size()) {
    size_t end = message.find('\n', at);
    if (end == std::string::npos) end = message.size();
    std::string line = message.substr(at, end - at);
    if (line.rfind(name + "=", 0) == 0) return line.substr(name.size() + 1);
    at = end + 1;
  }
  return std::nullopt;
}

uint64_t monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

}  // namespace sitehost::test
