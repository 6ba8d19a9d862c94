// Timeouts for many connections with one libuv timer: entries of one queue share a duration, so
// they expire in insertion order and the queue stays sorted by appending. 24 bytes per entry
// instead of a uv_timer_t (152 bytes) per connection.
#pragma once

#include <uv.h>

#include <cstdint>

#include "shared/config/config.h"

namespace sitehost {

struct DeadlineNode {
  DeadlineNode* prev = nullptr;
  DeadlineNode* next = nullptr;
  uint64_t deadline = 0;  // uv_now() milliseconds
  bool linked() const { return prev != nullptr || next != nullptr; }
};

class DeadlineQueue {
 public:
  using ExpireFn = void (*)(DeadlineNode* node, void* ctx);

  // The timer handle is initialised here and closed by close(); the owner must call close() and
  // keep this object alive until the loop has run the close callback.
  DeadlineQueue(uv_loop_t* loop, Duration timeout, ExpireFn expire, void* ctx);
  DeadlineQueue(const DeadlineQueue&) = delete;
  DeadlineQueue& operator=(const DeadlineQueue&) = delete;

  void set_timeout(Duration timeout) { timeout_ms_ = static_cast<uint64_t>(timeout.count()); }
  // (Re)arms `node` to expire `timeout` from now.
  void arm(DeadlineNode& node);
  void disarm(DeadlineNode& node);
  bool contains(const DeadlineNode& node) const;
  void close();

 private:
  static void on_timer(uv_timer_t* timer);
  void reschedule();

  uv_timer_t timer_;
  uint64_t timeout_ms_;
  ExpireFn expire_;
  void* ctx_;
  DeadlineNode head_;           // sentinel: head_.next = oldest, head_.prev = newest
  uint64_t scheduled_due_ = 0;  // when the timer fires (uv_now ms); 0: not running
};

}  // namespace sitehost
