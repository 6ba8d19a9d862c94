// The health endpoint's state (`[server] health`, docs/operations.md#health-checks-and-draining):
// computed on the control thread and published to every event loop when it changes.
//
// Threads: control thread only. The event loops never ask for the state: each serves the answer
// it was last given (Worker::set_health), so a health request neither locks nor waits for the
// control thread, which may be busy with a reload or a site's start. A site's state also changes
// on its own (a child becomes ready, crashes, a handler fails to start), so while an endpoint is
// configured the state is recomputed every kPollMs; the server also refreshes it at once when it
// knows it changed (start, reload, stop).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>

#include "shared/frontend/worker/health_answer.h"
#include "shared/net/uv_handle.h"

namespace sitehost {

class HealthMonitor {
 public:
  using Compute = std::function<HealthAnswer()>;
  using Publish = std::function<void(std::shared_ptr<const HealthAnswer>)>;
  static constexpr uint64_t kPollMs = 200;

  HealthMonitor(uv_loop_t* loop, Compute compute, Publish publish);
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  // Whether an endpoint is configured: publishing (and polling) happen only then.
  void set_enabled(bool on);
  // Recomputes now; publishes when the answer differs from the last one published.
  void refresh();
  // Stops polling for good (the server is closing its handles).
  void close() { timer_.close(); }

 private:
  Compute compute_;
  Publish publish_;
  UvTimer timer_;
  std::shared_ptr<const HealthAnswer> published_;  // null: nothing published yet (or disabled)
  bool enabled_ = false;
};

}  // namespace sitehost
