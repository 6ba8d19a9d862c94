#include "proxy/upstream_pool.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <memory>

#include "shared/net/socket_send.h"

namespace sitehost::proxy {
namespace {

// Drops the connection's reference to a write block without returning it to its BufferPool.
void discard(Block* block) {
  if (--block->refs == 0) std::unique_ptr<Block> owned(block);
}

}  // namespace

UpstreamConnection::UpstreamConnection(UpstreamPool& pool, uint32_t generation)
    : pool_(&pool), generation_(generation) {}

int UpstreamConnection::write(Block* block) {
  if (closing_) {
    block->release();
    return UV_ECANCELED;
  }
  uv_buf_t buf = uv_buf_init(block->data, static_cast<unsigned>(block->size));
  if (queued_bytes_ == 0) {
    // Try the socket first: a uv_write that completes at once still costs an epoll_ctl (libuv
    // re-arms the watcher when its write queue drains), one more syscall per proxied request.
    // An error goes on to uv_write, which reports it through on_write.
    int n = send_now(stream(), &buf, 1, block->size);
    if (n == static_cast<int>(block->size)) {
      block->release();
      return 0;
    }
    if (n > 0) {  // the rest goes through the queue
      block->size -= static_cast<size_t>(n);
      std::memmove(block->data, block->data + n, block->size);
      buf = uv_buf_init(block->data, static_cast<unsigned>(block->size));
    }
  }
  block->write_req.data = this;
  int r = uv_write(&block->write_req, stream(), &buf, 1, &UpstreamConnection::on_write);
  if (r != 0) {
    block->release();
    return r;
  }
  queued_bytes_ += block->size;
  return 0;
}

void UpstreamConnection::on_write(uv_write_t* req, int status) {
  Block* block = Block::from_write(req);
  auto* self = static_cast<UpstreamConnection*>(req->data);
  size_t bytes = block->size;
  self->queued_bytes_ -= bytes;
  if (self->pool_)
    block->release();
  else
    discard(block);  // cancelled by the close after the pool went: so may its BufferPool
  if (self->user_) self->user_->on_upstream_written(*self, bytes, status);
}

void UpstreamConnection::read_start() {
  if (reading_ || closing_) return;
  if (uv_read_start(stream(), &UpstreamConnection::on_alloc, &UpstreamConnection::on_read) == 0)
    reading_ = true;
}

void UpstreamConnection::read_stop() {
  if (!reading_ || closing_) return;
  uv_read_stop(stream());
  reading_ = false;
}

void UpstreamConnection::shutdown_write() {
  if (closing_ || shutting_down_) return;
  shutting_down_ = true;
  shutdown_req_.data = this;
  uv_shutdown(&shutdown_req_, stream(), &UpstreamConnection::on_shutdown);
}

void UpstreamConnection::on_shutdown(uv_shutdown_t*, int) {}

void UpstreamConnection::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<UpstreamConnection*>(handle->data);
  Block* block = self->pool_->buffers().acquire();
  *buf = uv_buf_init(block->data, Block::kCapacity);
}

void UpstreamConnection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<UpstreamConnection*>(stream->data);
  Block* block = buf->base ? Block::from_data(buf->base) : nullptr;
  if (nread > 0) {
    block->size = static_cast<size_t>(nread);
    UpstreamUser* user = self->user_ ? self->user_ : self->pool_;
    user->on_upstream_data(*self, block, static_cast<size_t>(nread));
    return;
  }
  if (block) block->release();
  if (nread == 0) return;
  uv_read_stop(stream);
  self->reading_ = false;
  UpstreamUser* user = self->user_ ? self->user_ : self->pool_;
  user->on_upstream_end(*self, static_cast<int>(nread));
}

void UpstreamConnection::close() {
  if (closing_) return;
  closing_ = true;
  user_ = nullptr;
  reading_ = false;
  pool_->idle_.remove(this);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &UpstreamConnection::on_close);
}

