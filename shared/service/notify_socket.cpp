#include "shared/service/notify_socket.h"

#include <cerrno>
#include <cstddef>
#include <cstring>

#include <fmt/format.h>

namespace sitehost::service {

NotifySocket NotifySocket::open(std::string_view value, std::string* error) {
  NotifySocket out;
  if (value.empty()) return out;
  // "/path" or "@abstract" (the '@' stands for the leading NUL byte of an abstract address);
  // systemd also knows "vsock:", which a service on this host never gets.
  if ((value.front() != '/' && value.front() != '@') || value.size() < 2 ||
      value.size() >= sizeof out.address_.sun_path) {
    *error = fmt::format("NOTIFY_SOCKET={}: not a unix socket path or @abstract name", value);
    return out;
  }
  out.address_.sun_family = AF_UNIX;
  std::memcpy(out.address_.sun_path, value.data(), value.size());
  if (value.front() == '@') out.address_.sun_path[0] = '\0';
  // An abstract name's length is exactly its bytes (no terminating NUL); a path's ends at its NUL.
  out.address_length_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + value.size() +
                                               (value.front() == '/' ? 1 : 0));
  out.fd_ = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!out.enabled()) *error = fmt::format("NOTIFY_SOCKET: socket: {}", std::strerror(errno));
  out.name_ = std::string(value);
  return out;
}

std::string NotifySocket::send(std::string_view message) const {
  if (!enabled()) return {};
  ssize_t n = ::sendto(fd_.get(), message.data(), message.size(), MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(&address_), address_length_);
  if (n == static_cast<ssize_t>(message.size())) return {};
  return fmt::format("notifying {}: {}", name_, n < 0 ? std::strerror(errno) : "short send");
}

}  // namespace sitehost::service
