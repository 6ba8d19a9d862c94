// TaskQueue: functions posted from other threads run on the loop's thread, in posting order, and
// a closed queue refuses posts.
#include "shared/thread/task_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace sitehost {
namespace {

TEST(TaskQueue, PostsFromThreadsRunOnTheLoopThreadInOrder) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  constexpr int kThreads = 4, kPosts = 500;
  std::vector<std::vector<int>> seen(kThreads);  // loop thread only
  std::atomic<int> ran{0};
  const auto loop_thread = std::this_thread::get_id();
  bool wrong_thread = false;
  {
    TaskQueue queue(&loop);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPosts; ++i)
          ASSERT_TRUE(queue.post([&, t, i] {
            wrong_thread |= std::this_thread::get_id() != loop_thread;
            seen[t].push_back(i);
            if (ran.fetch_add(1) + 1 == kThreads * kPosts) queue.close();
          }));
      });
    for (auto& th : threads) th.join();
    uv_run(&loop, UV_RUN_DEFAULT);  // ends once the last task closed the queue
    EXPECT_FALSE(queue.post([] {}));
  }
  EXPECT_FALSE(wrong_thread);
  EXPECT_EQ(ran.load(), kThreads * kPosts);
  for (const auto& s : seen) {
    ASSERT_EQ(s.size(), static_cast<size_t>(kPosts));
    for (int i = 0; i < kPosts; ++i) EXPECT_EQ(s[static_cast<size_t>(i)], i);
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(TaskQueue, ClosedQueueDropsWhatWasQueued) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  bool ran = false;
  {
    TaskQueue queue(&loop);
    ASSERT_TRUE(queue.post([&] { ran = true; }));
    queue.close();
    EXPECT_FALSE(queue.post([&] { ran = true; }));
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_FALSE(ran);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace sitehost