void UpstreamConnection::on_close(uv_handle_t* handle) {
  auto* self = static_cast<UpstreamConnection*>(handle->data);
  if (self->pool_)
    self->pool_->on_closed(self);
  else
    std::unique_ptr<UpstreamConnection> owned(self);  // detached by ~UpstreamPool
}

void UpstreamConnection::on_connect(uv_connect_t* req, int status) {
  auto* self = static_cast<UpstreamConnection*>(req->data);
  if (status == UV_ECANCELED || self->closing_) return;
  if (status == 0) uv_tcp_nodelay(&self->tcp_, 1);
  if (self->user_) self->user_->on_upstream_connect(*self, status);
}

UpstreamPool::UpstreamPool(uv_loop_t* loop, BufferPool& buffers) : loop_(loop), buffers_(buffers) {}

UpstreamPool::~UpstreamPool() {
  // Normally empty: the site's stop() waits for live() == 0 before the pool can go. A pool
  // destroyed earlier (a forced shutdown) closes what is left and detaches it: the close
  // callbacks run in a later uv_run and free the connections without the pool.
  while (UpstreamConnection* c = all_.pop_front()) {
    c->close();  // no-op when already closing; unlinks it from idle_
    c->pool_ = nullptr;
  }
}

void UpstreamPool::set_target(uint16_t port, uint32_t generation) {
  port_ = port;
  generation_ = generation;
}

UpstreamConnection* UpstreamPool::take_idle() {
  while (UpstreamConnection* c = idle_.pop_front()) {
    if (uv_now(loop_) - c->idle_since_ < kPeekAfterMs) {
      c->user_ = nullptr;
      return c;
    }
    uv_os_fd_t fd;
    char byte;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&c->tcp_), &fd) == 0 &&
        ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
        (errno == EAGAIN || errno == EWOULDBLOCK)) {
      c->user_ = nullptr;
      return c;
    }
    c->close();  // closed by the child (or talking out of turn)
  }
  return nullptr;
}

UpstreamConnection* UpstreamPool::open(UpstreamUser& user, int* error) {
  auto owned = std::make_unique<UpstreamConnection>(*this, generation_);
  UpstreamConnection* c = owned.get();
  int r = uv_tcp_init(loop_, &c->tcp_);
  if (r != 0) {
    *error = r;
    return nullptr;  // never initialised: freed here
  }
  c->tcp_.data = c;
  c->connect_req_.data = c;
  c->user_ = &user;
  owned.release();  // from now on freed by its close callback
  ++live_;
  all_.push_back(c);
  sockaddr_in addr{};
  uv_ip4_addr("127.0.0.1", port_, &addr);
  r = uv_tcp_connect(&c->connect_req_, &c->tcp_, reinterpret_cast<const sockaddr*>(&addr),
                     &UpstreamConnection::on_connect);
  if (r != 0) {
    *error = r;
    c->close();
    return nullptr;
  }
  return c;
}

void UpstreamPool::put_idle(UpstreamConnection* c) {
  if (c->closing_) return;
  if (c->generation_ != generation_ || idle_.size() >= kMaxIdle || c->queued_bytes_ != 0) {
    c->close();
    return;
  }
  ++c->uses_;
  c->idle_since_ = uv_now(loop_);
  c->user_ = nullptr;
  idle_.push_front(c);
  c->read_start();  // notice a close by the child while idle
}

void UpstreamPool::close_idle() {
  while (UpstreamConnection* c = idle_.front()) c->close();
}

void UpstreamPool::on_upstream_data(UpstreamConnection& c, Block* block, size_t) {
  block->release();
  c.close();  // an idle connection must not talk
}

void UpstreamPool::on_upstream_end(UpstreamConnection& c, int) {
  c.close();
}

void UpstreamPool::on_closed(UpstreamConnection* c) {
  all_.remove(c);
  std::unique_ptr<UpstreamConnection> owned(c);
  owned.reset();
  if (--live_ == 0 && on_empty_) {
    auto fn = on_empty_;
    fn();
  }
}

}  // namespace sitehost::proxy
