#include "inproc/worker_pool.h"

#include <utility>

namespace sitehost::inproc {

WorkerPool::WorkerPool(size_t max_threads) : max_threads_(max_threads ? max_threads : 1) {}

WorkerPool::~WorkerPool() {
  stop();
}

void WorkerPool::submit(Task task, void* arg) {
  std::lock_guard lock(mutex_);
  if (count_ == ring_.size()) {
    std::vector<Item> bigger(ring_.empty() ? 16 : ring_.size() * 2);
    for (size_t i = 0; i < count_; ++i) bigger[i] = ring_[(head_ + i) % ring_.size()];
    ring_ = std::move(bigger);
    head_ = 0;
  }
  ring_[(head_ + count_) % ring_.size()] = Item{task, arg};
  ++count_;
  if (idle_ < count_ && threads_.size() < max_threads_ && !stopping_)
    threads_.emplace_back([this] { run(); });
  else
    wake_.notify_one();
}

void WorkerPool::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_;
    wake_.wait(lock, [this] { return count_ > 0 || stopping_; });
    --idle_;
    if (count_ == 0) return;  // stopping with nothing left
    Item item = ring_[head_];
    head_ = (head_ + 1) % ring_.size();
    --count_;
    lock.unlock();
    item.task(item.arg);
    lock.lock();
  }
}

void WorkerPool::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    threads = std::move(threads_);
    threads_.clear();
  }
  wake_.notify_all();
  for (auto& t : threads) t.join();
}

size_t WorkerPool::thread_count() {
  std::lock_guard lock(mutex_);
  return threads_.size();
}

}  // namespace sitehost::inproc
