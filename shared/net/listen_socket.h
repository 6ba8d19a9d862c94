// Listening TCP sockets, opened by the control thread and handed to event loops (which take them
// over with uv_tcp_open). Debian's libuv 1.44 has no UV_TCP_REUSEPORT, hence socket() +
// setsockopt() + bind() + listen() here.
#pragma once

#include <cstdint>
#include <string>

namespace sitehost {

// "127.0.0.1:8080" / "[::1]:8080": how listeners are named in logs, /status and errors.
std::string listener_key(const std::string& ip, uint16_t port);

// A bound, listening, non-blocking socket on ip:port, or -1 with `*error` set ("listen KEY: ...").
// `reuseport`: SO_REUSEPORT, so that every event loop has a socket of its own on the address and
// the kernel spreads new connections over them.
int open_listen_socket(const std::string& ip, uint16_t port, bool reuseport, std::string* error);

}  // namespace sitehost
