// Where a child's stdout/stderr goes: to `<stdout_log_file>_<yyyyMMddHHmmss>_<pid>.log` when
// stdout_log_enabled (folders created, one file per child process), else to the error log at info
// level, one line per entry. The last ~30 KB are always kept for the 502.5 page.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

namespace sitehost {
class Logger;
}

namespace sitehost::proxy {

// "<prefix>_<yyyyMMddHHmmss>_<pid>.log" (timestamp in UTC, like ANCM).
std::filesystem::path stdout_log_path(const std::filesystem::path& prefix,
                                      std::chrono::system_clock::time_point when, pid_t pid);

class ChildOutput {
 public:
  static constexpr size_t kTailBytes = 30 * 1024;

  ChildOutput(Logger* log, std::string site_name);
  ~ChildOutput();
  ChildOutput(const ChildOutput&) = delete;
  ChildOutput& operator=(const ChildOutput&) = delete;

  // A new child process starts writing. `file_prefix` null: lines go to the error log. Returns
  // an error message when the file cannot be created (output then goes to the error log).
  std::string begin(pid_t pid, const std::filesystem::path* file_prefix);
  void append(std::string_view data);
  // The child is gone: flushes a partial line, closes the file.
  void end();

  // The kept tail, starting at a line boundary when possible.
  std::string tail() const;
  void clear_tail() { tail_.clear(); }
  const std::filesystem::path& file() const { return file_; }

 private:
  void log_line(std::string_view line);

  Logger* log_;
  std::string site_;
  pid_t pid_ = 0;
  int fd_ = -1;
  std::filesystem::path file_;
  std::string line_;  // partial line (error-log mode)
  std::string tail_;
};

}  // namespace sitehost::proxy
