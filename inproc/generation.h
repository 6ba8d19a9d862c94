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
  int substatus = 0;  // 500.xx on failure
  std::string message;
  Library library;
  EntryPoints entry;
  void* app = nullptr;
};

class Generation {
 public:
  enum class State { kStarting, kReady, kFailed, kRetired };

  Generation(const SiteConfig& config, Logger& log, uint64_t number,
             const sitehost_server_t* server);
  ~Generation();
  Generation(const Generation&) = delete;
  Generation& operator=(const Generation&) = delete;

  // --- startup thread -----------------------------------------------------------------------
  // Loads the library and runs init, teeing stderr into `capture`. Blocking.
  StartupResult start(const std::shared_ptr<StderrCapture::Session>& capture);
  // For a start the loop gave up on (abandoned) that returned after all: shut the app down and
  // unload, on the thread that ran it.
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
  const FileIdentity& identity() const { return identity_; }

  // The app's entry point for one request (any thread, once kReady).
  void call_request(sitehost_request_t* req) const { entry_.request(app_, req); }

  size_t in_flight() const { return in_flight_; }
  void acquire() { ++in_flight_; }
  void release() { --in_flight_; }

  // --- shutdown thread (in_flight 0, no handler call running) -------------------------------
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
  FileIdentity identity_;  // of the library file when this generation was created
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
