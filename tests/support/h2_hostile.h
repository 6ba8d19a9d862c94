// Runs tests/h2/h2_hostile.py (a hostile HTTP/2 client on Debian's python3-h2) and reads its
// one-line JSON report. The script decides nothing: tests assert on the report.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/harness.h"

namespace sitehost::test {

// /usr/bin/python3 when it can import h2 and hpack (python3-h2), "" otherwise. Checked once.
const std::string& python_with_h2();
std::filesystem::path h2_hostile_script();

// The report of one run. Field names follow the JSON (see the script's docstring).
struct H2AttackReport {
  int exit_code = -1;  // 0: the run completed; 2: usage or connection error; -1: killed
  std::string output;  // everything the script printed (the JSON is its last line)
  std::string json;    // the JSON line, "" when there was none

  bool server_closed() const;
  std::optional<double> number(const std::string& key) const;  // nullopt when null/absent
  std::string goaway_error() const;                            // "" when no GOAWAY came
  std::optional<double> goaway_after() const;
  // A count inside one of the report's objects: rst_errors, statuses, server_settings.
  long count(const std::string& object, const std::string& key) const;
  // A string inside one of the report's flat objects (malformed_fields' cases); "" when absent.
  std::string text(const std::string& object, const std::string& key) const;
  std::string error() const;  // the script's own error, "" when null
};

// Starts the attack (`python3 h2_hostile.py ATTACK --port PORT ARGS...`) without waiting.
// The output goes to `dir`/h2-ATTACK-N.out.
class H2Attack {
 public:
  H2Attack(const std::filesystem::path& dir, const std::string& attack, uint16_t port,
           const std::vector<std::string>& args);
  bool running() { return process_.running(); }
  // Waits for the end (bounded by `timeout`; then it is killed) and parses the report.
  H2AttackReport finish(Ms timeout);

 private:
  Process process_;
};

// VmRSS / VmHWM (peak) of a process in KiB from /proc/PID/status; -1 when unreadable.
long process_memory_kib(pid_t pid, const std::string& field = "VmRSS");

}  // namespace sitehost::test
