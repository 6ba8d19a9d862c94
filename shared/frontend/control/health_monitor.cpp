#include "shared/frontend/control/health_monitor.h"

namespace sitehost {

HealthMonitor::HealthMonitor(uv_loop_t* loop, Compute compute, Publish publish)
    : compute_(std::move(compute)), publish_(std::move(publish)) {
  timer_.init(loop, [this] { refresh(); });
}

void HealthMonitor::set_enabled(bool on) {
  if (on == enabled_) return;
  enabled_ = on;
  published_.reset();  // enabling publishes at once, whatever was published before
  if (on)
    timer_.start(kPollMs, kPollMs);
  else
    timer_.stop();
}

void HealthMonitor::refresh() {
  if (!enabled_) return;
  HealthAnswer answer = compute_();
  if (published_ && *published_ == answer) return;
  published_ = std::make_shared<const HealthAnswer>(std::move(answer));
  publish_(published_);
}

}  // namespace sitehost
