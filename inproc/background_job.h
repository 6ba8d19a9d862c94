// One blocking job (load + init, shutdown + dlclose) on a thread of its own, reporting back to
// the loop through a Mailbox. A job can be abandoned (an init that overran startup_time_limit):
// the thread is then detached and cleans up after itself when (if ever) the work returns.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "inproc/mailbox.h"

namespace sitehost::inproc {

class BackgroundJob {
 public:
  // Starts `work` on a new thread. When it returns, on that thread: if abandon() came first,
  // `orphaned` runs there; else `then` is posted to the loop (where the owner usually destroys
  // the job, joining a thread that is done).
  BackgroundJob(std::shared_ptr<Mailbox> mailbox, std::function<void()> work,
                std::function<void()> then, std::function<void()> orphaned = {});
  ~BackgroundJob();  // joins, unless abandoned (then detached)
  BackgroundJob(const BackgroundJob&) = delete;
  BackgroundJob& operator=(const BackgroundJob&) = delete;

  // Loop thread. True: the job is abandoned (`then` will not come). False: the work already
  // returned and `then` is on its way.
  bool abandon();

 private:
  struct State {
    std::mutex mutex;
    bool finished = false;
    bool abandoned = false;
  };
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace sitehost::inproc
