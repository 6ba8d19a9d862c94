// Watches a site's handler library for deploys and reports when a change has settled.
//
// Events come from a uv_fs_event on the library's folder (a watch on the file itself would be
// lost when a deploy renames a new file over it), filtered by the library's file name. A change
// is reported once the file's identity (device, inode, size, mtime) stayed the same for
// kSettleMs: a deploy still writing the file keeps moving its size or mtime. As a safety net
// against a missed event (a folder replaced as a whole, an inotify queue overflow), requests call
// poll(), which stats the file at most every kPollMs and treats a difference as an event (and
// re-arms the folder watch).
//
// Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "inproc/loader.h"
#include "shared/net/uv_handle.h"

namespace sitehost::inproc {

class HandlerWatch {
 public:
  static constexpr uint64_t kSettleMs = 500;
  static constexpr uint64_t kPollMs = 500;

  // `settled(identity)` runs on the loop (from a timer) when a change has settled; `identity` is
  // the file as it settled (exists = false when it is gone).
  using Settled = std::function<void(const FileIdentity& identity)>;

  HandlerWatch(uv_loop_t* loop, std::filesystem::path file, Settled settled);
  ~HandlerWatch() = default;  // the handles close through their owners
  HandlerWatch(const HandlerWatch&) = delete;
  HandlerWatch& operator=(const HandlerWatch&) = delete;

  // Starts watching. A libuv error when the folder cannot be watched (poll() still works).
  int start();
  // The request-time safety net (cheap: a clock read, and a stat at most every kPollMs).
  void poll();
  // Something may have changed: the settle timer (re)starts. Also for the owner, to have the
  // current state reported again once it settles.
  void changed();

 private:
  static void on_event(uv_fs_event_t* handle, const char* filename, int events, int status);
  static void on_timer(uv_timer_t* timer);
  int watch_folder();

  uv_loop_t* loop_;
  const std::filesystem::path file_;
  const std::string name_;  // the file name, as fs events report it
  Settled settled_;
  UvHandle<uv_fs_event_t> event_;
  UvHandle<uv_timer_t> timer_;
  FileIdentity seen_;  // the file when last looked at
  bool settling_ = false;
  uint64_t last_poll_ms_ = 0;
};

}  // namespace sitehost::inproc
