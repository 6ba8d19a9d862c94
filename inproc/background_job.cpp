#include "inproc/background_job.h"

#include <utility>

namespace sitehost::inproc {

BackgroundJob::BackgroundJob(std::shared_ptr<Mailbox> mailbox, std::function<void()> work,
                             std::function<void()> then, std::function<void()> orphaned)
    : state_(std::make_shared<State>()) {
  thread_ = std::thread([state = state_, mailbox = std::move(mailbox), work = std::move(work),
                         then = std::move(then), orphaned = std::move(orphaned)]() mutable {
    work();
    bool abandoned;
    {
      std::lock_guard lock(state->mutex);
      state->finished = true;
      abandoned = state->abandoned;
      if (!abandoned) mailbox->post_call(std::move(then));
    }
    if (abandoned && orphaned) orphaned();
  });
}

BackgroundJob::~BackgroundJob() {
  if (thread_.joinable()) thread_.join();
}

bool BackgroundJob::abandon() {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->finished) return false;
    state_->abandoned = true;
  }
  thread_.detach();
  return true;
}

}  // namespace sitehost::inproc
