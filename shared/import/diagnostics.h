// The warnings and errors of one import, as the lines `sitehost import` prints on stderr:
// "FILE:LINE: warning: MESSAGE", "FILE:LINE: error: MESSAGE", "FILE:LINE:COL: error: ..." for
// XML syntax, "FILE: error: ..." when no line applies. FILE is the path as the user gave it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sitehost::import_detail {

class Diagnostics {
 public:
  explicit Diagnostics(std::string file_label) : file_(std::move(file_label)) {}

  // `line` 0: the message is about the whole file.
  void error(uint32_t line, std::string_view message);
  void warn(uint32_t line, std::string_view message);
  void syntax_error(uint32_t line, uint32_t column, std::string_view message);

  bool has_errors() const { return errors_ > 0; }
  // Every line recorded so far, in file order (ties keep their recording order).
  std::vector<std::string> take();

 private:
  struct Entry {
    uint32_t line;
    std::string text;
  };
  void add(uint32_t line, std::string text);

  std::string file_;
  std::vector<Entry> entries_;
  size_t errors_ = 0;
};

}  // namespace sitehost::import_detail
