// Work for one event loop, posted from any thread: a mutex-protected list of functions run on the
// loop's thread in posting order, woken by a uv_async_t. This is how the control thread and the
// event loops talk (message passing; nothing on the request path uses it).
//
// Threads: construct, close() and destroy on the loop's thread (before its loop runs, or from
// it; never destroy it from inside one of its own tasks); post() from any thread. After close(),
// posts are refused (false) and queued work is dropped.
#pragma once

#include <uv.h>

#include <functional>
#include <mutex>
#include <vector>

#include "shared/net/uv_handle.h"

namespace sitehost {

class TaskQueue {
 public:
  explicit TaskQueue(uv_loop_t* loop);
  ~TaskQueue() { close(); }
  TaskQueue(const TaskQueue&) = delete;
  TaskQueue& operator=(const TaskQueue&) = delete;

  // Any thread. False once closed (the task is dropped).
  bool post(std::function<void()> task);
  // Loop thread: runs what is queued now (the async callback does this too).
  void run_pending();
  // Loop thread: no more posts; the handle closes through libuv.
  void close();

 private:
  static void on_async(uv_async_t* handle);

  UvHandle<uv_async_t> async_;
  std::mutex mutex_;
  bool closed_ = false;                          // guarded by mutex_
  std::vector<std::function<void()>> incoming_;  // guarded by mutex_
};

}  // namespace sitehost
