// A web.config read and parsed with pugixml, and the file lines its nodes start on.
#pragma once

#include <pugixml.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "shared/import/diagnostics.h"

namespace sitehost::import_detail {

class XmlSource {
 public:
  // Reads and parses `file` (UTF-8, with or without a BOM). On failure records the error
  // (an unreadable file, UTF-16, invalid UTF-8, or pugixml's description at LINE:COL) and
  // returns nullptr.
  static std::unique_ptr<XmlSource> load(const std::filesystem::path& file, Diagnostics& d);

  XmlSource(const XmlSource&) = delete;
  XmlSource& operator=(const XmlSource&) = delete;

  const pugi::xml_document& document() const { return document_; }
  // The line an element starts on (its `<`), 0 when unknown.
  uint32_t line_of(const pugi::xml_node& node) const;
  // The line an attribute's name is on; the owner's line when that is unknown.
  uint32_t line_of(const pugi::xml_attribute& attribute, const pugi::xml_node& owner) const;

 private:
  XmlSource() = default;
  // 1-based line and column (in bytes, not counting a BOM) of a byte offset into buffer_.
  std::pair<uint32_t, uint32_t> position(size_t offset) const;

  // pugixml parses in place: every name and value of document_ points into buffer_, which is
  // why this object can be neither copied nor moved.
  std::string buffer_;
  std::vector<size_t> line_starts_;  // offset of each line's first byte, from the raw file
  bool bom_ = false;
  pugi::xml_document document_;
};

}  // namespace sitehost::import_detail
