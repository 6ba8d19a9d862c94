#include "shared/import/toml_writer.h"

#include <fmt/format.h>

namespace sitehost::import_detail {
namespace {

std::string string_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : ", ") + toml_string(items[i]);
  }
  return out + "]";
}

// Inline, so that keys a user appends after the table still belong to the site.
std::string inline_table(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out = "{ ";
  for (size_t i = 0; i < entries.size(); ++i) {
    out += fmt::format("{}{} = {}", i == 0 ? "" : ", ", toml_key(entries[i].first),
                       toml_string(entries[i].second));
  }
  return out + " }";
}

}  // namespace

std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += fmt::format("\\u{:04X}", c);
        } else {
          out += ch;  // UTF-8 passes through (the importer checked it is well-formed)
        }
    }
  }
  return out + '"';
}

std::string toml_key(std::string_view key) {
  bool bare = !key.empty();
  for (char c : key) {
    bare = bare && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-');
  }
  return bare ? std::string(key) : toml_string(key);
}

std::string write_site_toml(const ImportedSite& site, std::string_view comment) {
  std::string out;
  for (size_t start = 0; start <= comment.size();) {
    size_t end = comment.find('\n', start);
    if (end == std::string_view::npos) end = comment.size();
    out += fmt::format("# {}\n", comment.substr(start, end - start));
    start = end + 1;
  }
  auto line = [&out](std::string_view key, const std::string& value) {
    out += fmt::format("{} = {}\n", key, value);
  };
  out += "[[site]]\n";
  line("name", toml_string(site.name));
  line("bindings", string_list(site.bindings));
  line("path", toml_string(site.path));
  line("physical_path", toml_string(site.physical_path));
  line("hosting_model", toml_string("outofprocess"));
  line("process_path", toml_string(site.process_path));
  if (site.arguments) line("arguments", string_list(*site.arguments));
  if (!site.environment.empty()) line("environment", inline_table(site.environment));
  if (auto v = site.max_allowed_content_length)
    line("max_allowed_content_length", fmt::format("{}", *v));
  if (site.startup_time_limit) line("startup_time_limit", toml_string(*site.startup_time_limit));
  if (site.shutdown_time_limit) line("shutdown_time_limit", toml_string(*site.shutdown_time_limit));
  if (site.request_timeout) line("request_timeout", toml_string(*site.request_timeout));
  if (auto v = site.rapid_fails_per_minute) line("rapid_fails_per_minute", fmt::format("{}", *v));
  if (auto v = site.stdout_log_enabled) line("stdout_log_enabled", *v ? "true" : "false");
  if (site.stdout_log_file) line("stdout_log_file", toml_string(*site.stdout_log_file));
  if (auto v = site.processes) line("processes", fmt::format("{}", *v));
  return out;
}

}  // namespace sitehost::import_detail
