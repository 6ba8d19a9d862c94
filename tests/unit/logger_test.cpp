// The error log (shared/log/logger.h): levels, and logging from app threads while the loop thread
// reconfigures it (a config reload). Under the tsan preset the concurrent test must be race-free.
#include "shared/log/logger.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace sitehost {
namespace {

namespace fs = std::filesystem;

class LoggerTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sitehost-logger-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string read(const fs::path& file) const {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  fs::path dir_;
};

TEST_F(LoggerTest, LevelFiltersLines) {
  Logger log;
  fs::path file = dir_ / "error.log";
  ASSERT_EQ(log.configure(file.string(), "", LogLevel::kWarn), "");
  EXPECT_FALSE(log.enabled(LogLevel::kInfo));
  EXPECT_TRUE(log.enabled(LogLevel::kWarn));
  log.info("hidden {}", 1);
  log.error("shown {}", 2);
  ASSERT_EQ(log.configure(file.string(), "", LogLevel::kDebug), "");
  EXPECT_TRUE(log.enabled(LogLevel::kDebug));
  log.debug("shown {}", 3);
  std::string text = read(file);
  EXPECT_EQ(text.find("hidden"), std::string::npos) << text;
  EXPECT_NE(text.find("[error] shown 2"), std::string::npos) << text;
  EXPECT_NE(text.find("[debug] shown 3"), std::string::npos) << text;
}

// Handler libraries log through the server from any thread (Generation's log callback), while a
// config reload calls configure() on the loop thread: the level check must not race with it.
TEST_F(LoggerTest, LogFromThreadsWhileReconfiguring) {
  Logger log;
  fs::path file = dir_ / "error.log";
  ASSERT_EQ(log.configure(file.string(), "", LogLevel::kInfo), "");
  constexpr int kThreads = 4;
  constexpr int kLinesPerThread = 2000;
  std::atomic<int> running{kThreads};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, &running, t] {
      for (int i = 0; i < kLinesPerThread; ++i) {
        log.debug("thread {} debug {}", t, i);
        log.warn("thread {} warn {}", t, i);
      }
      running.fetch_sub(1);
    });
  }
  // Reconfigure until every logging thread is done (at least a few times).
  const LogLevel levels[] = {LogLevel::kDebug, LogLevel::kError, LogLevel::kInfo};
  int reconfigured = 0;
  while (running.load() > 0 || reconfigured < 10) {
    ASSERT_EQ(log.configure(file.string(), "", levels[reconfigured % 3]), "");
    ++reconfigured;
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(log.configure(file.string(), "", LogLevel::kWarn), "");
  log.warn("last line");
  // Every line written is whole (writes are serialised). How many warn lines pass depends on
  // the levels the threads happened to see, so only the bound is checked.
  std::string text = read(file);
  size_t lines = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    ++lines;
    EXPECT_TRUE(line.find("] thread ") != std::string::npos ||
                line.find("] last line") != std::string::npos)
        << line;
  }
  EXPECT_LE(lines, static_cast<size_t>(2 * kThreads * kLinesPerThread + 1));
  EXPECT_NE(text.find("last line"), std::string::npos);
}

}  // namespace
}  // namespace sitehost
