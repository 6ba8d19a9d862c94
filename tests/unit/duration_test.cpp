#include "shared/util/duration.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace sitehost {
namespace {

using std::chrono::milliseconds;

TEST(ParseDuration, AcceptsUnitForms) {
  const std::pair<std::string, int64_t> cases[] = {
      {"0s", 0},
      {"0ms", 0},
      {"250ms", 250},
      {"30s", 30'000},
      {"2m", 120'000},
      {"1h", 3'600'000},
      {"360h", 1'296'000'000},
      {"007s", 7'000},
      {"9223372036854775807ms", INT64_MAX},
      {"2562047788015h", 2562047788015 * 3'600'000},
  };
  for (const auto& [text, ms] : cases) {
    auto d = parse_duration(text);
    ASSERT_TRUE(d.has_value()) << text;
    EXPECT_EQ(d->count(), ms) << text;
  }
}

TEST(ParseDuration, AcceptsAncmClockForm) {
  const std::pair<std::string, int64_t> cases[] = {
      {"00:02:00", 120'000},        {"00:00:00", 0},         {"1:2:3", 3'723'000},
      {"360:00:00", 1'296'000'000}, {"00:59:59", 3'599'000},
  };
  for (const auto& [text, ms] : cases) {
    auto d = parse_duration(text);
    ASSERT_TRUE(d.has_value()) << text;
    EXPECT_EQ(d->count(), ms) << text;
  }
}

TEST(ParseDuration, RejectsMalformed) {
  for (const char* text : {"",
                           "30",
                           "s",
                           "ms",
                           "1.5s",
                           "-1s",
                           "+1s",
                           " 30s",
                           "30s ",
                           "30 s",
                           "30S",
                           "1d",
                           "30sec",
                           "1h30m",
                           "00:60:00",
                           "00:00:60",
                           "1:2",
                           "1:2:3:4",
                           ":1:2",
                           "1::2",
                           "00:002:00",
                           "a:00:00",
                           "9223372036854775808ms",
                           "99999999999999999999ms",
                           "2562047788016h",
                           "2562047788016:00:00"}) {
    EXPECT_FALSE(parse_duration(text).has_value()) << '"' << text << '"';
  }
}

TEST(FormatDuration, PicksLargestExactUnit) {
  EXPECT_EQ(format_duration(milliseconds(0)), "0s");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(90'000)), "90s");
  EXPECT_EQ(format_duration(milliseconds(120'000)), "2m");
  EXPECT_EQ(format_duration(milliseconds(3'600'000)), "1h");
  EXPECT_EQ(format_duration(milliseconds(-2000)), "-2s");
}

TEST(FormatDuration, RoundTrips) {
  for (const char* text : {"1ms", "59s", "61m", "25h", "1500ms"}) {
    EXPECT_EQ(format_duration(*parse_duration(text)), text);
  }
}

TEST(ParseSize, AcceptsBytesAndUnits) {
  const std::pair<std::string, uint64_t> cases[] = {
      {"0", 0},
      {"100", 100},
      {"10B", 10},
      {"10b", 10},
      {"8KiB", 8192},
      {"8kib", 8192},
      {"16k", 16384},
      {"16K", 16384},
      {"8KB", 8000},
      {"8kB", 8000},
      {"1MiB", 1048576},
      {"1M", 1048576},
      {"30MB", 30'000'000},
      {"2G", 2147483648},
      {"1GiB", 1073741824},
      {"1GB", 1'000'000'000},
      {"18446744073709551615", UINT64_MAX},
  };
  for (const auto& [text, bytes] : cases) {
    auto size = parse_size(text);
    ASSERT_TRUE(size.has_value()) << text;
    EXPECT_EQ(*size, bytes) << text;
  }
}

TEST(ParseSize, RejectsMalformed) {
  for (const char* text : {"", "KiB", "1.5K", "-1", "+1", "1 K", " 1", "1 ", "1T", "1KiBs", "1Ki",
                           "0x10", "18446744073709551616", "17179869184G"}) {
    EXPECT_FALSE(parse_size(text).has_value()) << '"' << text << '"';
  }
}

}  // namespace
}  // namespace sitehost
