// Watches the files a deploy of an out-of-process site replaces, and reports when a change has
// settled, for the overlapped recycle (proxy_site.h).
//
// The files: the program (process_path as resolved) and the first argument when it names an
// existing file inside physical_path (`python3 app.py`, `dotnet app.dll`, `sitehost-app app.so`).
// Events come from one uv_fs_event per folder (a watch on a file itself would be lost when a
// deploy renames a new file over it), filtered by file name. A change is reported once every
// file's identity (device, inode, size, mtime) stayed the same for kSettleMs: a deploy still
// writing a file keeps moving its size or mtime. A missing file is not reported (a deploy that
// removes then copies); its return is. As a safety net against a missed event (a folder replaced
// as a whole, an inotify overflow), requests call poll(), which stats the files at most every
// kPollMs and treats a difference as an event (re-arming the folder watches).
//
// Loop thread only.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "shared/net/uv_handle.h"
#include "shared/util/file_identity.h"

namespace sitehost::proxy {

class DeployWatch {
 public:
  static constexpr uint64_t kSettleMs = 500;
  static constexpr uint64_t kPollMs = 1000;

  // Runs on the loop (from a timer) when the files settled in a state that differs from the
  // accepted one; that state becomes the accepted one.
  using Changed = std::function<void()>;

  DeployWatch(uv_loop_t* loop, std::vector<std::filesystem::path> files, Changed changed);
  DeployWatch(const DeployWatch&) = delete;
  DeployWatch& operator=(const DeployWatch&) = delete;

  // Takes the files' current state as accepted and starts watching. Returns "" or why a folder
  // cannot be watched (poll() still notices changes then).
  std::string start();
  // The request-time safety net: a clock read, and a stat of the files at most every kPollMs.
  void poll();
  // The files' current state becomes the accepted one (a reload just started the current files).
  void accept_current();
  const std::vector<std::filesystem::path>& files() const { return files_; }

 private:
  struct Folder {
    DeployWatch* owner = nullptr;
    std::filesystem::path path;
    std::vector<std::string> names;  // the watched files in it, as fs events name them
    UvHandle<uv_fs_event_t> event;
  };

  static void on_event(uv_fs_event_t* handle, const char* filename, int events, int status);
  std::string watch_folders();
  std::vector<FileIdentity> stamp_all() const;
  void changed();
  void on_settle_timer();

  uv_loop_t* loop_;
  std::vector<std::filesystem::path> files_;
  std::vector<std::unique_ptr<Folder>> folders_;
  Changed on_changed_;
  UvTimer settle_timer_;
  std::vector<FileIdentity> accepted_;  // the state the running children were started from
  std::vector<FileIdentity> seen_;      // the state when last looked at
  bool settling_ = false;
  uint64_t last_poll_ms_ = 0;
};

}  // namespace sitehost::proxy
