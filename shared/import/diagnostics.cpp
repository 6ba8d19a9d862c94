#include "shared/import/diagnostics.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace sitehost::import_detail {

void Diagnostics::error(uint32_t line, std::string_view message) {
  ++errors_;
  add(line, line == 0 ? fmt::format("{}: error: {}", file_, message)
                      : fmt::format("{}:{}: error: {}", file_, line, message));
}

void Diagnostics::warn(uint32_t line, std::string_view message) {
  add(line, line == 0 ? fmt::format("{}: warning: {}", file_, message)
                      : fmt::format("{}:{}: warning: {}", file_, line, message));
}

void Diagnostics::syntax_error(uint32_t line, uint32_t column, std::string_view message) {
  ++errors_;
  add(line, fmt::format("{}:{}:{}: error: {}", file_, line, column, message));
}

void Diagnostics::add(uint32_t line, std::string text) {
  entries_.push_back({line, std::move(text)});
}

std::vector<std::string> Diagnostics::take() {
  std::stable_sort(entries_.begin(), entries_.end(),
                   [](const Entry& a, const Entry& b) { return a.line < b.line; });
  std::vector<std::string> lines;
  for (Entry& e : entries_) lines.push_back(std::move(e.text));
  entries_.clear();
  errors_ = 0;
  return lines;
}

}  // namespace sitehost::import_detail
