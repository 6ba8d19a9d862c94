#include "shared/frontend/worker/listener.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "shared/frontend/worker/connection.h"
#include "shared/frontend/worker/worker.h"

namespace sitehost {

Listener::Listener(Worker& worker, std::string key, uint16_t port, bool inherited)
    : worker_(worker), port_(port), key_(std::move(key)), inherited_(inherited) {}

Listener::~Listener() = default;

std::string Listener::open(int fd) {
  uv_tcp_init(worker_.loop(), &tcp_);
  initialized_ = true;
  tcp_.data = this;
  int r = uv_tcp_open(&tcp_, fd);
  if (r != 0) {
    ::close(fd);
    return fmt::format("listen {}: {}", key_, uv_strerror(r));
  }
  r = uv_listen(reinterpret_cast<uv_stream_t*>(&tcp_), 511, &Listener::on_connection);
  if (r != 0) return fmt::format("listen {}: {}", key_, uv_strerror(r));
  return {};
}

void Listener::on_connection(uv_stream_t* stream, int status) {
  auto* self = static_cast<Listener*>(stream->data);
  if (status < 0) {
    self->worker_.log().warn("accept on {}: {}", self->key_, uv_strerror(status));
    return;
  }
  self->pending_ = true;
  self->worker_.on_listener_ready(self);
}

bool Listener::accept_pending(Connection& connection) {
  if (!pending_ || closing_) return false;
  pending_ = false;
  return connection.accept(reinterpret_cast<uv_stream_t*>(&tcp_));
}

void Listener::accept_backlog() {
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&tcp_), &fd) != 0) return;
  // libuv may hold one connection it accepted already (left pending at max_connections).
  if (pending_) worker_.accept_now(this);
  if (inherited_) return;  // the queue is left to the next listener
  for (;;) {
    int c = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN: the queue is empty
    }
    worker_.adopt(c, port_, tls_);
  }
}

void Listener::close() {
  if (closing_) return;
  if (!initialized_) {
    closing_ = closed_ = true;
    return;
  }
  accept_backlog();
  closing_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Listener::on_close);
}

void Listener::on_close(uv_handle_t* handle) {
  static_cast<Listener*>(handle->data)->closed_ = true;
}

}  // namespace sitehost
