// What the health endpoint answers (docs/operations.md#health-checks-and-draining): computed by
// the control thread (HealthMonitor) and handed to every event loop (Worker::set_health), which
// serves its own copy without asking anyone.
#pragma once

#include <string>

namespace sitehost {

struct HealthAnswer {
  int status = 503;                 // 200 ready, 503 otherwise
  std::string body = "starting\n";  // "ready\n", or one line per reason
  bool operator==(const HealthAnswer&) const = default;
};

}  // namespace sitehost
