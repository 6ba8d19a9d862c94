// Work handed to the event loop from other threads: a mutex-protected queue of LoopOps drained by
// a uv_async_t. Shared (std::shared_ptr) so that a thread outliving its site (an init that never
// returns) can still post safely: after close() posts are dropped.
//
// Ops are reused slot by slot (their strings keep their capacity), so a steady stream of posts
// allocates nothing.
#pragma once

#include <uv.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "shared/net/uv_handle.h"

namespace sitehost::inproc {

struct LoopOp {
  int kind = 0;
  void* target = nullptr;  // the object the op is for (a RequestAdapter)
  int number = 0;
  unsigned flags = 0;
  const char* data = nullptr;
  size_t len = 0;
  void (*fn)() = nullptr;  // a callback pointer, cast back by the consumer
  void* arg = nullptr;
  std::string text1;  // copies made by the posting thread
  std::string text2;
  std::function<void()> call;  // rare work (startup and shutdown completions)
};

class Mailbox {
 public:
  using Consumer = void (*)(void* owner, LoopOp& op);

  // Loop thread. `consumer(owner, op)` runs on the loop for every op, in posting order.
  Mailbox(uv_loop_t* loop, Consumer consumer, void* owner);
  ~Mailbox();
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Any thread. `fill(LoopOp&)` writes the op (under the queue's lock; the slot may hold stale
  // values from an earlier use: set every field the consumer reads). False once closed.
  template <class Fill>
  bool post(Fill&& fill) {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    if (incoming_count_ == incoming_.size()) incoming_.emplace_back();
    LoopOp& op = incoming_[incoming_count_++];
    op.call = nullptr;
    fill(op);
    pending_.store(true, std::memory_order_release);
    uv_async_send(async_.get());
    return true;
  }
  // Posts a function to run on the loop.
  bool post_call(std::function<void()> call);

  // Any thread: whether ops are waiting (a hint).
  bool pending() const { return pending_.load(std::memory_order_acquire); }
  // Loop thread: runs the waiting ops now. Nested calls (from inside an op) return at once.
  void drain();
  // Loop thread: no more posts, no more callbacks.
  void close();

 private:
  static void on_async(uv_async_t* handle);

  Consumer consumer_;
  void* owner_;
  UvHandle<uv_async_t> async_;
  std::mutex mutex_;
  bool closed_ = false;
  std::atomic<bool> pending_{false};
  std::vector<LoopOp> incoming_;  // [0, incoming_count_) are live
  size_t incoming_count_ = 0;
  std::vector<LoopOp> draining_;  // loop thread only
  bool in_drain_ = false;
};

}  // namespace sitehost::inproc
