#include "inproc/stderr_capture.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

namespace sitehost::inproc {

namespace {

void write_all(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the real stderr is gone: nothing better to do
    data += n;
    len -= static_cast<size_t>(n);
  }
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::string StderrCapture::Session::text() const {
  std::lock_guard lock(mutex_);
  if (dropped_ == 0) return text_;
  return text_ + fmt::format("\n[... {} more bytes not kept]\n", dropped_);
}

void StderrCapture::Session::append(const char* data, size_t len) {
  std::lock_guard lock(mutex_);
  size_t room = limit_ > text_.size() ? limit_ - text_.size() : 0;
  size_t n = std::min(room, len);
  text_.append(data, n);
  dropped_ += len - n;
}

StderrCapture& StderrCapture::process() {
  static StderrCapture capture;
  return capture;
}

StderrCapture::~StderrCapture() {
  std::lock_guard lock(lifecycle_);
  if (active_) stop_tee();
}

void StderrCapture::open(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(lifecycle_);
  if (session->phase_ != Session::Phase::kNew) return;
  session->phase_ = Session::Phase::kOpen;
  if (!active_ && !start_tee()) return;  // no capture (fd 2 closed, no fds left): run without
  std::lock_guard data(data_);
  sessions_.push_back(session);
}

void StderrCapture::close(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(lifecycle_);
  session->phase_ = Session::Phase::kClosed;
  {
    std::lock_guard data(data_);
    auto it = std::find(sessions_.begin(), sessions_.end(), session);
    if (it == sessions_.end()) return;
    pump();  // everything written before this call is in the pipe now
    sessions_.erase(it);
  }
  if (sessions_.empty()) stop_tee();
}

bool StderrCapture::start_tee() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  int saved = ::fcntl(2, F_DUPFD_CLOEXEC, 3);
  int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (saved < 0 || wake < 0 || ::dup2(fds[1], 2) < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    if (saved >= 0) ::close(saved);
    if (wake >= 0) ::close(wake);
    return false;
  }
  ::close(fds[1]);  // fd 2 is now the pipe's only write end
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  saved_stderr_ = saved;
  pipe_read_ = fds[0];
  wake_fd_ = wake;
  active_ = true;
  tee_ = std::thread([this] { run(); });
  return true;
}

void StderrCapture::stop_tee() {
  ::dup2(saved_stderr_, 2);  // closes the pipe's write end: fd 2 is the real stderr again
  {
    std::lock_guard data(data_);
    pump();  // whatever was written between the last pump and the dup2
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
  if (tee_.joinable()) tee_.join();
  close_fd(pipe_read_);
  close_fd(wake_fd_);
  close_fd(saved_stderr_);
  active_ = false;
}

void StderrCapture::pump() {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(pipe_read_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EAGAIN (drained) or EOF
    write_all(saved_stderr_, buf, static_cast<size_t>(n));
    for (auto& s : sessions_) s->append(buf, static_cast<size_t>(n));
  }
}

void StderrCapture::run() {
  pollfd fds[2] = {{pipe_read_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    if (fds[0].revents) {
      std::lock_guard data(data_);
      pump();
      if (fds[0].revents & (POLLHUP | POLLERR)) {
        // The write end is closed (stop_tee's dup2): wait for the wake-up only.
        fds[0].fd = -1;
      }
    }
  }
}

}  // namespace sitehost::inproc
