// One loaded copy of a site's handler library and the app instance its init returned, with the
// number of requests it is serving. A site normally has one; a hot swap (step 4) keeps the old one
// alive beside the new one until its last request finishes, so nothing here is per-site.
//
// Threads: the startup thread runs start() (load + init) and hands back a StartupResult; the loop
// adopts it (adopt()) or, when the start overran startup_time_limit, marks the generation failed
// itself (fail()); shutdown() runs on a shutdown thread once in_flight is 0. Everything else is
// loop-thread only, except log_from_app (any thread).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
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

class Generation {
 public:
  enum class State { kStarting, kReady, kFailed, kRetired };

  // `shadow_file`: where start() copies the library before loading it (see shadow_copy.h).
  Generation(const SiteConfig& config, Logger& log, uint64_t number,
             const sitehost_server_t* server, std::filesystem::path shadow_file);
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

  // --- loop thread --------------------------------------------------------------------------
  // Takes over a successful result (kReady) or records its failure (kFailed, 500.xx page detail
  // including what the app wrote to stderr and logged while starting).
  void adopt(StartupResult result, const std::string& captured_stderr);
  void fail(int substatus, std::string detail);
  State state() const { return state_; }
  bool ready() const { return state_ == State::kReady; }
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

  // The app's entry point for one request (any thread, once kReady).
  void call_request(sitehost_request_t* req) const { entry_.request(app_, req); }

  size_t in_flight() const { return in_flight_; }
  void acquire() { ++in_flight_; }
  void release() { --in_flight_; }

  // --- shutdown thread (in_flight 0, no handler call running) -------------------------------
  // Calls the app's shutdown, dlcloses the library and removes the shadow copy.
  void shutdown();
  void mark_retired() { state_ = State::kRetired; }

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
  State state_ = State::kStarting;
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
  size_t in_flight_ = 0;

  mutable std::mutex log_mutex_;
  bool starting_ = true;     // log_from_app also keeps lines for the startup page
  std::string startup_log_;  // bounded
};

}  // namespace sitehost::inproc
