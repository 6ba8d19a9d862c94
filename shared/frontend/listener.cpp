#include "shared/frontend/listener.h"

#include <fmt/format.h>

#include "shared/frontend/connection.h"
#include "shared/frontend/server.h"

namespace sitehost {

std::string listener_key(const std::string& ip, uint16_t port) {
  return ip.find(':') != std::string::npos ? fmt::format("[{}]:{}", ip, port)
                                           : fmt::format("{}:{}", ip, port);
}

Listener::Listener(Server& server, std::string ip, uint16_t port)
    : server_(server), ip_(std::move(ip)), port_(port), key_(listener_key(ip_, port)) {}

Listener::~Listener() = default;

std::string Listener::open() {
  sockaddr_storage addr{};
  int r = ip_.find(':') != std::string::npos
              ? uv_ip6_addr(ip_.c_str(), port_, reinterpret_cast<sockaddr_in6*>(&addr))
              : uv_ip4_addr(ip_.c_str(), port_, reinterpret_cast<sockaddr_in*>(&addr));
  if (r != 0) return fmt::format("listen {}: bad address: {}", key_, uv_strerror(r));
  uv_tcp_init(server_.loop(), &tcp_);
  initialized_ = true;
  tcp_.data = this;
  r = uv_tcp_bind(&tcp_, reinterpret_cast<sockaddr*>(&addr), 0);
  if (r == 0) r = uv_listen(reinterpret_cast<uv_stream_t*>(&tcp_), 511, &Listener::on_connection);
  if (r != 0) return fmt::format("listen {}: {}", key_, uv_strerror(r));
  return {};
}

void Listener::on_connection(uv_stream_t* stream, int status) {
  auto* self = static_cast<Listener*>(stream->data);
  if (status < 0) {
    self->server_.log().warn("accept on {}: {}", self->key_, uv_strerror(status));
    return;
  }
  self->pending_ = true;
  self->server_.on_listener_ready(self);
}

bool Listener::accept_pending(Connection& connection) {
  if (!pending_ || closing_) return false;
  pending_ = false;
  return connection.accept(reinterpret_cast<uv_stream_t*>(&tcp_));
}

void Listener::close() {
  if (closing_) return;
  closing_ = true;
  if (!initialized_) {
    closed_ = true;
    return;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Listener::on_close);
}

void Listener::on_close(uv_handle_t* handle) { static_cast<Listener*>(handle->data)->closed_ = true; }

}  // namespace sitehost
