// Reads a sitehost TOML config file into a validated Config. docs/configuration.md is the
// reference for every key; this file only promises the shape of results and messages.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "shared/config/config.h"

namespace sitehost {

// Exactly one of `config` and `error` is set. `error` and each of `config->warnings` read
// "FILE:LINE: KEY: MESSAGE", where FILE is the path as given by the caller and KEY is
// `server.x`, `site "NAME".x` (or `site[INDEX].x` while the site has no valid name) or a
// top-level key. Of several errors the one earliest in the file is reported.
struct LoadResult {
  std::optional<Config> config;
  std::string error;
};

// Reads and validates `file`. An unreadable file gives "FILE: cannot read: <strerror>".
LoadResult load_config(const std::filesystem::path& file);

// Validates TOML text as if read from `file`: `file` names it in messages and its parent folder
// anchors relative paths. The file itself is not read (physical_path directories are checked).
LoadResult parse_config(std::string_view toml_text, const std::filesystem::path& file);

}  // namespace sitehost
