#include "shared/net/deadline_queue.h"

namespace sitehost {

DeadlineQueue::DeadlineQueue(uv_loop_t* loop, Duration timeout, ExpireFn expire, void* ctx)
    : timeout_ms_(static_cast<uint64_t>(timeout.count())), expire_(expire), ctx_(ctx) {
  uv_timer_init(loop, &timer_);
  timer_.data = this;
  head_.prev = head_.next = &head_;
}

bool DeadlineQueue::contains(const DeadlineNode& node) const {
  return node.linked();
}

void DeadlineQueue::arm(DeadlineNode& node) {
  if (node.linked()) disarm(node);
  node.deadline = uv_now(timer_.loop) + timeout_ms_;
  // Walk back from the newest entry: O(1) unless the timeout was shortened by a reload.
  DeadlineNode* after = head_.prev;
  while (after != &head_ && after->deadline > node.deadline) after = after->prev;
  node.prev = after;
  node.next = after->next;
  after->next->prev = &node;
  after->next = &node;
  if (head_.next == &node) reschedule();
}

void DeadlineQueue::disarm(DeadlineNode& node) {
  if (!node.linked()) return;
  bool was_first = head_.next == &node;
  node.prev->next = node.next;
  node.next->prev = node.prev;
  node.prev = node.next = nullptr;
  if (was_first) reschedule();
}

// Lazy: a timer already due no later than the new first entry is left alone (it fires early at
// worst, and on_timer looks again), and an empty queue keeps its timer. Re-arming the first
// entry, which every keep-alive request does, then touches no libuv timer at all.
void DeadlineQueue::reschedule() {
  if (head_.next == &head_) return;
  uint64_t due = head_.next->deadline;
  if (scheduled_due_ != 0 && scheduled_due_ <= due) return;
  uint64_t now = uv_now(timer_.loop);
  scheduled_due_ = due;
  uv_timer_start(&timer_, &DeadlineQueue::on_timer, due > now ? due - now : 0, 0);
}

void DeadlineQueue::on_timer(uv_timer_t* timer) {
  auto* self = static_cast<DeadlineQueue*>(timer->data);
  self->scheduled_due_ = 0;
  uint64_t now = uv_now(timer->loop);
  while (self->head_.next != &self->head_ && self->head_.next->deadline <= now) {
    DeadlineNode* node = self->head_.next;
    self->disarm(node[0]);
    self->expire_(node, self->ctx_);  // may arm/disarm other nodes
  }
  self->reschedule();
}

void DeadlineQueue::close() {
  while (head_.next != &head_) disarm(*head_.next);
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

}  // namespace sitehost
