#include "shared/import/xml_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <string_view>
#include <system_error>

namespace sitehost::import_detail {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

bool read_whole_file(const std::filesystem::path& file, std::string& out, std::string& error) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!f) {
    error = std::error_code(errno, std::generic_category()).message();
    return false;
  }
  char chunk[64 * 1024];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, f.get())) > 0) out.append(chunk, n);
  if (std::ferror(f.get())) {
    error = std::error_code(errno, std::generic_category()).message();
    return false;
  }
  return true;
}

// The offset of the first byte that is not part of well-formed UTF-8, or npos.
size_t invalid_utf8_at(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t length = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
    if (length == 0 || c == 0xC0 || c == 0xC1 || c > 0xF4 || i + length > text.size()) return i;
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return i;
    }
    // No overlong forms, no UTF-16 surrogates, nothing above U+10FFFF (TOML rejects them).
    auto second = length > 2 ? static_cast<unsigned char>(text[i + 1]) : 0x80;
    if ((c == 0xE0 && second < 0xA0) || (c == 0xED && second > 0x9F) ||
        (c == 0xF0 && second < 0x90) || (c == 0xF4 && second > 0x8F)) {
      return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

// UTF-16 and UTF-32 files start with their BOM or have a NUL byte in the first character.
bool looks_wide(std::string_view text) {
  return text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF") ||
         text.substr(0, 4).find('\0') != std::string_view::npos;
}

}  // namespace

std::unique_ptr<XmlSource> XmlSource::load(const std::filesystem::path& file, Diagnostics& d) {
  std::unique_ptr<XmlSource> source(new XmlSource());
  std::string why;
  if (!read_whole_file(file, source->buffer_, why)) {
    d.error(0, fmt::format("cannot read: {}", why));
    return nullptr;
  }
  const std::string& text = source->buffer_;
  source->bom_ = text.starts_with(kUtf8Bom);
  source->line_starts_.push_back(0);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') source->line_starts_.push_back(i + 1);
  }
  if (looks_wide(text)) {
    d.error(0, "the file is UTF-16 or UTF-32; save it as UTF-8 (dotnet publish writes UTF-8)");
    return nullptr;
  }
  if (size_t bad = invalid_utf8_at(text); bad != std::string_view::npos) {
    auto [line, column] = source->position(bad);
    d.syntax_error(line, column, "invalid UTF-8");
    return nullptr;
  }
  pugi::xml_parse_result parsed = source->document_.load_buffer_inplace(
      source->buffer_.data(), source->buffer_.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!parsed) {
    auto [line, column] =
        source->position(static_cast<size_t>(std::max<ptrdiff_t>(parsed.offset, 0)));
    d.syntax_error(line, column, parsed.description());
    return nullptr;
  }
  return source;
}

std::pair<uint32_t, uint32_t> XmlSource::position(size_t offset) const {
  auto next = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  size_t index = static_cast<size_t>(next - line_starts_.begin()) - 1;
  size_t column = offset - line_starts_[index] + 1;
  if (index == 0 && bom_) column = column > kUtf8Bom.size() ? column - kUtf8Bom.size() : 1;
  return {static_cast<uint32_t>(index + 1), static_cast<uint32_t>(column)};
}

uint32_t XmlSource::line_of(const pugi::xml_node& node) const {
  ptrdiff_t offset = node.offset_debug();
  return offset < 0 ? 0 : position(static_cast<size_t>(offset)).first;
}

uint32_t XmlSource::line_of(const pugi::xml_attribute& attribute,
                            const pugi::xml_node& owner) const {
  // Parsed in place, so a parsed attribute's name lies inside buffer_ (std::less gives a total
  // order over unrelated pointers).
  const char* name = attribute.name();
  const char* begin = buffer_.data();
  const char* end = begin + buffer_.size();
  std::less<const char*> before;
  if (before(name, begin) || !before(name, end)) return line_of(owner);
  return position(static_cast<size_t>(name - begin)).first;
}

}  // namespace sitehost::import_detail
