// The error log on systemd's journal (systemd.exec(5) JOURNAL_STREAM), through the real binary:
// when stderr is the stream JOURNAL_STREAM names, lines are "<N>message" (N the syslog priority)
// without a timestamp of their own; on any other stderr, the usual format.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <memory>
#include <sstream>

#include "tests/support/harness.h"
#include "tests/support/site_config.h"

namespace sitehost::test {
namespace {

class JournalLog : public ::testing::Test {
 protected:
  std::string config(int event_loops, const std::string& header_timeout = "\"30s\"") const {
    ConfigBuilder b(dir, port);
    b.server("admin", "\"off\"");
    b.server("event_loops", std::to_string(event_loops));
    b.server("header_timeout", header_timeout);
    b.inproc_app("hello", "hello");
    return b.str();
  }
  // "DEV:INO" of sitehost's output file (its stderr), made before it starts.
  std::string output_stream() const {
    std::filesystem::path out = dir.write("sitehost.out", "");
    struct stat st {};
    ::stat(out.c_str(), &st);
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  }
  size_t count(const std::string& text) const {
    std::string log = server->log();
    size_t n = 0;
    for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
    return n;
  }

  TempDir dir;
  uint16_t port = free_port();
  std::unique_ptr<Sitehost> server;
};

TEST_F(JournalLog, LinesCarryTheirPriorityAndNoTimestamp) {
  server = std::make_unique<Sitehost>(
      dir, config(1), std::map<std::string, std::string>{{"JOURNAL_STREAM", output_stream()}});
  ASSERT_TRUE(server->wait_listening(port)) << server->log();
  ASSERT_TRUE(wait_until([&] { return count(" started (pid") == 1; })) << server->log();
  // A warning (event_loops changes only at the next start), then an error (a failed reload).
  server->rewrite_config(config(2));
  server->process().signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return count("config reloaded") == 1; })) << server->log();
  server->rewrite_config(config(2, "\"soon\""));
  server->process().signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return count("reload failed") == 1; })) << server->log();
  EXPECT_EQ(server->stop(), 0) << server->log();

  std::string log = server->log();
  EXPECT_NE(log.find("<6>listening on 127.0.0.1:" + std::to_string(port) + "\n"), std::string::npos)
      << log;
  EXPECT_NE(log.find("\n<4>event_loops changed:"), std::string::npos) << log;
  EXPECT_NE(log.find("\n<3>reload failed, keeping the running config: "), std::string::npos) << log;
  EXPECT_EQ(log.find("Z ["), std::string::npos) << "a timestamp in a journal line:\n" << log;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);)
    EXPECT_TRUE(line.size() > 3 && line[0] == '<' && line[2] == '>') << line;
}

TEST_F(JournalLog, AnotherStreamKeepsTheUsualFormat) {
  output_stream();
  server = std::make_unique<Sitehost>(
      dir, config(1), std::map<std::string, std::string>{{"JOURNAL_STREAM", "1:1"}});
  ASSERT_TRUE(server->wait_listening(port)) << server->log();
  ASSERT_TRUE(wait_until([&] { return count(" started (pid") == 1; })) << server->log();
  EXPECT_EQ(server->stop(), 0) << server->log();
  EXPECT_NE(server->log().find("Z [info] listening on 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << server->log();
  EXPECT_EQ(server->log().find("<6>"), std::string::npos) << server->log();
}

}  // namespace
}  // namespace sitehost::test
