// Typed reads of toml++ nodes for the config loader. A Reader checks one value at a time and,
// when it does not fit, records a "FILE:LINE: KEY: MESSAGE" diagnostic; the collected errors
// and warnings come back in file order.
#pragma once

#include <toml++/toml.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "shared/config/config.h"

namespace sitehost::config_detail {

// A value under validation: the node, its key path for messages and its line.
struct Field {
  const toml::node& node;
  std::string key;
  uint32_t line;
};

// The line a node starts on, or `fallback` when toml++ does not know it.
uint32_t line_of(const toml::source_region& source, uint32_t fallback);

// What a TOML value looks like in the "got ..." part of messages.
std::string describe(const toml::node& node);

class Reader {
 public:
  // `file_label` names the file in messages; `config_dir` anchors its relative paths.
  Reader(std::string file_label, std::filesystem::path config_dir);

  const std::filesystem::path& config_dir() const { return config_dir_; }

  void error(uint32_t line, std::string_view key, std::string_view message);
  void error(const Field& f, std::string_view message) { error(f.line, f.key, message); }
  void warn(uint32_t line, std::string_view key, std::string_view message);
  void warn(const Field& f, std::string_view message) { warn(f.line, f.key, message); }

  // Readers: on success they store into `out` and return true; otherwise they record an error.
  bool read_bool(const Field& f, bool& out);
  bool read_string(const Field& f, std::string& out);
  // A non-empty path string, unresolved.
  bool read_path(const Field& f, std::filesystem::path& out);
  // An integer within [min, max].
  template <class T>
  bool read_int(const Field& f, T& out, int64_t min, int64_t max) {
    int64_t value = 0;
    if (!read_integer(f, value, min, max)) return false;
    out = static_cast<T>(value);
    return true;
  }
  // A byte count within [min, max]: an integer or a size string like "8KiB".
  template <class T>
  bool read_size(const Field& f, T& out, uint64_t min, uint64_t max) {
    uint64_t bytes = 0;
    if (!read_bytes(f, bytes, min, max)) return false;
    out = static_cast<T>(bytes);
    return true;
  }
  bool read_duration(const Field& f, Duration& out, Duration min, Duration max);
  bool read_string_list(const Field& f, std::vector<std::string>& out);

  // One element of a list: `key[i]` in messages, the element's own line.
  Field element(const Field& list, const toml::node& node, size_t index) const;

  // The diagnostics recorded so far, in file order (ties keep their recording order).
  std::vector<std::string> take_errors();
  std::vector<std::string> take_warnings();

 private:
  struct Diagnostic {
    uint32_t line;
    std::string text;
  };

  bool read_integer(const Field& f, int64_t& out, int64_t min, int64_t max);
  bool read_bytes(const Field& f, uint64_t& out, uint64_t min, uint64_t max);
  static std::vector<std::string> take_sorted(std::vector<Diagnostic>& diagnostics);

  std::string file_;
  std::filesystem::path config_dir_;
  std::vector<Diagnostic> errors_;
  std::vector<Diagnostic> warnings_;
};

}  // namespace sitehost::config_detail
