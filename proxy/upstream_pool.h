// Keep-alive connections to one child process.
//
// An UpstreamConnection is one loopback TCP connection to the child. Whoever uses it (a forwarder,
// a tunnel, the readiness probe) attaches as its UpstreamUser; idle connections belong to the pool,
// which keeps reading them so a close by the child is noticed at once. A connection is reused
// only when its user hands it back after a clean exchange (put_idle); everything else closes it.
// Connection objects free themselves in their close callback; the pool counts them until then
// (stop waits for live() == 0). A pool destroyed before that (a forced shutdown) closes them and
// detaches them: their callbacks then touch neither the pool nor its BufferPool.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>

#include "proxy/buffer_pool.h"
#include "proxy/intrusive_list.h"

namespace sitehost::proxy {

class UpstreamConnection;

class UpstreamUser {
 public:
  virtual void on_upstream_connect(UpstreamConnection& connection, int status) = 0;
  // `len` new bytes at block->data; the user owns one reference to `block`.
  virtual void on_upstream_data(UpstreamConnection& connection, Block* block, size_t len) = 0;
  // UV_EOF, or a libuv error (ECONNRESET...). Reading has stopped.
  virtual void on_upstream_end(UpstreamConnection& connection, int status) = 0;
  virtual void on_upstream_written(UpstreamConnection& connection, size_t bytes, int status) = 0;

 protected:
  ~UpstreamUser() = default;
};

class UpstreamPool;

class UpstreamConnection {
 public:
  // Created only by UpstreamPool::open().
  UpstreamConnection(UpstreamPool& pool, uint32_t generation);
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  void attach(UpstreamUser* user) { user_ = user; }
  // Sends block->data[0, size) and takes over the caller's reference to `block`. The user's
  // on_upstream_written runs for the bytes that had to be queued, not for those the socket took
  // at once (the queue was empty then, and stays so).
  int write(Block* block);
  void read_start();
  void read_stop();
  // Half-close after the queued writes (tunnels).
  void shutdown_write();
  // Closes now (queued writes are dropped); the object is freed in the close callback.
  void close();

  bool closing() const { return closing_; }
  uint32_t generation() const { return generation_; }
  uint32_t uses() const { return uses_; }
  size_t write_queue_bytes() const { return queued_bytes_; }

  ListHook<UpstreamConnection> idle_hook;
  ListHook<UpstreamConnection> all_hook;

 private:
  friend class UpstreamPool;

  static void on_connect(uv_connect_t* req, int status);
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);
  static void on_shutdown(uv_shutdown_t* req, int status);
  static void on_close(uv_handle_t* handle);
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }

  uv_tcp_t tcp_;
  uv_connect_t connect_req_;
  uv_shutdown_t shutdown_req_;
  UpstreamPool* pool_;  // null once detached by ~UpstreamPool
  UpstreamUser* user_ = nullptr;
  uint32_t generation_;
  uint32_t uses_ = 0;
  uint64_t idle_since_ = 0;  // loop time it went back to the pool
  size_t queued_bytes_ = 0;
  bool reading_ = false;
  bool closing_ = false;
  bool shutting_down_ = false;
};

class UpstreamPool final : private UpstreamUser {
 public:
  static constexpr size_t kMaxIdle = 256;
  static constexpr uint64_t kPeekAfterMs = 1000;

  UpstreamPool(uv_loop_t* loop, BufferPool& buffers);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // The child new connections go to; `generation` tags them (which child process they reached).
  void set_target(uint16_t port, uint32_t generation);
  uint32_t generation() const { return generation_; }

  // The most recently used idle connection, detached from the pool; or nullptr. One idle for
  // a while is first checked without blocking (a close by the child that the loop has not
  // processed yet); a busy pool skips that syscall.
  UpstreamConnection* take_idle();
  // A new connection to the current target, connect started (on_upstream_connect follows);
  // nullptr with `*error` set when it cannot even start.
  UpstreamConnection* open(UpstreamUser& user, int* error);
  // Back to the pool after a clean exchange (closed instead when from an older generation).
  void put_idle(UpstreamConnection* connection);
  // Closes every idle connection.
  void close_idle();
  size_t idle() const { return idle_.size(); }
  size_t live() const { return live_; }
  // Called whenever live() drops to 0.
  void set_on_empty(std::function<void()> fn) { on_empty_ = std::move(fn); }

  BufferPool& buffers() { return buffers_; }

 private:
  friend class UpstreamConnection;
  void on_closed(UpstreamConnection* connection);

  // While idle, the pool is the user: any byte or EOF closes the connection.
  void on_upstream_connect(UpstreamConnection&, int) override {}
  void on_upstream_data(UpstreamConnection& c, Block* block, size_t) override;
  void on_upstream_end(UpstreamConnection& c, int) override;
  void on_upstream_written(UpstreamConnection&, size_t, int) override {}

  uv_loop_t* loop_;
  BufferPool& buffers_;
  uint16_t port_ = 0;
  uint32_t generation_ = 0;
  size_t live_ = 0;
  IntrusiveList<UpstreamConnection, &UpstreamConnection::idle_hook> idle_;
  IntrusiveList<UpstreamConnection, &UpstreamConnection::all_hook> all_;
  std::function<void()> on_empty_;
};

}  // namespace sitehost::proxy
