// What an in-process site reports about itself (for the admin /status endpoint and metrics):
// InprocSite::status(). Plain data, copied out on the loop thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace sitehost::inproc {

struct SiteStatus {
  enum class State {
    kNotStarted,  // no request yet (the app starts on the first one)
    kStarting,    // the first start (or a restart after a failure) is running; requests wait
    kRunning,     // a generation serves requests
    kFailed,      // the start failed; requests get its 500.xx page until the library changes
    kStopping,    // Site::stop was called
  };
  State state = State::kNotStarted;
  uint64_t generation = 0;        // the generation serving new requests (or starting); 0 before any
  size_t in_flight = 0;           // requests on it
  size_t waiting = 0;             // requests waiting for it to start
  uint64_t swapping_to = 0;       // a new version loading beside it (hot swap); 0 when none
  size_t old_generations = 0;     // replaced generations still finishing requests or unloading
  size_t old_in_flight = 0;       // requests still running on them
  uint64_t swaps = 0;             // hot swaps done (a changed library file or a reload)
  uint64_t swap_failures = 0;     // new versions that failed to load, init or start in time (the
                                  // serving generation carried on)
  uint64_t aborted_requests = 0;  // requests cut after outliving shutdown_time_limit on a
                                  // replaced generation
  std::string last_error;  // the latest start failure, one line starting "500.xx: "; empty if none
  std::chrono::system_clock::time_point last_error_time{};
};

// "not started", "starting", "running", "failed", "stopping".
const char* to_string(SiteStatus::State state);

}  // namespace sitehost::inproc
