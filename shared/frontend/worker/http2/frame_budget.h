// A token bucket over frames a client may send without asking for work: control frames (SETTINGS,
// PING, PRIORITY, WINDOW_UPDATE, empty DATA) and stream resets. A client that sends them faster
// than the refill rate for longer than the burst allows is flooding (CVE-2019-9512/9515/9518,
// CVE-2023-44487) and its connection ends with GOAWAY ENHANCE_YOUR_CALM.
#pragma once

#include <algorithm>
#include <cstdint>

namespace sitehost {

class FrameBudget {
 public:
  FrameBudget(uint32_t burst, uint32_t per_second)
      : burst_(burst), rate_(per_second), tokens_(burst) {}

  // One frame at `now_ms` (uv_now): false when the bucket is empty.
  bool spend(uint64_t now_ms) {
    if (last_ms_ == 0) last_ms_ = now_ms;
    const uint64_t refill = (now_ms - last_ms_) * rate_ / 1000;
    if (refill > 0) {
      tokens_ = static_cast<uint32_t>(std::min<uint64_t>(burst_, tokens_ + refill));
      last_ms_ += refill * 1000 / rate_;  // keeps the fraction of a token not yet earned
    }
    if (tokens_ == 0) return false;
    --tokens_;
    return true;
  }

 private:
  uint32_t burst_;
  uint32_t rate_;
  uint32_t tokens_;
  uint64_t last_ms_ = 0;
};

}  // namespace sitehost
