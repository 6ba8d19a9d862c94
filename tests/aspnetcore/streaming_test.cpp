// Server-sent events, long polls and streamed responses from Kestrel: the head reaches the client
// as soon as the app flushes it, and each event as the app flushes it (ANCM buffered them into
// the 2-minute timeout: aspnet/SignalR#131).
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/aspnetcore/aspnetcore_fixture.h"

namespace sitehost::test {
namespace {

// Reads from `c` until `text` is in its buffer (within c's deadline).
bool read_until(Client& c, const std::string& text) {
  while (c.pending().find(text) == std::string::npos)
    if (!c.read_at_least(c.pending().size() + 1)) return false;
  return true;
}

// The app starts the response at once and writes an event every 2 s: the head arrives before
// any event exists, and each event arrives alone (the next one is 2 s away).
TEST_F(AspNetCore, ServerSentEventsArriveAsTheAppFlushesThem) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  ASSERT_GT(app_pid(), 0);
  Client c(http_port_, 20s);
  ASSERT_TRUE(c.send("GET /sse?events=3&ms=2000 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_TRUE(read_until(c, "\r\n\r\n")) << c.pending();
  EXPECT_EQ(c.pending().rfind("HTTP/1.1 200", 0), 0u) << c.pending();
  EXPECT_NE(c.pending().find("text/event-stream"), std::string::npos) << c.pending();
  EXPECT_EQ(c.pending().find("data:"), std::string::npos) << "the head waited for an event";
  ASSERT_TRUE(read_until(c, "data: event 1\n\n")) << c.pending();
  EXPECT_EQ(c.pending().find("data: event 2"), std::string::npos) << "events were held back";
  ASSERT_TRUE(read_until(c, "data: event 2\n\n")) << c.pending();
  EXPECT_EQ(c.pending().find("data: event 3"), std::string::npos) << "events were held back";
  ASSERT_TRUE(read_until(c, "data: event 3\n\n")) << c.pending();
  ASSERT_TRUE(read_until(c, "0\r\n\r\n")) << c.pending();  // the chunked body ends
}

TEST_F(AspNetCore, StreamedResponsePartsArriveOneByOne) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  ASSERT_GT(app_pid(), 0);
  Client c(http_port_, 20s);
  ASSERT_TRUE(c.send("GET /stream?parts=3&ms=1500 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_TRUE(read_until(c, "part 1\n")) << c.pending();
  EXPECT_EQ(c.pending().find("part 2"), std::string::npos);
  ASSERT_TRUE(read_until(c, "part 2\n")) << c.pending();
  EXPECT_EQ(c.pending().find("part 3"), std::string::npos);
  ASSERT_TRUE(read_until(c, "part 3\n")) << c.pending();
  ASSERT_TRUE(read_until(c, "0\r\n\r\n")) << c.pending();
}

}  // namespace
}  // namespace sitehost::test
