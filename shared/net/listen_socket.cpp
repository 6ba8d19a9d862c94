#include "shared/net/listen_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>
#include <uv.h>

#include "shared/util/unique_fd.h"

namespace sitehost {

std::string listener_key(const std::string& ip, uint16_t port) {
  return ip.find(':') != std::string::npos ? fmt::format("[{}]:{}", ip, port)
                                           : fmt::format("{}:{}", ip, port);
}

int open_listen_socket(const std::string& ip, uint16_t port, bool reuseport, std::string* error) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  bool v6 = ip.find(':') != std::string::npos;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    len = inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr) == 1 ? sizeof *a : 0;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    len = inet_pton(AF_INET, ip.c_str(), &a->sin_addr) == 1 ? sizeof *a : 0;
  }
  if (len == 0) {
    *error = fmt::format("listen {}: bad address", listener_key(ip, port));
    return -1;
  }
  UniqueFd fd(::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  auto fail = [&](const char* what) {
    *error = fmt::format("listen {}: {}: {}", listener_key(ip, port), what,
                         uv_strerror(uv_translate_sys_error(errno)));
    return -1;
  };
  if (fd.get() < 0) return fail("socket");
  int on = 1;
  // As libuv's uv_tcp_bind: SO_REUSEADDR (restart while old connections linger in TIME_WAIT).
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0)
    return fail("SO_REUSEADDR");
  if (reuseport && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0)
    return fail("SO_REUSEPORT");
  // "::" serves IPv4 too (dual stack), as libuv's bind without UV_TCP_IPV6ONLY.
  if (v6) {
    int off = 0;
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    // Worded as libuv words it ("address already in use").
    *error = fmt::format("listen {}: {}", listener_key(ip, port),
                         uv_strerror(uv_translate_sys_error(errno)));
    return -1;
  }
  if (::listen(fd.get(), 511) != 0) return fail("listen");
  return fd.release();
}

}  // namespace sitehost
