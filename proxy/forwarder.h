// One proxied exchange: waits for its child, sends the re-serialized request head, streams the
// request body to the child and the response back, with back-pressure both ways and bounded
// buffers, then hands the connection back to the pool when the exchange ended cleanly.
//
// Errors: cannot reach the child / the child broke HTTP / request_timeout → 502.3 (or a cut
// client connection once the response started); the child died → 502.5 when the response had
// not started. A 101 to an Upgrade request turns the exchange into a Tunnel.
//
// Forwarders are pooled by their lane (proxy_lane.h) and reused; one lives until its exchange
// ended, its connection was released and every write it queued on the exchange completed.
//
// Threads: a forwarder, its child (LaneChild), connection and tunnel belong to one lane, i.e.
// one event loop's thread; nothing in here is touched from another thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/buffer_pool.h"
#include "proxy/intrusive_list.h"
#include "proxy/tunnel.h"
#include "proxy/upstream_pool.h"
#include "proxy/upstream_response_parser.h"
#include "shared/site/exchange.h"

namespace sitehost::proxy {

class LaneChild;
class ProxyLane;

class Forwarder final : public BodyReader,
                        public UpstreamUser,
                        public ResponseHandler,
                        public TunnelOwner {
 public:
  explicit Forwarder(ProxyLane& lane);
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  void begin(Exchange& exchange, LaneChild& child);
  // From the lane's child: it accepts connections / could not be started.
  void on_child_ready();
  void on_child_failed(const HttpError& error);
  // From the lane's child, while awaiting its exit (LaneChild::await_exit): it exited; `crash`
  // describes how.
  void on_child_exited(std::string_view crash);
  // From the lane's sweep: no byte from the child for request_timeout.
  void on_timeout();
  // From the lane when stopping or draining takes too long: ends the exchange now.
  void cut(std::string_view why);
  // The child the exchange uses (counted there by request_begun/request_ended); null once the
  // child connection is no longer needed.
  LaneChild* child() const { return child_; }
  // A waiting exchange moves to another child (a serving one, from a retiring one, which the
  // caller then tells request_ended).
  void move_to(LaneChild& child);

  // Whether request_timeout currently applies, and since when the child was last heard from.
  bool timed() const { return timed_hook.linked && !upstream_paused_; }
  uint64_t last_activity() const { return last_activity_; }
  // How long this request may go unheard before on_timeout: request_timeout, except while it
  // waits to learn whether a closed connection was a crash. A child's exit is reported within
  // milliseconds of its sockets closing, so a live child that just closed is not waited on for
  // the whole request_timeout.
  uint64_t timeout_ms(uint64_t request_timeout_ms) const {
    return phase_ == Phase::kAwaitingExit ? std::min(request_timeout_ms, kExitGraceMs)
                                          : request_timeout_ms;
  }
  static constexpr uint64_t kExitGraceMs = 2000;

  ListHook<Forwarder> queue_hook;  // a lane child's waiters or exit watchers
  ListHook<Forwarder> timed_hook;  // the lane's request_timeout sweep
  ListHook<Forwarder> free_hook;   // the lane's free list
  static bool free_hook_linked(const Forwarder& f) { return f.free_hook.linked; }

 private:
  // kAwaitingExit: the child connection ended before a response head; whether the child died
  // (502.5) or closed it on its own (502.3) is known once the lane hears of the exit, or
  // timeout_ms() (at most kExitGraceMs) passes without one.
  enum class Phase { kFree, kQueued, kConnecting, kForwarding, kAwaitingExit, kTunnel, kEnding };

  static constexpr size_t kMaxPinnedBlocks = 4;     // response blocks in flight to the client
  static constexpr size_t kHighWater = 256 * 1024;  // request bytes queued to the child
  static constexpr size_t kLowWater = 64 * 1024;

  // BodyReader
  void on_body_data(std::string_view chunk) override;
  void on_body_end() override;
  void on_body_error(int status) override;
  // UpstreamUser
  void on_upstream_connect(UpstreamConnection& connection, int status) override;
  void on_upstream_data(UpstreamConnection& connection, Block* block, size_t len) override;
  void on_upstream_end(UpstreamConnection& connection, int status) override;
  void on_upstream_written(UpstreamConnection& connection, size_t bytes, int status) override;
  // ResponseHandler
  void on_response_head(const ResponseHead& head) override;
  void on_response_body(std::string_view chunk) override;
  // TunnelOwner
  void on_tunnel_closed() override;

  static void on_abort(void* ctx);
  static void on_client_written(void* ctx, int status);

  void connect();
  void requeue(uint32_t generation);
  void await_exit();
  void send_head();
  void send_head_now();  // the response head to the client, when it came without body bytes
  void append_upstream(std::string_view data);
  void flush_upstream();
  void complete_response(bool clean_end);
  void release_upstream(bool reuse);
  void start_tunnel(Block* block, size_t offset, size_t len);
  void fail(int status, int substatus, std::string_view detail);
  void finish_exchange();
  void unpin(Block* block);
  void touch();
  void maybe_recycle();
  void release_child();
  bool request_sent() const;

  ProxyLane& lane_;
  Tunnel tunnel_;
  UpstreamResponseParser parser_;
  Exchange* exchange_ = nullptr;
  LaneChild* child_ = nullptr;
  UpstreamConnection* upstream_ = nullptr;
  Block* out_block_ = nullptr;  // request bytes being gathered for the child
  Block* in_block_ = nullptr;   // the upstream read being parsed
  std::string head_;            // serialized request head (capacity kept)
  std::string detail_;          // error detail being reported (capacity kept)
  Phase phase_ = Phase::kFree;
  uint32_t generation_ = 0;
  uint64_t last_activity_ = 0;
  size_t client_writes_ = 0;
  size_t pinned_blocks_ = 0;
  bool tunnel_candidate_ = false;
  bool body_started_ = false;
  bool body_done_ = false;
  bool body_paused_ = false;
  bool upstream_paused_ = false;
  bool reused_ = false;
  bool retried_ = false;
  bool requeued_ = false;
  bool sent_ = false;  // the request head went to a child: never requeued from then on
  bool protocol_error_ = false;
  bool finish_pending_ = false;
};

}  // namespace sitehost::proxy
