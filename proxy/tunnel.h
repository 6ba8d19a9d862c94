// An upgraded exchange (WebSocket or any other Upgrade): after the child's 101, the client
// connection and the child connection become one byte tunnel, both directions raw, with the same
// bounded buffers as the proxy; request_timeout does not apply. It ends when either side closes:
// client EOF → half-close towards the child, which then closes; child EOF → the client
// connection is closed once what the child sent is flushed.
#pragma once

#include <cstddef>
#include <string_view>

#include "proxy/buffer_pool.h"
#include "proxy/upstream_pool.h"
#include "shared/site/exchange.h"

namespace sitehost::proxy {

class TunnelOwner {
 public:
  // Both sides are closed and no write is pending.
  virtual void on_tunnel_closed() = 0;

 protected:
  ~TunnelOwner() = default;
};

class Tunnel final : public BodyReader, public UpstreamUser {
 public:
  Tunnel(BufferPool& buffers, TunnelOwner& owner) : buffers_(buffers), owner_(owner) {}
  Tunnel(const Tunnel&) = delete;
  Tunnel& operator=(const Tunnel&) = delete;

  // The 101 head is set on `exchange` but not sent. `leftover`: what the child sent after its
  // head, inside `block` (referenced when not empty; the caller keeps its own reference).
  void start(Exchange& exchange, UpstreamConnection& connection, Block* block,
             std::string_view leftover);
  // The client went away or the site cuts the tunnel: both sides are closed.
  void abort();
  bool active() const { return active_; }

 private:
  static constexpr size_t kMaxClientWrites = 4;     // blocks in flight to the client
  static constexpr size_t kHighWater = 256 * 1024;  // queued towards the child: pause client
  static constexpr size_t kLowWater = 64 * 1024;

  void on_body_data(std::string_view chunk) override;
  void on_body_end() override;
  void on_body_error(int status) override;
  void on_upstream_connect(UpstreamConnection&, int) override {}
  void on_upstream_data(UpstreamConnection& connection, Block* block, size_t len) override;
  void on_upstream_end(UpstreamConnection& connection, int status) override;
  void on_upstream_written(UpstreamConnection& connection, size_t bytes, int status) override;
  static void on_client_written(void* ctx, int status);

  void send_to_client(Block* block, std::string_view data);
  void close_upstream();
  void finish_client();
  void maybe_closed();

  BufferPool& buffers_;
  TunnelOwner& owner_;
  Exchange* exchange_ = nullptr;
  UpstreamConnection* upstream_ = nullptr;
  size_t client_writes_ = 0;
  bool active_ = false;
  bool client_eof_ = false;
  bool finish_after_flush_ = false;
  bool body_paused_ = false;
  bool upstream_paused_ = false;
};

}  // namespace sitehost::proxy
