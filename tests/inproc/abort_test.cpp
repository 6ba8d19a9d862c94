// Client disconnects reach the app (the analogue of RequestAborted) within a second.
#include <gtest/gtest.h>

#include "tests/inproc/inproc_test_util.h"

namespace sitehost::test {
namespace {

TEST(Abort, TheAbortCallbackFiresWithinOneSecondOfADisconnect) {
  TempDir dir;
  uint16_t port = free_port();
  auto record = dir / "aborts.txt";
  Sitehost host(
      dir, inproc_config(port, dir.path(),
                         {{"probe", "/", app_library("abort_probe"),
                           "environment = { ABORT_PROBE_FILE = \"" + record.string() + "\" }\n"}}));
  ASSERT_TRUE(host.wait_listening(port)) << host.log();

  // Not aborted: the app answers on its own thread.
  auto normal = http_request(port, "GET", "/quick?ms=20");
  ASSERT_TRUE(normal);
  EXPECT_EQ(normal->body, "not aborted\n");

  for (int i = 0; i < 3; ++i) {
    std::string target = "/wait" + std::to_string(i) + "?ms=30000";
    {
      Client c(port);
      ASSERT_TRUE(c.send("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n"));
      ASSERT_TRUE(wait_until([&] {
        return read_file(record).find("started " + target) != std::string::npos;
      })) << host.log();
    }  // disconnect
    auto gone = std::chrono::steady_clock::now();
    EXPECT_TRUE(wait_until(
        [&] { return read_file(record).find("aborted " + target) != std::string::npos; }, 1s))
        << read_file(record) << host.log();
    EXPECT_LT(std::chrono::steady_clock::now() - gone, 1s);
  }
  EXPECT_EQ(host.stop(), 0) << host.log();
}

}  // namespace
}  // namespace sitehost::test
