// One loaded copy of a site's handler library and the app instance its init returned, with the
// number of requests it is serving. A site normally has one; a hot swap (step 4) keeps the old one
// alive beside the new one until its last request finishes, so nothing here is per-site.
//
// Threads: the startup thread runs start() (load + init) and hands back a StartupResult; the
// control thread adopts it (adopt()) or, when the start overran startup_time_limit, marks the
// generation failed itself (fail()); shutdown() runs on a shutdown thread once in_flight is 0 on
// every loop. The control thread owns the object (InprocSite holds it by shared_ptr) and is the
// only writer of its state. Event-loop threads (InprocLane) read what the control thread
// published before it stored the state with release (state(), substatus(), detail(), the entry
// points, gate()), call the app (call_request) and count their own requests in their own slot
// (acquire/release(lane)). log_from_app: any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sitehost/handler.h>

#include "inproc/loader.h"
#include "inproc/stderr_capture.h"
#include "shared/config/config.h"

namespace sitehost {
class Logger;
}

namespace sitehost::inproc {

// What a startup thread produced: a loaded, initialised app, or why not.
struct StartupResult {
  bool ok = false;
  // A replacement found the deployed file still being written: nothing was loaded, and this is
  // not an error (the site waits for the file to change again).
  bool incomplete = false;
  int substatus = 0;  // 500.xx on failure
  std::string message;
  FileIdentity identity;         // the deployed file's, as copied
  std::filesystem::path shadow;  // the copy that is loaded (empty on failure: already removed)
  Library library;
  EntryPoints entry;
  void* app = nullptr;
};

struct StartOptions {
  // A hot swap (an older generation keeps serving): an incomplete deployed file is reported as
  // `incomplete` at once. Otherwise (requests wait for this start) it is re-checked for up to a
  // second, then reported as 500.33.
  bool replacement = false;
  // Passed to make_shadow_copy (the default run directory must be this user's alone).
  std::filesystem::path trusted_root;
  // Remove shadow files of dead processes from the shadow directory first.
  bool sweep_stale = false;
};

// The server-side serialization of an app that is not thread-safe (sitehost_handler_threading()
// returned SITEHOST_THREADING_SERIAL, or absent, or a library built for ABI < 1.3): one mutex per
// generation, held around every call into the app (the request entry point and every callback),
// on whichever thread the call runs. The ABI guarantees that no server function runs a callback
// before it returns, so the holder never needs it again inside its own call; enter() still
// tolerates that (a no-op) rather than deadlocking. Blocking server calls (sync I/O) let go of it
// while they wait (BlockingCall): the loop thread may need it to run another request's callback
// before it can complete the blocked one.
class SerialGate {
 public:
  // Any thread. False (and nothing taken) when this thread holds the gate already.
  bool enter() {
    if (held_here()) return false;
    mutex_.lock();
    holder_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    return true;
  }
  void leave() {
    holder_.store(std::thread::id(), std::memory_order_relaxed);
    mutex_.unlock();
  }
  // Exact for the calling thread: only this thread can store its own id.
  bool held_here() const {
    return holder_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }

 private:
  std::mutex mutex_;
  std::atomic<std::thread::id> holder_{};
};

class Generation {
 public:
  enum class State { kStarting, kReady, kFailed, kRetired };

  // `shadow_file`: where start() copies the library before loading it (see shadow_copy.h).
  // `loops`: how many event loops may count requests on it (one in-flight slot each).
  Generation(const SiteConfig& config, Logger& log, uint64_t number,
             const sitehost_server_t* server, std::filesystem::path shadow_file, size_t loops);
  ~Generation();
  Generation(const Generation&) = delete;
  Generation& operator=(const Generation&) = delete;

  // --- startup thread -----------------------------------------------------------------------
  // Copies the library to the shadow file, loads the copy and runs init, teeing stderr into
  // `capture`. Blocking. Messages name the deployed file, not the copy.
  StartupResult start(const std::shared_ptr<StderrCapture::Session>& capture,
                      const StartOptions& options);
  // For a start the loop gave up on (abandoned) that returned after all: shut the app down,
  // unload and remove the shadow copy, on the thread that ran it.
  static void discard(StartupResult& result);

