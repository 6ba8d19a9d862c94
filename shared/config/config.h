// The configuration model: what a parsed, validated sitehost config file says.
// Parsing lives in config_loader.h; everything here is plain data with the documented defaults.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sitehost {

using Duration = std::chrono::milliseconds;

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class HostingModel { kInProcess, kOutOfProcess };

const char* to_string(HostingModel model);
const char* to_string(LogLevel level);

// One `http://HOST:PORT` entry of a site's `bindings`.
struct Binding {
  std::string scheme;  // "http" (step 5 adds "https")
  std::string host;    // lower-cased name, IP literal (IPv6 without brackets), or "*"
  uint16_t port = 0;
  bool host_is_ip = false;  // host is an IP literal (or "localhost", stored as 127.0.0.1)
  bool operator==(const Binding&) const = default;
};

struct ServerConfig {
  std::string error_log;   // empty = stderr
  std::string access_log;  // empty = off
  LogLevel log_level = LogLevel::kInfo;
  Duration header_timeout = std::chrono::seconds(30);
  Duration keepalive_timeout = std::chrono::seconds(75);
  uint32_t max_connections = 10000;
  uint32_t max_request_line = 8 * 1024;
  uint32_t max_header_bytes = 16 * 1024;
  uint32_t max_headers = 100;
  Duration shutdown_timeout = std::chrono::seconds(30);
  bool detailed_errors = false;
  bool operator==(const ServerConfig&) const = default;
};

struct SiteConfig {
  std::string name;
  std::vector<Binding> bindings;
  std::string path = "/";  // application base path: "/" or "/seg[/seg]" without trailing slash
  std::filesystem::path physical_path;  // absolute (resolved against the config file's folder)
  HostingModel hosting_model = HostingModel::kInProcess;
  uint64_t max_allowed_content_length = 30000000;
  std::map<std::string, std::string> environment;
  Duration startup_time_limit = std::chrono::seconds(120);

  // in-process (step 2)
  std::filesystem::path handler;  // absolute
  bool allow_synchronous_io = false;
  uint64_t max_request_body_size = 30000000;  // 0 = unlimited

  // out-of-process (step 3)
  std::filesystem::path process_path;  // absolute (relative ones resolve against physical_path)
  std::vector<std::string> arguments;
  Duration request_timeout = std::chrono::minutes(2);
  Duration shutdown_time_limit = std::chrono::seconds(10);
  uint32_t rapid_fails_per_minute = 10;
  bool stdout_log_enabled = false;
  std::filesystem::path stdout_log_file;  // absolute; default physical_path/"logs/stdout"
  uint32_t processes = 1;
  bool preload = false;

  bool operator==(const SiteConfig&) const = default;
};

struct Config {
  std::filesystem::path file;  // the file it was read from (absolute)
  ServerConfig server;
  std::vector<SiteConfig> sites;
  std::vector<std::string> warnings;  // "file:line: key 'x' ... " lines, logged at start/reload
};

}  // namespace sitehost
