// systemd.exec(5) JOURNAL_STREAM: "DEVICE:INODE" of the stream the service manager connected to
// the journal. When a descriptor of ours is that very stream (fstat(2) says so), lines written to
// it may start with a syslog priority, "<6>message" (sd-daemon(3)), and carry no timestamp of
// their own: the journal stamps each line as it arrives.
#pragma once

#include <string>
#include <string_view>

#include "shared/config/config.h"

namespace sitehost::service {

// Whether descriptor `fd` is the stream JOURNAL_STREAM's value names (false when `value` is
// empty or malformed, or fd is something else, e.g. redirected by the caller).
bool is_journal_stream(std::string_view value, int fd);

// The syslog priority of a log level: error 3, warn 4, info 6, debug 7.
int syslog_priority(LogLevel level);

// `message` as the journal reads it: "<6>message\n", every line of a multi-line message with the
// prefix (the journal takes each line as a record of its own).
std::string journal_lines(LogLevel level, std::string_view message);

}  // namespace sitehost::service