  // --- control thread -----------------------------------------------------------------------
  // Takes over a successful result (kReady) or records its failure (kFailed, 500.xx page detail
  // including what the app wrote to stderr and logged while starting).
  void adopt(StartupResult result, const std::string& captured_stderr);
  void fail(int substatus, std::string detail);
  // Any thread (acquire: what adopt/fail wrote before is visible).
  State state() const { return state_.load(std::memory_order_acquire); }
  bool ready() const { return state() == State::kReady; }
  uint64_t number() const { return number_; }
  int substatus() const { return substatus_; }
  const std::string& detail() const { return detail_; }
  // The deployed file this generation loaded (or failed to load).
  const FileIdentity& identity() const { return identity_; }
  // The copy it runs from (empty unless loaded).
  const std::filesystem::path& shadow_file() const { return shadow_; }
  // For a start the loop gave up on: removes the copies start() makes (the library stays
  // mapped; if init returns, discard() finds them gone).
  void remove_planned_shadow_files() const;

  // The app's entry point for one request (any thread, once kReady). The caller holds gate()
  // when there is one (AppCall).
  void call_request(sitehost_request_t* req) const { entry_.request(app_, req); }
  // Null when the app runs calls concurrently; else the gate every call into it must hold.
  SerialGate* gate() const { return serial_ ? &gate_ : nullptr; }
  bool serial() const { return serial_; }

  // Requests on it, one counter per event loop: loop `lane` alone writes slot `lane` (a plain
  // load + store, no locked instruction and no shared cache line on the request path); the
  // control thread sums them. release() stores with release order and in_flight() loads with
  // acquire, so a sum of 0 read after the last release also sees everything the loop did with
  // the generation before it (the shutdown that follows cannot race the last callback).
  void acquire(unsigned lane) {
    auto& v = in_flight_[lane].value;
    v.store(v.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  void release(unsigned lane) {
    auto& v = in_flight_[lane].value;
    v.store(v.load(std::memory_order_relaxed) - 1, std::memory_order_release);
  }
  size_t in_flight() const;  // control thread

  // --- shutdown thread (in_flight 0, no handler call running) -------------------------------
  // Calls the app's shutdown, dlcloses the library and removes the shadow copy.
  void shutdown();
  void mark_retired() { state_.store(State::kRetired, std::memory_order_release); }

  // --- any thread ---------------------------------------------------------------------------
  void log_from_app(int level, std::string_view message);
  // A start failure's page detail: `message`, then what the process wrote to stderr while the
  // app started, then the app's own log lines from that time (those not already in stderr).
  std::string describe_failure(std::string message, const std::string& captured_stderr) const;

  static Generation* from(sitehost_site_t* site);

 private:
  void build_site_info(const SiteConfig& config, const sitehost_server_t* server);

  // The ABI's site handle, first member of a standard-layout struct so we can get back to *this.
  struct SiteHandle {
    sitehost_site_t abi;
    Generation* owner;
  };

  Logger& log_;
  const uint64_t number_;
  const std::string site_name_;
  const std::filesystem::path handler_;
  const std::filesystem::path planned_shadow_;  // where start() copies to
  FileIdentity identity_;                       // of the library file (as created, then as loaded)
  std::filesystem::path shadow_;                // the loaded copy, removed at shutdown
  std::atomic<State> state_{State::kStarting};
  int substatus_ = 0;
  std::string detail_;

  // Storage behind the site info handed to init (valid until shutdown returns).
  SiteHandle site_handle_{};
  sitehost_site_info_t info_{};
  std::string name_, path_base_, physical_path_, handler_path_;
  std::vector<std::pair<std::string, std::string>> env_strings_;
  std::vector<sitehost_env_t> env_;

  Library library_;
  EntryPoints entry_;
  void* app_ = nullptr;
  bool serial_ = true;  // set by adopt() from the library's declaration
  mutable SerialGate gate_;
  struct alignas(64) Slot {
    std::atomic<int64_t> value{0};
  };
  std::unique_ptr<Slot[]> in_flight_;
  const size_t loops_;

  mutable std::mutex log_mutex_;
  bool starting_ = true;     // log_from_app also keeps lines for the startup page
  std::string startup_log_;  // bounded
};

}  // namespace sitehost::inproc
