#include "shared/config/toml_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "shared/config/text.h"
#include "shared/util/duration.h"

namespace sitehost::config_detail {

uint32_t line_of(const toml::source_region& source, uint32_t fallback) {
  return source.begin.line != 0 ? source.begin.line : fallback;
}

std::string describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return quote(node.as_string()->get());
    case toml::node_type::integer:
      return fmt::format("{}", node.as_integer()->get());
    case toml::node_type::floating_point:
      return fmt::format("{}", node.as_floating_point()->get());
    case toml::node_type::boolean:
      return node.as_boolean()->get() ? "true" : "false";
    case toml::node_type::array:
      return "a list";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date/time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

Reader::Reader(std::string file_label, std::filesystem::path config_dir)
    : file_(std::move(file_label)), config_dir_(std::move(config_dir)) {}

void Reader::error(uint32_t line, std::string_view key, std::string_view message) {
  errors_.push_back({line, fmt::format("{}:{}: {}: {}", file_, line, key, message)});
}

void Reader::warn(uint32_t line, std::string_view key, std::string_view message) {
  warnings_.push_back({line, fmt::format("{}:{}: {}: {}", file_, line, key, message)});
}

bool Reader::read_bool(const Field& f, bool& out) {
  if (const auto* v = f.node.as_boolean()) {
    out = v->get();
    return true;
  }
  error(f, fmt::format("expected a boolean (true or false), got {}", describe(f.node)));
  return false;
}

bool Reader::read_string(const Field& f, std::string& out) {
  const auto* v = f.node.as_string();
  if (v == nullptr) {
    error(f, fmt::format("expected a string, got {}", describe(f.node)));
    return false;
  }
  if (v->get().find('\0') != std::string::npos) {
    error(f, "must not contain NUL characters");
    return false;
  }
  out = v->get();
  return true;
}

bool Reader::read_path(const Field& f, std::filesystem::path& out) {
  std::string text;
  if (!read_string(f, text)) return false;
  if (text.empty()) {
    error(f, "must not be empty");
    return false;
  }
  out = text;
  return true;
}

bool Reader::read_integer(const Field& f, int64_t& out, int64_t min, int64_t max) {
  const auto* v = f.node.as_integer();
  if (v == nullptr) {
    error(f, fmt::format("expected an integer, got {}", describe(f.node)));
    return false;
  }
  if (v->get() < min || v->get() > max) {
    error(f, fmt::format("must be between {} and {}, got {}", min, max, v->get()));
    return false;
  }
  out = v->get();
  return true;
}

bool Reader::read_bytes(const Field& f, uint64_t& out, uint64_t min, uint64_t max) {
  std::optional<uint64_t> bytes;
  if (const auto* i = f.node.as_integer(); i != nullptr && i->get() >= 0) {
    bytes = static_cast<uint64_t>(i->get());
  } else if (const auto* s = f.node.as_string()) {
    bytes = parse_size(s->get());
  }
  if (!bytes) {
    error(f, fmt::format("expected a size in bytes like 8192, \"8KiB\" or \"30MB\", got {}",
                         describe(f.node)));
    return false;
  }
  if (*bytes < min || *bytes > max) {
    error(f, fmt::format("must be between {} and {} bytes, got {}", min, max, describe(f.node)));
    return false;
  }
  out = *bytes;
  return true;
}

bool Reader::read_duration(const Field& f, Duration& out, Duration min, Duration max) {
  const auto* s = f.node.as_string();
  if (s == nullptr) {
    error(f, fmt::format("expected a duration string like \"30s\", \"2m\" or \"00:02:00\", got {}",
                         describe(f.node)));
    return false;
  }
  auto value = parse_duration(s->get());
  if (!value) {
    error(f, fmt::format("expected a duration like \"30s\", \"2m\" or \"00:02:00\", got {}",
                         describe(f.node)));
    return false;
  }
  if (*value < min || *value > max) {
    std::string range =
        min == Duration::zero()
            ? fmt::format("at most {}", format_duration(max))
            : fmt::format("between {} and {}", format_duration(min), format_duration(max));
    error(f, fmt::format("must be {}, got {}", range, describe(f.node)));
    return false;
  }
  out = *value;
  return true;
}

Field Reader::element(const Field& list, const toml::node& node, size_t index) const {
  return {node, fmt::format("{}[{}]", list.key, index), line_of(node.source(), list.line)};
}

bool Reader::read_string_list(const Field& f, std::vector<std::string>& out) {
  const auto* array = f.node.as_array();
  if (array == nullptr) {
    error(f, fmt::format("expected a list of strings, got {}", describe(f.node)));
    return false;
  }
  std::vector<std::string> values(array->size());
  for (size_t i = 0; i < array->size(); ++i) {
    Field item = element(f, *array->get(i), i);
    if (!item.node.is_string()) {
      error(item, fmt::format("expected a list of strings, got {}", describe(item.node)));
      return false;
    }
    if (!read_string(item, values[i])) return false;
  }
  out = std::move(values);
  return true;
}

std::vector<std::string> Reader::take_errors() {
  return take_sorted(errors_);
}

std::vector<std::string> Reader::take_warnings() {
  return take_sorted(warnings_);
}

std::vector<std::string> Reader::take_sorted(std::vector<Diagnostic>& diagnostics) {
  auto by_line = [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; };
  std::stable_sort(diagnostics.begin(), diagnostics.end(), by_line);
  std::vector<std::string> texts;
  for (auto& d : diagnostics) texts.push_back(std::move(d.text));
  diagnostics.clear();
  return texts;
}

}  // namespace sitehost::config_detail
