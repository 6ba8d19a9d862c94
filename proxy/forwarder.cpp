#include "proxy/forwarder.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "proxy/header_rules.h"
#include "proxy/proxy_lane.h"
#include "shared/http/chunk_size_line.h"
#include "shared/log/logger.h"

namespace sitehost::proxy {

Forwarder::Forwarder(ProxyLane& lane) : lane_(lane), tunnel_(lane.buffers(), *this) {
  head_.reserve(4096);
  detail_.reserve(256);
}

void Forwarder::begin(Exchange& exchange, LaneChild& child) {
  exchange_ = &exchange;
  child_ = &child;
  upstream_ = nullptr;
  phase_ = Phase::kQueued;
  generation_ = 0;
  client_writes_ = 0;
  pinned_blocks_ = 0;
  const RequestInfo& request = exchange.request();
  tunnel_candidate_ = request.upgrade && !request.has_body;
  body_started_ = body_done_ = body_paused_ = upstream_paused_ = false;
  reused_ = retried_ = requeued_ = sent_ = protocol_error_ = finish_pending_ = false;
  touch();
  exchange.set_abort_handler(AbortHandler{&Forwarder::on_abort, this});
  child.request_begun();
  child.submit(*this);
}

void Forwarder::move_to(LaneChild& child) {
  child_ = &child;
  child.request_begun();
}

void Forwarder::touch() {
  last_activity_ = lane_.now();
}

void Forwarder::on_child_ready() {
  if (phase_ != Phase::kQueued) return;
  phase_ = Phase::kConnecting;
  touch();
  lane_.track(*this);
  connect();
}

void Forwarder::on_child_failed(const HttpError& error) {
  if (phase_ != Phase::kQueued) return;
  fail(error.status, error.substatus, error.detail);
}

void Forwarder::connect() {
  if (UpstreamConnection* idle = child_->pool().take_idle()) {
    reused_ = true;
    upstream_ = idle;
    upstream_->attach(this);
    send_head();
    return;
  }
  reused_ = false;
  phase_ = Phase::kConnecting;
  int error = 0;
  upstream_ = child_->pool().open(*this, &error);
  if (!upstream_) {
    detail_ = fmt::format("cannot connect to the application on 127.0.0.1:{}: {}", child_->port(),
                          uv_strerror(error));
    fail(502, 3, detail_);
  }
}

void Forwarder::on_upstream_connect(UpstreamConnection& connection, int status) {
  if (&connection != upstream_ || phase_ != Phase::kConnecting) return;
  uint32_t generation = connection.generation();
  bool dead = child_->child_dead(generation);
  if (status == 0 && !dead) {
    send_head();
    return;
  }
  // A refused connect to a child the lane thinks alive: it may have died a moment ago (its
  // sockets close before libuv reports the exit), so its exit is waited for.
  bool refused = status == UV_ECONNREFUSED;
  if ((dead || refused) && !requeued_ && !sent_) {
    requeue(generation);
    return;
  }
  if (dead) {
    detail_.clear();
    child_->describe_crash(generation, detail_);
    fail(502, 5, detail_);
    return;
  }
  detail_ = fmt::format("cannot connect to the application on 127.0.0.1:{}: {}", child_->port(),
                        uv_strerror(status));
  if (refused)
    await_exit();
  else
    fail(502, 3, detail_);
}

// Nothing of the request reached the child: it waits for the child's exit and the restart
// instead of failing (once per request). request_timeout bounds the wait for the exit.
void Forwarder::requeue(uint32_t generation) {
  requeued_ = true;
  release_upstream(false);
  phase_ = Phase::kQueued;
  touch();
  child_->requeue(*this, generation);
}

// detail_ holds the 502.3 to answer if the child does not exit within request_timeout.
void Forwarder::await_exit() {
  release_upstream(false);
  phase_ = Phase::kAwaitingExit;
  touch();
  lane_.track(*this);
  child_->await_exit(*this);
}

void Forwarder::on_child_exited(std::string_view crash) {
  if (phase_ != Phase::kAwaitingExit) return;
  fail(502, 5, crash);
}

void Forwarder::send_head() {
  const RequestInfo& request = exchange_->request();
  generation_ = upstream_->generation();
  phase_ = Phase::kForwarding;
  sent_ = true;
  touch();
  lane_.track(*this);
  parser_.reset(this, request.is_head);
  build_request_head(request, child_->token(), tunnel_candidate_, head_);
  append_upstream(head_);
  flush_upstream();
  if (phase_ != Phase::kForwarding) return;
  upstream_->read_start();
  if (request.has_body && !body_started_) {
    body_started_ = true;
    exchange_->read_body(*this);  // may call back at once: nothing may follow
  }
}

void Forwarder::append_upstream(std::string_view data) {
  while (!data.empty()) {
    if (!out_block_) out_block_ = lane_.buffers().acquire();
    size_t n = std::min(data.size(), out_block_->room());
    std::memcpy(out_block_->data + out_block_->size, data.data(), n);
    out_block_->size += n;
    data.remove_prefix(n);
    if (out_block_->room() == 0) flush_upstream();
  }
}

void Forwarder::flush_upstream() {
  Block* block = out_block_;
  if (!block) return;
  out_block_ = nullptr;
  if (!upstream_ || block->size == 0) {
    block->release();
    return;
  }
  int r = upstream_->write(block);
  if (r != 0 && phase_ == Phase::kForwarding) {
    detail_ = fmt::format("cannot send the request to the application: {}", uv_strerror(r));
    fail(502, 3, detail_);
  }
}

void Forwarder::on_body_data(std::string_view chunk) {
  if (phase_ != Phase::kForwarding || !upstream_ || chunk.empty()) return;
  touch();
  const RequestInfo& request = exchange_->request();
  if (!request.content_length && request.chunked) {
    char size_line[http::kChunkSizeLineMax];
    append_upstream(
        std::string_view(size_line, http::write_chunk_size_line(chunk.size(), size_line)));
    append_upstream(chunk);
    append_upstream("\r\n");
  } else {
    append_upstream(chunk);
  }
  flush_upstream();
  if (upstream_ && exchange_ && !body_paused_ && upstream_->write_queue_bytes() >= kHighWater) {
    body_paused_ = true;
    exchange_->pause_body();
  }
}

void Forwarder::on_body_end() {
  if (phase_ != Phase::kForwarding || !upstream_) return;
  const RequestInfo& request = exchange_->request();
  if (!request.content_length && request.chunked) {
    append_upstream("0\r\n\r\n");
    flush_upstream();
  }
  body_done_ = true;
}

void Forwarder::on_body_error(int status) {
  if (phase_ == Phase::kTunnel || !exchange_) return;
  detail_ = fmt::format("the request body could not be read ({})", status);
  fail(status, 0, detail_);
}

void Forwarder::on_upstream_written(UpstreamConnection& connection, size_t, int status) {
  if (&connection != upstream_ || status < 0) return;  // failures show on the read side
  touch();
  if (body_paused_ && exchange_ && connection.write_queue_bytes() <= kLowWater) {
    body_paused_ = false;
    exchange_->resume_body();
  }
}

void Forwarder::on_upstream_data(UpstreamConnection& connection, Block* block, size_t len) {
  if (&connection != upstream_ || phase_ != Phase::kForwarding) {
    block->release();
    return;
  }
  touch();
  in_block_ = block;
  size_t consumed = 0;
  auto result = parser_.feed(block->data, len, &consumed);
  in_block_ = nullptr;
  if (phase_ != Phase::kForwarding) {  // ended meanwhile (the client went away)
    unpin(block);
    maybe_recycle();
    return;
  }
  if (protocol_error_) result = UpstreamResponseParser::Result::kError;
  switch (result) {
    case UpstreamResponseParser::Result::kUpgrade:
      start_tunnel(block, consumed, len);
      block->release();
      return;
    case UpstreamResponseParser::Result::kNeedMore:
      unpin(block);
      send_head_now();
      if (pinned_blocks_ >= kMaxPinnedBlocks && upstream_ && !upstream_paused_) {
        upstream_paused_ = true;  // the client is slower than the child
        upstream_->read_stop();
      }
      return;
    case UpstreamResponseParser::Result::kComplete:
      unpin(block);
      complete_response(consumed == len);
      return;
    case UpstreamResponseParser::Result::kError:
      unpin(block);
      detail_ =
          fmt::format("the application's response is not valid HTTP/1.1: {}",
                      protocol_error_ ? "unexpected 101 Switching Protocols" : parser_.error());
      fail(502, 3, detail_);
      return;
  }
}

void Forwarder::on_response_head(const ResponseHead& head) {
  if (!exchange_) return;
  if (head.status == 101 && !tunnel_candidate_) {
    protocol_error_ = true;
    return;
  }
  bool tunnel = head.status == 101;
  exchange_->set_status(head.status, head.reason);
  for (const HeaderView& h : head.headers)
    if (pass_response_header(head.headers, h, tunnel)) exchange_->add_header(h.name, h.value);
  if (tunnel) exchange_->add_header("Connection", "Upgrade");
}

// A head that arrived without body bytes behind it goes to the client now, not with the first
// body byte: server-sent events, long polls and any app that flushes its head and then works
// would otherwise leave the client waiting. A head followed by body bytes in the same read
// already went out with the first of them (one write).
void Forwarder::send_head_now() {
  if (exchange_ && parser_.head_done() && !exchange_->head_sent()) exchange_->write({}, {});
}

void Forwarder::on_response_body(std::string_view chunk) {
  if (!exchange_ || chunk.empty()) return;
  Block* block = in_block_;
  if (block->user != this) {
    block->user = this;
    ++pinned_blocks_;
  }
  block->ref();
  ++client_writes_;
  exchange_->write(chunk, WriteDone{&Forwarder::on_client_written, block});
}

void Forwarder::unpin(Block* block) {
  if (block->user == this && block->refs == 1) --pinned_blocks_;
  block->release();
}

void Forwarder::on_client_written(void* ctx, int status) {
  auto* block = static_cast<Block*>(ctx);
  auto* self = static_cast<Forwarder*>(block->user);
  self->unpin(block);
  --self->client_writes_;
  if (status < 0 && self->exchange_ && self->phase_ != Phase::kEnding) {
    on_abort(self);  // the client is gone
    return;
  }
  if (self->upstream_paused_ && self->pinned_blocks_ < kMaxPinnedBlocks && self->upstream_) {
    self->upstream_paused_ = false;
    self->touch();
    self->upstream_->read_start();
  }
  if (self->finish_pending_ && self->client_writes_ == 0) self->finish_exchange();
  self->maybe_recycle();
}

bool Forwarder::request_sent() const {
  const RequestInfo& request = exchange_->request();
  return (!request.has_body || body_done_) && !out_block_ && upstream_ &&
         upstream_->write_queue_bytes() == 0;
}

void Forwarder::complete_response(bool clean_end) {
  lane_.untrack(*this);
  bool reuse = clean_end && parser_.keep_alive() && exchange_ && request_sent();
  release_upstream(reuse);
  phase_ = Phase::kEnding;
  if (client_writes_ == 0)
    finish_exchange();
  else
    finish_pending_ = true;  // finish() once the queued writes are flushed
  maybe_recycle();
}

void Forwarder::finish_exchange() {
  finish_pending_ = false;
  if (!exchange_) return;
  Exchange* e = exchange_;
  exchange_ = nullptr;
  e->finish();
}

void Forwarder::release_upstream(bool reuse) {
  if (out_block_) {
    out_block_->release();
    out_block_ = nullptr;
  }
  upstream_paused_ = false;
  if (!upstream_) return;
  UpstreamConnection* c = upstream_;
  upstream_ = nullptr;
  if (reuse && !lane_.stopping() && !child_->retiring())
    child_->pool().put_idle(c);
  else
    c->close();
}

void Forwarder::on_upstream_end(UpstreamConnection& connection, int status) {
  if (&connection != upstream_ || phase_ != Phase::kForwarding) return;
  uint32_t generation = connection.generation();
  bool dead = child_->child_dead(generation);
  if (!parser_.head_done()) {
    if (!dead && reused_ && !retried_ && !parser_.any_bytes() && !exchange_->request().has_body) {
      // The child closed an idle keep-alive connection just as it was reused (or it died: then
      // the fresh connection is refused, and the request waits for the exit, for a 502.5).
      retried_ = true;
      release_upstream(false);
      connect();
      return;
    }
  } else if (parser_.finish() == UpstreamResponseParser::Result::kComplete) {
    complete_response(false);  // a body delimited by the close
    return;
  }
  if (dead) {
    detail_.clear();
    child_->describe_crash(generation, detail_);
    fail(502, 5, detail_);
    return;
  }
  detail_ = fmt::format("the application closed the connection {} ({})",
                        !parser_.any_bytes()   ? "before responding"
                        : !parser_.head_done() ? "inside the response head"
                                               : "before the end of the response body",
                        uv_err_name(status));
  // While the client has no head yet, a crash (502.5) and a close by a live child (502.3) are
  // told apart by waiting for the exit; once the head is out the client connection is cut
  // either way.
  if (!exchange_->head_sent())
    await_exit();
  else
    fail(502, 3, detail_);
}

void Forwarder::start_tunnel(Block* block, size_t offset, size_t len) {
  lane_.untrack(*this);
  phase_ = Phase::kTunnel;
  UpstreamConnection* c = upstream_;
  Exchange* e = exchange_;
  upstream_ = nullptr;
  exchange_ = nullptr;
  tunnel_.start(*e, *c, block, std::string_view(block->data + offset, len - offset));
}

void Forwarder::on_tunnel_closed() {
  phase_ = Phase::kEnding;
  maybe_recycle();
}

void Forwarder::on_timeout() {
  switch (phase_) {
    case Phase::kQueued:
      // Requeued after a refused connect, and the ready child did not exit. Waiting for a child
      // that starts is bounded by startup_time_limit instead.
      if (!child_->ready()) {
        lane_.untrack(*this);
        return;
      }
      detail_ = fmt::format(
          "cannot connect to the application on 127.0.0.1:{}: connection refused for "
          "request_timeout ({} ms)",
          child_->port(), lane_.config().request_timeout.count());
      fail(502, 3, detail_);
      return;
    case Phase::kAwaitingExit:  // the child did not exit: it closed the connection on its own
      fail(502, 3, detail_);
      return;
    case Phase::kConnecting:
    case Phase::kForwarding:
      detail_ = fmt::format("the application sent nothing for request_timeout ({} ms)",
                            lane_.config().request_timeout.count());
      fail(502, 3, detail_);
      return;
    case Phase::kFree:
    case Phase::kTunnel:
    case Phase::kEnding:
      return;
  }
}

void Forwarder::cut(std::string_view why) {
  if (phase_ == Phase::kTunnel) {
    tunnel_.abort();
    return;
  }
  if (exchange_) fail(503, 0, why);
}

void Forwarder::on_abort(void* ctx) {
  auto* self = static_cast<Forwarder*>(ctx);
  if (self->phase_ == Phase::kTunnel) {
    self->tunnel_.abort();
    return;
  }
  if (!self->exchange_) return;
  // The child connection is closed, not pooled, so the application sees the disconnect.
  self->fail(499, 0, "the client disconnected");
}

void Forwarder::fail(int status, int substatus, std::string_view detail) {
  lane_.untrack(*this);
  if (phase_ == Phase::kQueued && child_) child_->withdraw(*this);
  if (phase_ == Phase::kAwaitingExit && child_) child_->stop_awaiting_exit(*this);
  release_upstream(false);
  phase_ = Phase::kEnding;
  finish_pending_ = false;
  if (exchange_) {
    Exchange* e = exchange_;
    exchange_ = nullptr;
    if (e->aborted())
      e->finish();  // the client is gone: nothing to answer
    else
      e->respond_error(HttpError{status, substatus, detail});
  }
  maybe_recycle();
}

void Forwarder::maybe_recycle() {
  // Done with the child (a replaced one may stop) even while writes to the client still run.
  if (phase_ == Phase::kEnding && !upstream_ && !tunnel_.active()) release_child();
  if (phase_ != Phase::kEnding || exchange_ || upstream_ || client_writes_ != 0 || in_block_ ||
      tunnel_.active())
    return;
  phase_ = Phase::kFree;
  lane_.recycle(*this);
}

void Forwarder::release_child() {
  LaneChild* child = child_;
  child_ = nullptr;
  if (child) child->request_ended();
}

}  // namespace sitehost::proxy
