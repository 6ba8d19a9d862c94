// The grammars of the config file's structured string values: bindings, application paths,
// argument strings, site names and relative file paths. Pure functions; no TOML involved.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/config/config.h"

namespace sitehost::config_detail {

// "http://HOST:PORT" or "https://HOST:PORT" (an optional lone trailing "/" is tolerated). On
// failure sets `error`.
std::optional<Binding> parse_binding(std::string_view text, std::string& error);

// "scheme://host:port" followed by `path`, with IPv6 hosts in brackets.
std::string binding_url(const Binding& b, std::string_view path);

// A site's base path: "/" or "/seg[/seg]", returned without a trailing slash.
std::optional<std::string> normalize_app_path(std::string_view path, std::string& error);

// ANCM's `arguments` string: whitespace-separated words; double quotes group (and are removed).
std::optional<std::vector<std::string>> split_arguments(std::string_view text, std::string& error);

// `[server] admin`: "off", "127.0.0.1:PORT" (any 127.x.y.z), "[::1]:PORT", "localhost:PORT" or a
// unix socket path (relative ones resolve against `config_dir`). On failure sets `error`.
std::optional<AdminEndpoint> parse_admin(std::string_view text,
                                         const std::filesystem::path& config_dir,
                                         std::string& error);

// `[server] health`: "off", "IP:PORT", "[IPv6]:PORT", "*:PORT" (0.0.0.0), "localhost:PORT", or a
// path starting with "/" (not "/" itself). On failure sets `error`.
std::optional<HealthEndpoint> parse_health(std::string_view text, std::string& error);

// 1-100 characters from A-Z a-z 0-9 . _ -, and neither "." nor "..".
bool valid_site_name(std::string_view name);

// `base / path` unless `path` is absolute; lexically normal, without a trailing separator.
std::filesystem::path resolve(const std::filesystem::path& base, const std::filesystem::path& path);

}  // namespace sitehost::config_detail
