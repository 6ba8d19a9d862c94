#include "shared/service/journal_stream.h"

#include <sys/stat.h>

#include <charconv>
#include <cstdint>

namespace sitehost::service {

bool is_journal_stream(std::string_view value, int fd) {
  size_t colon = value.find(':');
  if (colon == std::string_view::npos) return false;
  uint64_t dev = 0;
  uint64_t ino = 0;
  std::string_view d = value.substr(0, colon);
  std::string_view i = value.substr(colon + 1);
  auto r1 = std::from_chars(d.data(), d.data() + d.size(), dev);
  auto r2 = std::from_chars(i.data(), i.data() + i.size(), ino);
  if (r1.ec != std::errc() || r1.ptr != d.data() + d.size() || r2.ec != std::errc() ||
      r2.ptr != i.data() + i.size())
    return false;
  struct stat st {};
  return ::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_dev) == dev &&
         static_cast<uint64_t>(st.st_ino) == ino;
}

int syslog_priority(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return 3;
    case LogLevel::kWarn:
      return 4;
    case LogLevel::kInfo:
      return 6;
    case LogLevel::kDebug:
      break;
  }
  return 7;
}

std::string journal_lines(LogLevel level, std::string_view message) {
  std::string prefix = "<" + std::to_string(syslog_priority(level)) + ">";
  std::string out;
  for (;;) {
    size_t end = message.find('\n');
    out += prefix;
    out += message.substr(0, end);
    out += '\n';
    if (end == std::string_view::npos || end + 1 == message.size()) break;
    message.remove_prefix(end + 1);
  }
  return out;
}

}  // namespace sitehost::service
