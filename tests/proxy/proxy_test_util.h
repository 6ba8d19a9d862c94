// Helpers shared by the out-of-process tests: the python children (tests/proxy/children), reading
// their json.dumps output, child process checks, and the fixture of the tests that run the real
// sitehost binary (after every test: sitehost stopped and no child process left, checked through
// ./pids, which every test child appends its pid to).
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/harness.h"

namespace sitehost::test {

// The python child servers.
inline std::filesystem::path children_dir() {
  return source_dir() / "tests/proxy/children";
}

// Minimal extraction from the children's json.dumps output: the integer after "key": (-1 if
// the key is missing).
inline long json_int(const std::string& json, const std::string& key) {
  auto at = json.find("\"" + key + "\": ");
  if (at == std::string::npos) return -1;
  return std::strtol(json.c_str() + at + key.size() + 4, nullptr, 10);
}
inline std::string json_str(const std::string& json, const std::string& key) {
  auto at = json.find("\"" + key + "\": \"");
  if (at == std::string::npos) return {};
  at += key.size() + 5;
  return json.substr(at, json.find('"', at) - at);
}
// True when the echoed headers contain exactly [name, value].
inline bool has_header(const std::string& json, const std::string& name, const std::string& value) {
  return json.find("[\"" + name + "\", \"" + value + "\"]") != std::string::npos;
}

// Gone = no /proc entry at all (a zombie still has one); never true for a pid <= 0.
inline bool process_gone(long pid) {
  return pid > 0 && !std::filesystem::exists(std::filesystem::path("/proc") / std::to_string(pid));
}

// Exited = gone, or a zombie none of whose threads still runs. A multithreaded process's leader
// shows "Z" while its other threads still exit, and its sockets stay open until the last one has:
// only then is its port closed.
inline bool process_exited(long pid) {
  if (process_gone(pid)) return true;
  std::filesystem::path proc = std::filesystem::path("/proc") / std::to_string(pid);
  std::ifstream stat(proc / "stat");
  std::string line;
  if (!std::getline(stat, line) || line.find(") Z") == std::string::npos) return false;
  std::error_code ec;
  auto threads = std::distance(std::filesystem::directory_iterator(proc / "task", ec),
                               std::filesystem::directory_iterator());
  return ec || threads <= 1;
}

// A "kB" field of /proc/PID/status (VmRSS, VmHWM...); -1 when absent.
inline long status_kb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0)
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  return -1;
}

// The pids the test children appended to `file`, in order.
inline std::vector<long> read_pids(const std::filesystem::path& file) {
  std::vector<long> out;
  std::ifstream in(file);
  long pid;
  while (in >> pid) out.push_back(pid);
  return out;
}

// A sitehost binary serving an out-of-process app from app_ (the children write app_/pids).
class ChildrenTest : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::create_directories(app_); }

  void TearDown() override {
    if (sitehost_) {
      int code = sitehost_->stop();
      EXPECT_EQ(code, 0) << sitehost_->log();
    }
    for (long pid : pids())
      EXPECT_TRUE(wait_until([&] { return process_gone(pid); }, 5s)) << "child " << pid << " left";
  }

  std::vector<long> pids() const { return read_pids(app_ / "pids"); }

  TempDir dir_;
  std::filesystem::path app_ = dir_ / "app";
  uint16_t port_ = free_port();
  std::optional<Sitehost> sitehost_;
};

}  // namespace sitehost::test
