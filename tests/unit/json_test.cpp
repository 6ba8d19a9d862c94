// The JSON text helpers behind the /status documents (shared/util/json.h).
#include "shared/util/json.h"

#include <gtest/gtest.h>

#include <chrono>

namespace sitehost {
namespace {

TEST(Json, StringEscapes) {
  EXPECT_EQ(json_string("a\"b\\c\nd\te\x01"), "\"a\\\"b\\\\c\\nd\\te\\u0001\"");
}

TEST(Json, SiteStatusWithoutError) {
  EXPECT_EQ(json_site_status("running", "\"generation\":3,\"pids\":[41,42]", "", {}),
            "{\"state\":\"running\",\"generation\":3,\"pids\":[41,42],\"last_error\":null}");
}

TEST(Json, SiteStatusWithError) {
  std::chrono::system_clock::time_point at{std::chrono::milliseconds(1700000000123)};
  EXPECT_EQ(json_site_status("not started", "\"waiting\":0", "500.30: \"init\" failed", at),
            "{\"state\":\"not started\",\"waiting\":0,"
            "\"last_error\":\"500.30: \\\"init\\\" failed\",\"last_error_unix_ms\":1700000000123}");
}

}  // namespace
}  // namespace sitehost
