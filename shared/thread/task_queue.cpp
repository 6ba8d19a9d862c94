#include "shared/thread/task_queue.h"

#include <stdexcept>
#include <string>
#include <utility>

namespace sitehost {

TaskQueue::TaskQueue(uv_loop_t* loop) {
  int rc = async_.init([loop](uv_async_t* h) { return uv_async_init(loop, h, &on_async); }, this);
  if (rc != 0) throw std::runtime_error(std::string("uv_async_init: ") + uv_strerror(rc));
}

bool TaskQueue::post(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  if (closed_) return false;
  incoming_.push_back(std::move(task));
  // Under the lock: close() (which also takes it) cannot free the handle meanwhile.
  uv_async_send(async_.get());
  return true;
}

void TaskQueue::on_async(uv_async_t* handle) {
  if (auto* self = static_cast<TaskQueue*>(handle->data)) self->run_pending();
}

void TaskQueue::run_pending() {
  for (;;) {
    std::vector<std::function<void()>> batch;
    {
      std::lock_guard lock(mutex_);
      if (closed_ || incoming_.empty()) return;
      batch.swap(incoming_);
    }
    for (auto& task : batch) task();
  }
}

void TaskQueue::close() {
  std::vector<std::function<void()>> dropped;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    dropped.swap(incoming_);
  }
  async_.close();
}

}  // namespace sitehost
