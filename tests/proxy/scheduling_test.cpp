// process_scheduling: an out-of-process child runs as SCHED_BATCH by default (set by
// sitehost-launch before it execs the program) and with the normal policy when asked.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/harness.h"
#include "tests/support/site_config.h"

namespace sitehost::test {
namespace {

// The scheduling policy of `pid` (field 41 of /proc/PID/stat: 0 normal, 3 batch); -1 unknown.
int policy_of(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t after_name = stat.rfind(')');
  if (after_name == std::string::npos) return -1;
  std::istringstream fields(stat.substr(after_name + 2));  // field 3 onwards
  std::string field;
  for (int n = 3; fields >> field; ++n)
    if (n == 41) return std::stoi(field);
  return -1;
}

// The pid the echo child reports in its JSON answer ("pid": N).
long child_pid(const Response& r) {
  size_t at = r.body.find("\"pid\": ");
  return at == std::string::npos ? -1 : std::stol(r.body.substr(at + 7));
}

TEST(ProcessScheduling, BatchByDefaultNormalOnRequest) {
  TempDir dir;
  uint16_t port = free_port();
  ConfigBuilder b(dir, port);
  b.server("admin", "\"off\"");
  for (const char* name : {"batch", "normal"}) {
    SiteSpec s;
    s.name = name;
    s.path = std::string("/") + name;
    s.hosting_model = "outofprocess";
    s.keys["process_path"] = toml_string("/usr/bin/python3");
    s.keys["arguments"] =
        "[" + toml_string((source_dir() / "tests/proxy/children/echo.py").string()) + "]";
    if (std::string(name) == "normal") s.keys["process_scheduling"] = "\"normal\"";
    b.site(s);
  }
  Sitehost server(dir, b.str());
  ASSERT_TRUE(server.wait_listening(port)) << server.log();
  auto batch = http_request(port, "GET", "/batch/x");
  auto normal = http_request(port, "GET", "/normal/x");
  ASSERT_TRUE(batch && normal) << server.log();
  ASSERT_EQ(batch->status, 200) << batch->body;
  ASSERT_EQ(normal->status, 200) << normal->body;
  EXPECT_EQ(policy_of(child_pid(*batch)), 3) << batch->body;    // SCHED_BATCH
  EXPECT_EQ(policy_of(child_pid(*normal)), 0) << normal->body;  // SCHED_OTHER
  EXPECT_EQ(server.stop(), 0) << server.log();
}

}  // namespace
}  // namespace sitehost::test
