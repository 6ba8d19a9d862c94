// The health endpoint's state and drain_delay (docs/operations.md#health-checks-and-draining):
// Server members kept apart from the rest of the lifecycle. Control thread.
#include <fmt/format.h>

#include "shared/frontend/control/managed_site.h"
#include "shared/frontend/control/server.h"
#include "shared/net/listen_socket.h"
#include "shared/util/duration.h"
#include "shared/util/json.h"

namespace sitehost {

HealthAnswer Server::health_answer() const {
  if (stop_requested_ || shutting_down_) return {503, "draining\n"};
  if (!serving_) return {503, "starting\n"};
  std::string reasons;
  for (const auto& [name, entry] : sites_) {
    std::string state = entry.site->readiness();
    if (!state.empty()) reasons += fmt::format("site {}: {}\n", name, state);
  }
  if (reasons.empty()) return {200, "ready\n"};
  return {503, std::move(reasons)};
}

std::string Server::health_status_json() const {
  const HealthEndpoint& h = config_.server.health;
  std::string endpoint = h.kind == HealthEndpoint::Kind::kAddress ? listener_key(h.ip, h.port)
                         : h.kind == HealthEndpoint::Kind::kPath  ? h.path
                                                                  : "off";
  HealthAnswer answer = health_answer();
  return fmt::format("{{\"endpoint\": {}, \"status\": {}, \"answer\": {}}}", json_string(endpoint),
                     answer.status, json_string(answer.body));
}

void Server::health_config_applied() {
  health_->set_enabled(config_.server.health.kind != HealthEndpoint::Kind::kOff);
  health_->refresh();
}

void Server::health_serving() {
  serving_ = true;
  health_->refresh();
}

bool Server::hold_for_drain() {
  if (stop_requested_) {
    if (drain_timer_.active()) {
      drain_timer_.stop();
      log_.info("stop requested again: ending the drain early");
    }
    return false;
  }
  stop_requested_ = true;
  const Duration delay = config_.server.drain_delay;
  if (delay.count() > 0)
    log_.info("draining for {} before closing listeners (health answers 503)",
              format_duration(delay));
  health_->refresh();  // 503 "draining" from now on
  if (delay.count() <= 0) return false;
  drain_timer_.init(loop_, [this] {
    log_.info("drain_delay over: closing listeners");
    begin_shutdown();
  });
  drain_timer_.start(static_cast<uint64_t>(delay.count()));
  return true;
}

}  // namespace sitehost
