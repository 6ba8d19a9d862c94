#include "shared/util/duration.h"

#include <array>
#include <limits>
#include <utility>

namespace sitehost {
namespace {

constexpr uint64_t kMaxMillis = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

// A non-empty run of ASCII digits; nullopt on anything else or on overflow.
std::optional<uint64_t> parse_digits(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    auto digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) {
  if (b != 0 && a > std::numeric_limits<uint64_t>::max() / b) return std::nullopt;
  return a * b;
}

std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) {
  if (a > std::numeric_limits<uint64_t>::max() - b) return std::nullopt;
  return a + b;
}

// "H:MM:SS": hours any number of digits, minutes and seconds one or two digits below 60.
std::optional<uint64_t> parse_clock_millis(std::string_view text) {
  size_t first = text.find(':');
  size_t second = text.find(':', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  std::string_view mm = text.substr(first + 1, second - first - 1);
  std::string_view ss = text.substr(second + 1);
  if (mm.size() > 2 || ss.size() > 2) return std::nullopt;  // also rejects a third ':'
  auto hours = parse_digits(text.substr(0, first));
  auto minutes = parse_digits(mm);
  auto seconds = parse_digits(ss);
  if (!hours || !minutes || !seconds || *minutes >= 60 || *seconds >= 60) return std::nullopt;
  auto hour_ms = checked_mul(*hours, 3'600'000);
  if (!hour_ms) return std::nullopt;
  return checked_add(*hour_ms, *minutes * 60'000 + *seconds * 1000);
}

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::optional<uint64_t> millis;
  if (text.find(':') != std::string_view::npos) {
    millis = parse_clock_millis(text);
  } else {
    size_t unit_at = text.find_first_not_of("0123456789");
    if (unit_at == std::string_view::npos) return std::nullopt;  // bare number: no unit
    std::string_view unit = text.substr(unit_at);
    uint64_t scale = 0;
    if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60'000;
    } else if (unit == "h") {
      scale = 3'600'000;
    } else {
      return std::nullopt;
    }
    auto count = parse_digits(text.substr(0, unit_at));
    if (count) millis = checked_mul(*count, scale);
  }
  if (!millis || *millis > kMaxMillis) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(*millis));
}

std::string format_duration(std::chrono::milliseconds duration) {
  int64_t ms = duration.count();
  if (ms == 0) return "0s";
  if (ms < 0) {
    if (ms == std::numeric_limits<int64_t>::min()) return std::to_string(ms) + "ms";
    return "-" + format_duration(std::chrono::milliseconds(-ms));
  }
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::optional<uint64_t> parse_size(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, uint64_t>, 11> kUnits = {{
      {"", 1},
      {"b", 1},
      {"k", 1ull << 10},
      {"kib", 1ull << 10},
      {"kb", 1'000},
      {"m", 1ull << 20},
      {"mib", 1ull << 20},
      {"mb", 1'000'000},
      {"g", 1ull << 30},
      {"gib", 1ull << 30},
      {"gb", 1'000'000'000},
  }};
  size_t unit_at = text.find_first_not_of("0123456789");
  if (unit_at == std::string_view::npos) unit_at = text.size();
  auto count = parse_digits(text.substr(0, unit_at));
  if (!count) return std::nullopt;
  std::string unit = lower_ascii(text.substr(unit_at));
  for (const auto& [name, scale] : kUnits) {
    if (unit == name) return checked_mul(*count, scale);
  }
  return std::nullopt;
}

}  // namespace sitehost
