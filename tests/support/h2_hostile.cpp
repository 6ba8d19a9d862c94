#include "tests/support/h2_hostile.h"

#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sitehost::test {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPython = "/usr/bin/python3";

fs::path output_file(const fs::path& dir, const std::string& attack) {
  static std::atomic<int> counter = 0;
  return dir / ("h2-" + attack + "-" + std::to_string(++counter) + ".out");
}

std::vector<std::string> attack_argv(const std::string& attack, uint16_t port,
                                     const std::vector<std::string>& args) {
  std::vector<std::string> argv{
      kPython,  h2_hostile_script().string(), attack, "--host", "127.0.0.1",
      "--port", std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// The text after `"key": ` in `json`, or npos. The script writes json.dumps' default separators.
size_t value_at(const std::string& json, const std::string& key, size_t from = 0) {
  size_t at = json.find("\"" + key + "\": ", from);
  return at == std::string::npos ? at : at + key.size() + 4;
}

}  // namespace

const std::string& python_with_h2() {
  static const std::string python = [] {
    TempDir dir;
    ProgramResult r = run_program({kPython, "-c", "import h2, hpack"}, dir / "python-h2.out", 20s);
    return r.exit_code == 0 ? std::string(kPython) : std::string();
  }();
  return python;
}

fs::path h2_hostile_script() {
  return source_dir() / "tests" / "h2" / "h2_hostile.py";
}

bool H2AttackReport::server_closed() const {
  size_t at = value_at(json, "server_closed");
  return at != std::string::npos && json.compare(at, 4, "true") == 0;
}

std::optional<double> H2AttackReport::number(const std::string& key) const {
  size_t at = value_at(json, key);
  if (at == std::string::npos || json.compare(at, 4, "null") == 0) return std::nullopt;
  return std::strtod(json.c_str() + at, nullptr);
}

std::string H2AttackReport::goaway_error() const {
  size_t at = value_at(json, "goaway");
  if (at == std::string::npos || json.compare(at, 4, "null") == 0) return "";
  at = value_at(json, "error", at);
  if (at == std::string::npos || json[at] != '"') return "";
  return json.substr(at + 1, json.find('"', at + 1) - at - 1);
}

std::optional<double> H2AttackReport::goaway_after() const {
  size_t at = value_at(json, "goaway");
  if (at == std::string::npos || json.compare(at, 4, "null") == 0) return std::nullopt;
  at = value_at(json, "after", at);
  if (at == std::string::npos) return std::nullopt;
  return std::strtod(json.c_str() + at, nullptr);
}

long H2AttackReport::count(const std::string& object, const std::string& key) const {
  size_t begin = value_at(json, object);
  if (begin == std::string::npos || json[begin] != '{') return 0;
  size_t end = json.find('}', begin);
  size_t at = value_at(json, key, begin);
  if (at == std::string::npos || at > end) return 0;
  return std::strtol(json.c_str() + at, nullptr, 10);
}

std::string H2AttackReport::text(const std::string& object, const std::string& key) const {
  size_t begin = value_at(json, object);
  if (begin == std::string::npos || json[begin] != '{') return "";
  size_t at = value_at(json, key, begin);
  if (at == std::string::npos || at > json.find('}', begin) || json[at] != '"') return "";
  return json.substr(at + 1, json.find('"', at + 1) - at - 1);
}

std::string H2AttackReport::error() const {
  // The top-level "error" comes after the goaway's (and no extra key is named error).
  size_t at = json.rfind("\"error\": ");
  if (at == std::string::npos) return "";
  at += 9;
  if (json.compare(at, 4, "null") == 0) return "";
  return json.substr(at + 1, json.find('"', at + 1) - at - 1);
}

H2Attack::H2Attack(const fs::path& dir, const std::string& attack, uint16_t port,
                   const std::vector<std::string>& args)
    : process_(attack_argv(attack, port, args), output_file(dir, attack)) {}

H2AttackReport H2Attack::finish(Ms timeout) {
  H2AttackReport report;
  std::optional<int> status = process_.wait_exit(timeout);
  if (status && WIFEXITED(*status)) report.exit_code = WEXITSTATUS(*status);
  report.output = process_.output();
  size_t at = report.output.rfind("{\"attack\": ");
  if (at != std::string::npos)
    report.json = report.output.substr(at, report.output.find('\n', at) - at);
  return report;
}

long process_memory_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0)
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

}  // namespace sitehost::test
