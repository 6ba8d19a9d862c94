#include "proxy/child_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include "shared/log/logger.h"

namespace sitehost::proxy {

namespace {
constexpr size_t kMaxLine = 4096;  // longer lines are logged in pieces
}

std::filesystem::path stdout_log_path(const std::filesystem::path& prefix,
                                      std::chrono::system_clock::time_point when, pid_t pid) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::filesystem::path file = prefix;
  file += fmt::format("_{:04}{:02}{:02}{:02}{:02}{:02}_{}.log", tm.tm_year + 1900, tm.tm_mon + 1,
                      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, pid);
  return file;
}

ChildOutput::ChildOutput(Logger* log, std::string site_name)
    : log_(log), site_(std::move(site_name)) {}

ChildOutput::~ChildOutput() {
  end();
}

std::string ChildOutput::begin(pid_t pid, const std::filesystem::path* file_prefix) {
  end();
  pid_ = pid;
  file_.clear();
  if (!file_prefix) return {};
  std::filesystem::path path = stdout_log_path(*file_prefix, std::chrono::system_clock::now(), pid);
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return fmt::format("cannot create stdout log {}: {}", path.string(),
                       ec ? ec.message() : std::strerror(errno));
  }
  fd_ = fd;
  file_ = std::move(path);
  return {};
}

void ChildOutput::log_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (log_) log_->info("site '{}' child {}: {}", site_, pid_, line);
}

void ChildOutput::append(std::string_view data) {
  tail_.append(data);
  if (tail_.size() > 2 * kTailBytes) tail_.erase(0, tail_.size() - kTailBytes);

  if (fd_ >= 0) {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // disk full or similar: the tail still has it
      data.remove_prefix(static_cast<size_t>(n));
    }
    return;
  }
  while (!data.empty()) {
    size_t eol = data.find('\n');
    if (eol == std::string_view::npos) {
      line_.append(data);
      if (line_.size() >= kMaxLine) {
        log_line(line_);
        line_.clear();
      }
      return;
    }
    if (line_.empty()) {
      log_line(data.substr(0, eol));
    } else {
      line_.append(data.substr(0, eol));
      log_line(line_);
      line_.clear();
    }
    data.remove_prefix(eol + 1);
  }
}

void ChildOutput::end() {
  if (!line_.empty()) {
    log_line(line_);
    line_.clear();
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

std::string ChildOutput::tail() const {
  std::string_view t = tail_;
  if (t.size() > kTailBytes) {
    t = t.substr(t.size() - kTailBytes);
    size_t eol = t.find('\n');
    if (eol != std::string_view::npos && eol + 1 < t.size()) t.remove_prefix(eol + 1);
  }
  return std::string(t);
}

}  // namespace sitehost::proxy
