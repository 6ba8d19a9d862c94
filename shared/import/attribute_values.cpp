#include "shared/import/attribute_values.h"

#include <filesystem>
#include <limits>

#include "shared/config/text.h"
#include "shared/util/duration.h"

namespace sitehost::import_detail {
namespace {

using config_detail::lower_ascii;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_name_char(char c) {
  return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '(' ||
         c == ')' || c == '.' || c == '-';
}

}  // namespace

std::optional<bool> parse_bool(std::string_view text) {
  std::string lower = lower_ascii(text);
  if (lower == "true") return true;
  if (lower == "false") return false;
  return std::nullopt;
}

std::optional<uint64_t> parse_count(std::string_view text, uint64_t max) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    auto digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  if (value > max) return std::nullopt;
  return value;
}

std::optional<std::chrono::milliseconds> parse_timespan(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  // An optional "D." day count before the hours (a '.' before the first ':').
  std::chrono::hours days{0};
  if (size_t dot = text.substr(0, colon).find('.'); dot != std::string_view::npos) {
    auto count = parse_count(text.substr(0, dot), 10675199);  // TimeSpan.MaxValue's days
    if (!count) return std::nullopt;
    days = std::chrono::hours(*count * 24);
    text.remove_prefix(dot + 1);
  }
  // The rest is sitehost's own "H:MM:SS" duration form.
  auto rest = parse_duration(text);
  if (!rest || text.find(':') == std::string_view::npos) return std::nullopt;
  return *rest + days;
}

std::string_view find_placeholder(std::string_view text) {
  for (size_t open = text.find('%'); open != std::string_view::npos;
       open = text.find('%', open + 1)) {
    size_t close = text.find('%', open + 1);
    if (close == std::string_view::npos) break;
    std::string_view name = text.substr(open + 1, close - open - 1);
    bool named = !name.empty() && !is_digit(name.front());
    for (char c : name) named = named && is_name_char(c);
    if (named) return text.substr(open, close - open + 1);
  }
  return {};
}

std::optional<std::string> posix_path(std::string_view text) {
  bool drive = text.size() >= 2 && text[1] == ':' &&
               ((text[0] >= 'A' && text[0] <= 'Z') || (text[0] >= 'a' && text[0] <= 'z'));
  if (drive || text.starts_with('\\')) return std::nullopt;
  std::string path(text);
  for (char& c : path) {
    if (c == '\\') c = '/';
  }
  while (path.starts_with("./")) {
    path.erase(0, path.find_first_not_of('/', 1));
  }
  return path;
}

bool is_dotnet_host(std::string_view path) {
  std::string lower = lower_ascii(path);
  return lower == "dotnet" || lower == "dotnet.exe";
}

std::string file_stem(std::string_view path) {
  return std::filesystem::path(std::string(path)).stem().string();
}

}  // namespace sitehost::import_detail
