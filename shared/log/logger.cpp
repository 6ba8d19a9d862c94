#include "shared/log/logger.h"

#include <sys/time.h>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "shared/service/journal_stream.h"

namespace sitehost {
namespace {

// Opens `path` for appending; nullptr + message on failure.
FILE* open_append(const std::string& path, std::string& error) {
  FILE* f = std::fopen(path.c_str(), "ae");
  if (!f) error = fmt::format("{}: cannot open: {}", path, std::strerror(errno));
  return f;
}

void close_file(FILE*& f) {
  if (f) std::fclose(f);
  f = nullptr;
}

// "2026-01-02T03:04:05.678Z [info] message\n": the log file format.
std::string stamped_line(LogLevel level, std::string_view message) {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  tm utc{};
  gmtime_r(&tv.tv_sec, &utc);
  char stamp[40];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03d}Z [{}] {}\n", stamp, static_cast<int>(tv.tv_usec / 1000),
                     to_string(level), message);
}

}  // namespace

Logger::~Logger() {
  close_file(error_);
  close_file(access_);
}

std::string Logger::configure(const std::string& error_log, const std::string& access_log,
                              LogLevel level) {
  std::string error;
  FILE* new_error = nullptr;
  FILE* new_access = nullptr;
  if (!error_log.empty() && !(new_error = open_append(error_log, error))) return error;
  if (!access_log.empty() && !(new_access = open_append(access_log, error))) {
    close_file(new_error);
    return error;
  }
  std::lock_guard lock(mutex_);
  close_file(error_);
  close_file(access_);
  error_ = new_error;
  access_ = new_access;
  access_on_.store(new_access != nullptr, std::memory_order_relaxed);
  error_path_ = error_log;
  access_path_ = access_log;
  level_.store(level, std::memory_order_relaxed);
  return {};
}

std::string Logger::reopen() {
  return configure(error_path_, access_path_, level_.load(std::memory_order_relaxed));
}

void Logger::write(LogLevel level, std::string_view message) {
  std::lock_guard lock(mutex_);
  FILE* out = error_ ? error_ : stderr;
  std::string line = !error_ && stderr_is_journal_ ? service::journal_lines(level, message)
                                                   : stamped_line(level, message);
  std::fwrite(line.data(), 1, line.size(), out);
  std::fflush(out);
}

void Logger::access(std::string_view line) {
  std::lock_guard lock(mutex_);
  if (!access_) return;
  std::fwrite(line.data(), 1, line.size(), access_);
  std::fputc('\n', access_);
  std::fflush(access_);
}

}  // namespace sitehost
