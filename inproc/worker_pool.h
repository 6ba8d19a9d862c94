// Threads for sites with allow_synchronous_io = true: the handler runs here and may block on
// sitehost_request_read / sitehost_response_write_sync while the loop keeps serving. Threads are
// started on demand (one more whenever a task finds none idle) up to a maximum, and reused.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace sitehost::inproc {

class WorkerPool {
 public:
  using Task = void (*)(void* arg);

  explicit WorkerPool(size_t max_threads);
  ~WorkerPool();  // stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Any thread. Queued in order; runs as soon as a thread is free.
  void submit(Task task, void* arg);
  // Lets queued tasks finish, then joins every thread. Blocking: call it off the loop.
  void stop();

  size_t thread_count();

 private:
  struct Item {
    Task task;
    void* arg;
  };
  void run();

  const size_t max_threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Item> ring_;  // circular queue, grown when full
  size_t head_ = 0;
  size_t count_ = 0;
  size_t idle_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace sitehost::inproc
