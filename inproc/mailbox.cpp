#include "inproc/mailbox.h"

#include <stdexcept>
#include <utility>

namespace sitehost::inproc {

Mailbox::Mailbox(uv_loop_t* loop, Consumer consumer, void* owner)
    : consumer_(consumer), owner_(owner) {
  int rc = async_.init([loop](uv_async_t* h) { return uv_async_init(loop, h, &on_async); }, this);
  if (rc != 0) throw std::runtime_error(std::string("uv_async_init: ") + uv_strerror(rc));
}

Mailbox::~Mailbox() {
  close();
}

bool Mailbox::post_call(std::function<void()> call) {
  return post([&](LoopOp& op) {
    op.kind = 0;
    op.target = nullptr;
    op.call = std::move(call);
  });
}

void Mailbox::on_async(uv_async_t* handle) {
  if (auto* self = static_cast<Mailbox*>(handle->data)) self->drain();
}

void Mailbox::drain() {
  if (in_drain_) return;
  in_drain_ = true;
  for (;;) {
    size_t count = 0;
    {
      std::lock_guard lock(mutex_);
      if (closed_ || incoming_count_ == 0) {
        pending_.store(false, std::memory_order_release);
        break;
      }
      std::swap(incoming_, draining_);
      count = std::exchange(incoming_count_, 0);
      pending_.store(false, std::memory_order_release);
    }
    for (size_t i = 0; i < count && !closed_; ++i) {  // closed_ is only written on the loop
      LoopOp& op = draining_[i];
      if (op.call) {
        auto call = std::move(op.call);
        op.call = nullptr;
        call();
      } else {
        consumer_(owner_, op);
      }
    }
  }
  in_drain_ = false;
}

void Mailbox::close() {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    // Drop what nobody will run (captured references go with it).
    for (size_t i = 0; i < incoming_count_; ++i) incoming_[i].call = nullptr;
    incoming_count_ = 0;
  }
  async_.close();
}

}  // namespace sitehost::inproc
