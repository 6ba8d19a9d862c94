#include "shared/service/inherited_listeners.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "shared/net/listen_socket.h"

namespace sitehost::service {
namespace {

constexpr int kFirstFd = 3;  // SD_LISTEN_FDS_START

bool parse_number(std::string_view text, long& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out >= 0;
}

int socket_option(int fd, int level, int name) {
  int value = -1;
  socklen_t len = sizeof value;
  return ::getsockopt(fd, level, name, &value, &len) == 0 ? value : -1;
}

// The config's ip:port as a socket address; false when `ip` is no IP literal.
bool to_address(const std::string& ip, uint16_t port, sockaddr_storage& out) {
  out = {};
  if (ip.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&out);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    return inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr) == 1;
  }
  auto* a = reinterpret_cast<sockaddr_in*>(&out);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  return inet_pton(AF_INET, ip.c_str(), &a->sin_addr) == 1;
}

bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    const auto& x = reinterpret_cast<const sockaddr_in&>(a);
    const auto& y = reinterpret_cast<const sockaddr_in&>(b);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  const auto& x = reinterpret_cast<const sockaddr_in6&>(a);
  const auto& y = reinterpret_cast<const sockaddr_in6&>(b);
  return x.sin6_port == y.sin6_port &&
         std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0;
}

uint16_t port_of(const sockaddr_storage& a) {
  return ntohs(a.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in&>(a).sin_port
                                      : reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
}

std::string ip_of(const sockaddr_storage& a) {
  char text[INET6_ADDRSTRLEN] = {};
  const void* raw =
      a.ss_family == AF_INET
          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in&>(a).sin_addr)
          : &reinterpret_cast<const sockaddr_in6&>(a).sin6_addr;
  inet_ntop(a.ss_family, raw, text, sizeof text);
  return text;
}

}  // namespace

std::string InheritedListeners::Socket::describe() const {
  std::string out =
      fmt::format("fd {} {}", fd.get(), listener_key(ip_of(address), port_of(address)));
  if (!name.empty()) out += fmt::format(" ({})", name);
  return out;
}

std::string InheritedListeners::take(const char* listen_pid, const char* listen_fds,
                                     const char* listen_fdnames, pid_t pid) {
  long owner = 0;
  long count = 0;
  // Meant for another process (a parent that did not clean its environment): not ours to touch.
  if (!listen_pid || !parse_number(listen_pid, owner) || owner != pid) return {};
  if (!listen_fds || !parse_number(listen_fds, count) || count > 1024)
    return fmt::format("LISTEN_FDS={}: not a count of descriptors", listen_fds ? listen_fds : "");
  std::string_view names = listen_fdnames ? listen_fdnames : "";
  for (long i = 0; i < count; ++i) {
    size_t colon = names.find(':');
    std::string name(names.substr(0, colon));
    names = colon == std::string_view::npos ? std::string_view() : names.substr(colon + 1);
    std::string error = adopt(kFirstFd + static_cast<int>(i), std::move(name));
    if (!error.empty()) return error;
  }
  return {};
}

std::string InheritedListeners::adopt(int fd, std::string name) {
  Socket s{UniqueFd(fd), std::move(name), {}, false};
  std::string what =
      s.name.empty() ? fmt::format("fd {}", fd) : fmt::format("fd {} ({})", fd, s.name);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    s.fd.release();  // not open: nothing to close
    return fmt::format("socket activation: {}: {}", what, std::strerror(errno));
  }
  int family = socket_option(fd, SOL_SOCKET, SO_DOMAIN);
  bool tcp = S_ISSOCK(st.st_mode) && (family == AF_INET || family == AF_INET6) &&
             socket_option(fd, SOL_SOCKET, SO_TYPE) == SOCK_STREAM;
  if (!tcp || socket_option(fd, SOL_SOCKET, SO_ACCEPTCONN) != 1)
    return fmt::format(
        "socket activation: {} is not a listening TCP socket (ListenStream= with an IP address "
        "or port, and Accept=no, is what sitehost serves on)",
        what);
  socklen_t len = sizeof s.address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&s.address), &len) != 0)
    return fmt::format("socket activation: {}: getsockname: {}", what, std::strerror(errno));
  if (family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6&>(s.address);
    s.dual_stack =
        IN6_IS_ADDR_UNSPECIFIED(&a6.sin6_addr) && socket_option(fd, IPPROTO_IPV6, IPV6_V6ONLY) == 0;
  }
  // Ours alone from now on: not passed to children; libuv expects non-blocking sockets.
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  sockets_.push_back(std::move(s));
  return {};
}

int InheritedListeners::find(const std::string& ip, uint16_t port) const {
  sockaddr_storage want{};
  if (!to_address(ip, port, want)) return -1;
  for (size_t i = 0; i < sockets_.size(); ++i)
    if (same_address(sockets_[i].address, want)) return static_cast<int>(i);
  if (ip == "0.0.0.0")
    for (size_t i = 0; i < sockets_.size(); ++i)
      if (sockets_[i].dual_stack && port_of(sockets_[i].address) == port)
        return static_cast<int>(i);
  return -1;
}

int InheritedListeners::dup_for(const std::string& ip, uint16_t port, std::string* error) const {
  int i = find(ip, port);
  if (i < 0) {
    *error = fmt::format("listen {}: no inherited socket", listener_key(ip, port));
    return -1;
  }
  const Socket& s = sockets_[static_cast<size_t>(i)];
  int fd = ::fcntl(s.fd.get(), F_DUPFD_CLOEXEC, kFirstFd);
  if (fd < 0)
    *error = fmt::format("listen {}: dup of {}: {}", listener_key(ip, port), s.describe(),
                         std::strerror(errno));
  return fd;
}

std::string InheritedListeners::describe_for(const std::string& ip, uint16_t port) const {
  int i = find(ip, port);
  return i < 0 ? std::string() : sockets_[static_cast<size_t>(i)].describe();
}

std::vector<std::string> InheritedListeners::unused(
    const std::vector<std::pair<std::string, uint16_t>>& used) const {
  std::vector<bool> matched(sockets_.size(), false);
  for (const auto& [ip, port] : used)
    if (int i = find(ip, port); i >= 0) matched[static_cast<size_t>(i)] = true;
  std::vector<std::string> out;
  for (size_t i = 0; i < sockets_.size(); ++i)
    if (!matched[i]) out.push_back(sockets_[i].describe());
  return out;
}

}  // namespace sitehost::service
