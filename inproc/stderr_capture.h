// Captures what a handler library writes to stderr while it starts (dlopen + init), so a failed
// start can show it (500.30 / 500.37 with detailed_errors).
//
// fd 2 belongs to the whole process, so this is a process-wide tee with one owner (process()):
// while at least one session is open, fd 2 is a pipe; a tee thread copies every byte to the real
// stderr (nothing is lost or reordered there) and appends it to every open session. Output that
// other threads write in that window (the server's own log lines when its error log is stderr,
// another site starting at the same time) lands in the sessions too; the page says so. Each
// session keeps at most `limit` bytes.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sitehost::inproc {

class StderrCapture {
 public:
  class Session {
   public:
    explicit Session(size_t limit) : limit_(limit) {}
    // The bytes so far (and a note when some were dropped). Any thread.
    std::string text() const;

   private:
    friend class StderrCapture;
    void append(const char* data, size_t len);
    mutable std::mutex mutex_;
    size_t limit_;
    std::string text_;
    size_t dropped_ = 0;
    enum class Phase { kNew, kOpen, kClosed } phase_ = Phase::kNew;  // lifecycle_ held
  };

  static StderrCapture& process();

  // Starts teeing into `session` (fd 2 is redirected when it is the first). A session opens once,
  // and never after it was closed (a start the loop gave up on before it began).
  void open(const std::shared_ptr<Session>& session);
  // Stops teeing into it, after collecting everything written before the call; restores fd 2
  // when it was the last. Idempotent; closing a session that never opened marks it closed.
  void close(const std::shared_ptr<Session>& session);

  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;
  ~StderrCapture();

 private:
  StderrCapture() = default;
  bool start_tee();  // lifecycle_ held
  void stop_tee();   // lifecycle_ held
  void pump();       // data_ held: reads the pipe dry, copies to the real stderr and sessions
  void run();

  std::mutex lifecycle_;  // open/close (outer)
  std::mutex data_;       // the pipe, the session list (inner; the tee thread takes only this)
  std::vector<std::shared_ptr<Session>> sessions_;
  int saved_stderr_ = -1;
  int pipe_read_ = -1;
  int wake_fd_ = -1;  // eventfd: tells the tee thread to exit
  std::thread tee_;
  bool active_ = false;
};

}  // namespace sitehost::inproc
