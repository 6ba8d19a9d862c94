// One child server process: spawned through libuv (its own session and process group), its
// stdout+stderr merged into one pipe that is always drained, its exit reported once.
//
// When the sitehost-launch helper is available the child is started through it: the helper sets
// PR_SET_PDEATHSIG(SIGKILL) (so the child dies with sitehost), checks that sitehost is still its
// parent, then execs the program in place (same pid).
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shared/net/uv_handle.h"

namespace sitehost::proxy {

struct ChildSpec {
  std::string program;                   // absolute path
  std::vector<std::string> arguments;    // without argv[0]
  std::vector<std::string> environment;  // complete "NAME=value" list
  std::string working_directory;
  std::string launcher;           // sitehost-launch; empty: the program is spawned directly
  bool batch_scheduling = false;  // SCHED_BATCH (set by the launcher)
};

// The sitehost-launch executable: next to the running binary, else where the install puts it
// relative to that binary (../libexec/sitehost/), else where the build put it; empty when none
// exists.
std::string find_launcher();

class ChildProcess {
 public:
  using OutputFn = std::function<void(std::string_view data)>;
  // Called once, after the process was reaped and the rest of its group killed. May destroy
  // the ChildProcess.
  using ExitFn = std::function<void(int64_t exit_status, int term_signal)>;

  explicit ChildProcess(uv_loop_t* loop);
  // A child still running here is killed (group, SIGKILL); normally it has exited before.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Returns 0 or a libuv error code (then nothing runs and no callback fires).
  int spawn(const ChildSpec& spec, OutputFn on_output, ExitFn on_exit);

  pid_t pid() const { return pid_; }
  bool running() const { return running_; }
  // SIGTERM to the main process only (its own children are the app's business until the kill).
  void terminate();
  // SIGKILL to the whole process group.
  void kill_group();

 private:
  static void on_exit_cb(uv_process_t* process, int64_t exit_status, int term_signal);
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  void drain();  // reads what is left in the pipe without blocking

  uv_loop_t* loop_;
  UvHandle<uv_process_t> process_;
  UvHandle<uv_pipe_t> pipe_;
  std::unique_ptr<char[]> buffer_;
  pid_t pid_ = 0;
  bool running_ = false;
  OutputFn on_output_;
  ExitFn on_exit_;
};

}  // namespace sitehost::proxy
