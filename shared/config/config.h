// The configuration model: what a parsed, validated sitehost config file says.
// Parsing lives in config_loader.h; everything here is plain data with the documented defaults.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sitehost {

using Duration = std::chrono::milliseconds;

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class HostingModel { kInProcess, kOutOfProcess };
enum class TlsVersion { kTls12, kTls13 };
enum class ClientCertificate { kOff, kOptional, kRequired };

const char* to_string(HostingModel model);
const char* to_string(LogLevel level);
const char* to_string(TlsVersion version);
const char* to_string(ClientCertificate mode);

// One `http://HOST:PORT` or `https://HOST:PORT` entry of a site's `bindings`.
struct Binding {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower-cased name, IP literal (IPv6 without brackets), or "*"
  uint16_t port = 0;
  bool host_is_ip = false;  // host is an IP literal (or "localhost", stored as 127.0.0.1)
  bool operator==(const Binding&) const = default;
};

// Where the admin API listens (`[server] admin`, see docs/operations.md).
struct AdminEndpoint {
  enum class Kind { kDefaultSocket, kSocket, kTcp, kOff };
  Kind kind =
      Kind::kDefaultSocket;  // <run dir>/sitehost.sock (shared/frontend/control/admin_server.h)
  std::string path;          // kSocket: absolute unix socket path
  std::string ip;            // kTcp: a loopback address ("127.0.0.1", "::1")
  uint16_t port = 0;         // kTcp
  bool operator==(const AdminEndpoint&) const = default;
};

// The health endpoint for load balancers and orchestrators (`[server] health`, see
// docs/operations.md#health-checks-and-draining).
struct HealthEndpoint {
  enum class Kind { kOff, kAddress, kPath };
  Kind kind = Kind::kOff;
  std::string ip;     // kAddress: an IP literal ("0.0.0.0", "::", "10.0.0.5"; IPv6 without [])
  uint16_t port = 0;  // kAddress: a port no site binding uses
  std::string path;   // kPath: "/healthz" (answered on every site binding, before routing)
  bool operator==(const HealthEndpoint&) const = default;
};

// The most event loops `event_loops` may ask for.
inline constexpr uint32_t kMaxEventLoops = 1024;

struct ServerConfig {
  AdminEndpoint admin;
  // event_loops: how many event-loop threads serve connections; 0 = "auto" (the CPUs this process
  // may run on). Read at start: a reload that changes it keeps the running number (logged).
  uint32_t event_loops = 0;
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
  HealthEndpoint health;
  // On a stop: how long health answers 503 while listeners stay open, before shutdown begins.
  Duration drain_delay = Duration(0);
  bool detailed_errors = false;
  // HTTP/2 (step 10): SETTINGS_MAX_CONCURRENT_STREAMS each HTTP/2 connection announces.
  uint32_t http2_max_concurrent_streams = 100;
  // How long a connection may have response bytes waiting with no write progress (the client
  // does not read, or an HTTP/2 flow-control window stays at zero) before it is closed.
  Duration send_timeout = std::chrono::seconds(60);
  // How long a request body the site is reading may stall (no bytes from the client) before
  // the request ends with 408 (a slow-POST client holds nothing for longer).
  Duration body_timeout = std::chrono::seconds(60);
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
  // Where generations' shadow copies of `handler` go (absolute; relative ones resolve against
  // physical_path). Empty: the default, <run dir>/shadow/<name> (inproc/shadow_copy.h).
  std::filesystem::path shadow_copy_directory;

  // out-of-process (step 3)
  std::filesystem::path process_path;  // absolute (relative ones resolve against physical_path)
  std::vector<std::string> arguments;
  Duration request_timeout = std::chrono::minutes(2);
  Duration shutdown_time_limit = std::chrono::seconds(10);  // both models (in-process: drain)
  uint32_t rapid_fails_per_minute = 10;
  bool stdout_log_enabled = false;
  std::filesystem::path stdout_log_file;  // absolute; default physical_path/"logs/stdout"
  uint32_t processes = 1;
  bool preload = false;
  // process_scheduling: the child runs as SCHED_BATCH ("batch"), so a request sitehost hands it
  // does not preempt sitehost on a shared core; "normal" keeps the default policy.
  bool batch_scheduling = true;

  // TLS (step 5): used by the site's https bindings. Paths are absolute (relative ones resolve
  // against the config file's folder); certificate and private_key are set iff has_https().
  std::filesystem::path certificate;  // PEM: leaf, then the chain sent to clients
  std::filesystem::path private_key;  // PEM, unencrypted
  TlsVersion min_tls_version = TlsVersion::kTls12;
  ClientCertificate client_certificate = ClientCertificate::kOff;
  std::filesystem::path client_ca_file;  // set iff client_certificate != kOff
  std::filesystem::path ocsp_response;   // DER OCSP response to staple; empty: no stapling
  bool redirect_to_https = false;        // plain-http requests get a 308 to the https binding

  // HTTP/2 (step 10). http2: offer "h2" by ALPN on the site's https bindings (its TLS context).
  // h2c: accept HTTP/2 with prior knowledge (no Upgrade) on the site's http bindings.
  bool http2 = true;
  bool h2c = false;

  bool has_https() const { return has_scheme("https"); }
  bool has_http() const { return has_scheme("http"); }
  bool has_scheme(std::string_view scheme) const {
    for (const Binding& b : bindings)
      if (b.scheme == scheme) return true;
    return false;
  }

  bool operator==(const SiteConfig&) const = default;
};

struct Config {
  std::filesystem::path file;  // the file it was read from (absolute)
  ServerConfig server;
  std::vector<SiteConfig> sites;
  std::vector<std::string> warnings;  // "file:line: key 'x' ... " lines, logged at start/reload
};

}  // namespace sitehost
