// Error log (levelled lines) and access log (one line per request), both reopenable on SIGUSR1.
// Owned by the server; passed by reference to whoever needs it. configure() and reopen() run on
// the control thread only; everything else is thread-safe (every loop and app thread logs).
#pragma once

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "shared/config/config.h"

namespace sitehost {

class Logger {
 public:
  Logger() = default;
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Opens (or re-targets) the two logs. Returns an error message, empty on success; on failure
  // the previous files stay in use.
  std::string configure(const std::string& error_log, const std::string& access_log,
                        LogLevel level);
  // Reopens both files by name (logrotate convention). Returns an error message or empty.
  std::string reopen();
  // stderr is the systemd journal (shared/service/journal_stream.h): while the error log is
  // stderr, each line is written as "<N>message" (N its syslog priority) without a timestamp,
  // which the journal adds. Call before any thread logs (main(), before the server starts).
  void set_stderr_is_journal(bool on) { stderr_is_journal_ = on; }

  // Thread-safe (app threads log through the server while a reload calls configure()); a relaxed
  // load: the level orders nothing else, a line racing a level change may go either way.
  bool enabled(LogLevel level) const { return level >= level_.load(std::memory_order_relaxed); }
  // Thread-safe.
  void write(LogLevel level, std::string_view message);
  template <class... Args>
  void log(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(level)) write(level, fmt::format(f, std::forward<Args>(args)...));
  }
  template <class... Args>
  void debug(fmt::format_string<Args...> f, Args&&... args) {
    log(LogLevel::kDebug, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void info(fmt::format_string<Args...> f, Args&&... args) {
    log(LogLevel::kInfo, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void warn(fmt::format_string<Args...> f, Args&&... args) {
    log(LogLevel::kWarn, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void error(fmt::format_string<Args...> f, Args&&... args) {
    log(LogLevel::kError, f, std::forward<Args>(args)...);
  }

  // Thread-safe (every event loop asks, a reload or SIGUSR1 reopens): a relaxed load, as the level.
  bool access_enabled() const { return access_on_.load(std::memory_order_relaxed); }
  // Thread-safe. `line` without the trailing newline.
  void access(std::string_view line);

 private:
  std::mutex mutex_;
  std::string error_path_;
  std::string access_path_;
  FILE* error_ = nullptr;  // nullptr = stderr
  FILE* access_ = nullptr;
  std::atomic<LogLevel> level_{LogLevel::kInfo};
  std::atomic<bool> access_on_{false};  // access_ != nullptr, for readers without the mutex
  bool stderr_is_journal_ = false;      // set before threads start, then only read
};

}  // namespace sitehost
