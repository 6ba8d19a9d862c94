#include "proxy/tunnel.h"

#include <algorithm>
#include <cstring>

namespace sitehost::proxy {

void Tunnel::start(Exchange& exchange, UpstreamConnection& connection, Block* block,
                   std::string_view leftover) {
  exchange_ = &exchange;
  upstream_ = &connection;
  client_writes_ = 0;
  active_ = true;
  client_eof_ = finish_after_flush_ = body_paused_ = upstream_paused_ = false;
  upstream_->attach(this);

  // The first write sends the 101 head (with what the child already sent after it, if any).
  if (leftover.empty()) {
    block = buffers_.acquire();  // an empty write still needs a context
    leftover = std::string_view(block->data, 0);
  } else {
    block->ref();
  }
  send_to_client(block, leftover);
  if (upstream_) upstream_->read_start();
  if (exchange_) exchange_->read_body(*this);  // raw client bytes from now on
}

void Tunnel::send_to_client(Block* block, std::string_view data) {
  block->user = this;
  ++client_writes_;
  exchange_->write(data, WriteDone{&Tunnel::on_client_written, block});
  if (client_writes_ >= kMaxClientWrites && upstream_ && !upstream_paused_) {
    upstream_paused_ = true;
    upstream_->read_stop();
  }
}

void Tunnel::on_client_written(void* ctx, int status) {
  auto* block = static_cast<Block*>(ctx);
  auto* self = static_cast<Tunnel*>(block->user);
  block->release();
  --self->client_writes_;
  if (status < 0) {
    self->abort();
    return;
  }
  if (self->upstream_paused_ && self->client_writes_ < kMaxClientWrites && self->upstream_) {
    self->upstream_paused_ = false;
    self->upstream_->read_start();
  }
  if (self->finish_after_flush_ && self->client_writes_ == 0) self->finish_client();
  self->maybe_closed();
}

void Tunnel::on_body_data(std::string_view chunk) {
  while (upstream_ && !chunk.empty()) {
    Block* block = buffers_.acquire();
    size_t n = std::min(chunk.size(), Block::kCapacity);
    std::memcpy(block->data, chunk.data(), n);
    block->size = n;
    chunk.remove_prefix(n);
    if (upstream_->write(block) != 0) {
      abort();
      return;
    }
  }
  if (upstream_ && exchange_ && !body_paused_ && upstream_->write_queue_bytes() >= kHighWater) {
    body_paused_ = true;
    exchange_->pause_body();
  }
}

void Tunnel::on_body_end() {
  client_eof_ = true;
  if (upstream_) upstream_->shutdown_write();  // the child sees EOF and closes its side
}

void Tunnel::on_body_error(int) {
  abort();
}

void Tunnel::on_upstream_data(UpstreamConnection&, Block* block, size_t len) {
  if (!exchange_ || finish_after_flush_) {
    block->release();
    return;
  }
  send_to_client(block, std::string_view(block->data, len));  // the read reference moves along
}

void Tunnel::on_upstream_end(UpstreamConnection&, int) {
  close_upstream();
  if (client_writes_ == 0)
    finish_client();
  else
    finish_after_flush_ = true;
  maybe_closed();
}

void Tunnel::on_upstream_written(UpstreamConnection& connection, size_t, int status) {
  if (status < 0) {
    on_upstream_end(connection, status);
    return;
  }
  if (body_paused_ && exchange_ && connection.write_queue_bytes() <= kLowWater) {
    body_paused_ = false;
    exchange_->resume_body();
  }
}

void Tunnel::close_upstream() {
  if (!upstream_) return;
  UpstreamConnection* c = upstream_;
  upstream_ = nullptr;
  c->close();
}

void Tunnel::finish_client() {
  if (!exchange_) return;
  Exchange* e = exchange_;
  exchange_ = nullptr;
  e->finish();  // closes the client side of the tunnel
}

void Tunnel::abort() {
  if (!active_) return;
  close_upstream();
  finish_client();
  maybe_closed();
}

void Tunnel::maybe_closed() {
  if (active_ && !exchange_ && !upstream_ && client_writes_ == 0) {
    active_ = false;
    owner_.on_tunnel_closed();
  }
}

}  // namespace sitehost::proxy
