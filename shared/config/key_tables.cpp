#include "shared/config/key_tables.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>

#include "shared/config/text.h"
#include "shared/config/values.h"

namespace sitehost::config_detail {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr Duration kMaxTimeout = 360h;  // ANCM's requestTimeout ceiling; used for all timeouts
constexpr uint32_t kU32Max = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

constexpr std::array<std::string_view, 2> kTopKeys = {"server", "site"};

// ---------------------------------------------------------------------------------------------
// [server] keys

constexpr ServerKey kServerKeys[] = {
    {"admin",
     [](Reader& r, ServerConfig& s, const Field& f) {
       std::string text;
       if (!r.read_string(f, text)) return;
       std::string why;
       if (auto admin = parse_admin(text, r.config_dir(), why)) {
         s.admin = std::move(*admin);
       } else {
         r.error(f, why);
       }
     }},
    {"error_log",
     [](Reader& r, ServerConfig& s, const Field& f) {
       if (fs::path p; r.read_path(f, p)) s.error_log = resolve(r.config_dir(), p).string();
     }},
    {"access_log",
     [](Reader& r, ServerConfig& s, const Field& f) {
       if (fs::path p; r.read_path(f, p)) s.access_log = resolve(r.config_dir(), p).string();
     }},
    {"log_level",
     [](Reader& r, ServerConfig& s, const Field& f) {
       std::string text;
       if (!r.read_string(f, text)) return;
       std::string level = lower_ascii(text);
       if (level == "debug") {
         s.log_level = LogLevel::kDebug;
       } else if (level == "info") {
         s.log_level = LogLevel::kInfo;
       } else if (level == "warn") {
         s.log_level = LogLevel::kWarn;
       } else if (level == "error") {
         s.log_level = LogLevel::kError;
       } else {
         r.error(f, fmt::format("expected \"debug\", \"info\", \"warn\" or \"error\", got {}",
                                quote(text)));
       }
     }},
    {"header_timeout",
     [](Reader& r, ServerConfig& s, const Field& f) {
       r.read_duration(f, s.header_timeout, 1ms, kMaxTimeout);
     }},
    {"keepalive_timeout",
     [](Reader& r, ServerConfig& s, const Field& f) {
       r.read_duration(f, s.keepalive_timeout, 1ms, kMaxTimeout);
     }},
    {"event_loops",
     [](Reader& r, ServerConfig& s, const Field& f) {
       if (f.node.is_string()) {
         std::string text;
         if (!r.read_string(f, text)) return;
         if (text == "auto")
           s.event_loops = 0;
         else
           r.error(f, fmt::format("must be \"auto\" or a number from 1 to {}, got \"{}\"",
                                  kMaxEventLoops, text));
         return;
       }
       r.read_int(f, s.event_loops, 1, kMaxEventLoops);
     }},
    {"max_connections", [](Reader& r, ServerConfig& s,
                           const Field& f) { r.read_int(f, s.max_connections, 1, kU32Max); }},
    {"max_request_line", [](Reader& r, ServerConfig& s,
                            const Field& f) { r.read_size(f, s.max_request_line, 1, kU32Max); }},
    {"max_header_bytes", [](Reader& r, ServerConfig& s,
                            const Field& f) { r.read_size(f, s.max_header_bytes, 1, kU32Max); }},
    {"max_headers",
     [](Reader& r, ServerConfig& s, const Field& f) { r.read_int(f, s.max_headers, 1, kU32Max); }},
    {"shutdown_timeout",
     [](Reader& r, ServerConfig& s, const Field& f) {
       r.read_duration(f, s.shutdown_timeout, 0ms, kMaxTimeout);
     }},
    {"detailed_errors",
     [](Reader& r, ServerConfig& s, const Field& f) { r.read_bool(f, s.detailed_errors); }},
    {"health",
     [](Reader& r, ServerConfig& s, const Field& f) {
       std::string text, why;
       if (!r.read_string(f, text)) return;
       if (auto health = parse_health(text, why))
         s.health = std::move(*health);
       else
         r.error(f, why);
     }},
    {"drain_delay", [](Reader& r, ServerConfig& s,
                       const Field& f) { r.read_duration(f, s.drain_delay, 0ms, kMaxTimeout); }},
    // HTTP/2 (step 10)
    {"http2_max_concurrent_streams",
     [](Reader& r, ServerConfig& s, const Field& f) {
       r.read_int(f, s.http2_max_concurrent_streams, 1, 1000);
     }},
    {"send_timeout", [](Reader& r, ServerConfig& s,
                        const Field& f) { r.read_duration(f, s.send_timeout, 1ms, kMaxTimeout); }},
    {"body_timeout", [](Reader& r, ServerConfig& s,
                        const Field& f) { r.read_duration(f, s.body_timeout, 1ms, kMaxTimeout); }},
};

// ---------------------------------------------------------------------------------------------
// [[site]] keys. Relative handler/process_path/stdout_log_file are resolved after all keys are
// read, because physical_path may come later in the table.

void set_bindings(Reader& r, SiteState& s, const Field& f) {
  const auto* array = f.node.as_array();
  if (array == nullptr) {
    r.error(f, fmt::format("expected a list of strings like [\"http://*:8080\"], got {}",
                           describe(f.node)));
    return;
  }
  if (array->empty()) {
    r.error(f, "must list at least one binding, like [\"http://*:8080\"]");
    return;
  }
  for (size_t i = 0; i < array->size(); ++i) {
    Field item = r.element(f, *array->get(i), i);
    std::string text;
    if (!r.read_string(item, text)) return;
    std::string why;
    auto binding = parse_binding(text, why);
    if (!binding) {
      r.error(item, why);
      return;
    }
    if (std::find(s.config.bindings.begin(), s.config.bindings.end(), *binding) !=
        s.config.bindings.end()) {
      r.error(item, fmt::format("{} is listed twice", binding_url(*binding, "")));
      return;
    }
    s.config.bindings.push_back(std::move(*binding));
    s.binding_lines.push_back(item.line);
  }
}

void set_environment(Reader& r, SiteState& s, const Field& f) {
  const auto* table = f.node.as_table();
  if (table == nullptr) {
    r.error(f, fmt::format("expected a table of strings like {{ NAME = \"value\" }}, got {}",
                           describe(f.node)));
    return;
  }
  for (auto&& [key, node] : *table) {
    Field item{node, fmt::format("{}.{}", f.key, key.str()), line_of(node.source(), f.line)};
    if (key.str().empty() ||
        key.str().find_first_of(std::string_view("=\0", 2)) != std::string_view::npos) {
      r.error(item, "variable names must be non-empty and contain neither \"=\" nor NUL");
      return;
    }
    std::string value;
    if (!r.read_string(item, value)) return;
    s.config.environment[std::string(key.str())] = std::move(value);
  }
}

void set_physical_path(Reader& r, SiteState& s, const Field& f) {
  fs::path raw;
  if (!r.read_path(f, raw)) return;
  fs::path dir = resolve(r.config_dir(), raw);
  std::error_code ec;
  auto status = fs::status(dir, ec);
  if (status.type() == fs::file_type::not_found) {
    r.error(f, fmt::format("directory {} does not exist", quote(dir.string())));
  } else if (ec) {
    r.error(f, fmt::format("cannot access {}: {}", quote(dir.string()), ec.message()));
  } else if (status.type() != fs::file_type::directory) {
    r.error(f, fmt::format("{} is not a directory", quote(dir.string())));
  } else {
    s.config.physical_path = dir;
  }
}

void set_arguments(Reader& r, SiteState& s, const Field& f) {
  if (const auto* text = f.node.as_string()) {
    std::string why;
    auto args = split_arguments(text->get(), why);
    if (!args) {
      r.error(f, why);
    } else if (std::any_of(args->begin(), args->end(), [](const std::string& a) {
                 return a.find('\0') != std::string::npos;
               })) {
      r.error(f, "must not contain NUL characters");
    } else {
      s.config.arguments = std::move(*args);
    }
    return;
  }
  if (!f.node.is_array()) {
    r.error(f,
            fmt::format("expected a list of strings or a single string, got {}", describe(f.node)));
    return;
  }
  r.read_string_list(f, s.config.arguments);
}

// A PEM file path: relative to the config file's folder, like physical_path.
void set_tls_file(Reader& r, const Field& f, fs::path& out, uint32_t& line) {
  fs::path raw;
  if (!r.read_path(f, raw)) return;
  out = resolve(r.config_dir(), raw);
  line = f.line;
}

void set_min_tls_version(Reader& r, SiteState& s, const Field& f) {
  if (f.node.is_floating_point() || f.node.is_integer()) {
    r.error(f, fmt::format("expected \"1.2\" or \"1.3\" (a string), got {}", describe(f.node)));
    return;
  }
  std::string text;
  if (!r.read_string(f, text)) return;
  if (text == "1.2") {
    s.config.min_tls_version = TlsVersion::kTls12;
  } else if (text == "1.3") {
    s.config.min_tls_version = TlsVersion::kTls13;
  } else {
    r.error(f, fmt::format("expected \"1.2\" or \"1.3\", got {}", quote(text)));
  }
}

void set_process_scheduling(Reader& r, SiteState& s, const Field& f) {
  std::string text;
  if (!r.read_string(f, text)) return;
  std::string mode = lower_ascii(text);
  if (mode == "batch") {
    s.config.batch_scheduling = true;
  } else if (mode == "normal") {
    s.config.batch_scheduling = false;
  } else {
    r.error(f, fmt::format("expected \"batch\" or \"normal\", got {}", quote(text)));
  }
}

void set_client_certificate(Reader& r, SiteState& s, const Field& f) {
  std::string text;
  if (!r.read_string(f, text)) return;
  std::string mode = lower_ascii(text);
  if (mode == "off") {
    s.config.client_certificate = ClientCertificate::kOff;
  } else if (mode == "optional") {
    s.config.client_certificate = ClientCertificate::kOptional;
  } else if (mode == "required") {
    s.config.client_certificate = ClientCertificate::kRequired;
  } else {
    r.error(f, fmt::format("expected \"off\", \"optional\" or \"required\", got {}", quote(text)));
  }
}

constexpr SiteKey kSiteKeys[] = {
    {"name", Scope::kBoth, true,
     [](Reader& r, SiteState& s, const Field& f) {
       std::string name;
       if (!r.read_string(f, name)) return;
       if (!valid_site_name(name)) {
         r.error(f, fmt::format("must be 1-100 characters from A-Z a-z 0-9 . _ - (and not \".\" "
                                "or \"..\"), got {}",
                                quote(name)));
         return;
       }
       s.config.name = name;
       s.name_line = f.line;
     }},
    {"bindings", Scope::kBoth, true, set_bindings},
    {"path", Scope::kBoth, false,
     [](Reader& r, SiteState& s, const Field& f) {
       std::string text;
       if (!r.read_string(f, text)) {
         s.path_ok = false;
         return;
       }
       std::string why;
       auto path = normalize_app_path(text, why);
       if (!path) {
         r.error(f, why);
         s.path_ok = false;
         return;
       }
       s.config.path = *path;
     }},
    {"physical_path", Scope::kBoth, true, set_physical_path},
    {"hosting_model", Scope::kBoth, true,
     [](Reader& r, SiteState& s, const Field& f) {
       std::string text;
       if (!r.read_string(f, text)) return;
       std::string model = lower_ascii(text);
       if (model == "inprocess") {
         s.config.hosting_model = HostingModel::kInProcess;
       } else if (model == "outofprocess") {
         s.config.hosting_model = HostingModel::kOutOfProcess;
       } else {
         r.error(f, fmt::format("expected \"inprocess\" or \"outofprocess\", got {}", quote(text)));
         return;
       }
       s.model_known = true;
     }},
    {"max_allowed_content_length", Scope::kBoth, false,
     [](Reader& r, SiteState& s, const Field& f) {
       r.read_size(f, s.config.max_allowed_content_length, 0, kU64Max);
     }},
    {"environment", Scope::kBoth, false, set_environment},
    {"startup_time_limit", Scope::kBoth, false,
     [](Reader& r, SiteState& s, const Field& f) {
       r.read_duration(f, s.config.startup_time_limit, 1s, 1h);
     }},
    {"shutdown_time_limit", Scope::kBoth, false,
     [](Reader& r, SiteState& s, const Field& f) {
       r.read_duration(f, s.config.shutdown_time_limit, 0ms, 10min);
     }},
    // in-process
    {"handler", Scope::kInProcess, true,
     [](Reader& r, SiteState& s, const Field& f) { r.read_path(f, s.config.handler); }},
    {"allow_synchronous_io", Scope::kInProcess, false,
     [](Reader& r, SiteState& s, const Field& f) {
       r.read_bool(f, s.config.allow_synchronous_io);
     }},
    {"max_request_body_size", Scope::kInProcess, false,
     [](Reader& r, SiteState& s, const Field& f) {
       r.read_size(f, s.config.max_request_body_size, 0, kU64Max);
     }},
    {"shadow_copy_directory", Scope::kInProcess, false,
     [](Reader& r, SiteState& s, const Field& f) {
       r.read_path(f, s.config.shadow_copy_directory);
     }},
    // out-of-process
    {"process_path", Scope::kOutOfProcess, true,
     [](Reader& r, SiteState& s, const Field& f) { r.read_path(f, s.config.process_path); }},
    {"arguments", Scope::kOutOfProcess, false, set_arguments},
    {"request_timeout", Scope::kOutOfProcess, false,
     [](Reader& r, SiteState& s, const Field& f) {
       r.read_duration(f, s.config.request_timeout, 1ms, kMaxTimeout);
     }},
    {"rapid_fails_per_minute", Scope::kOutOfProcess, false,
     [](Reader& r, SiteState& s, const Field& f) {
       r.read_int(f, s.config.rapid_fails_per_minute, 0, 100);
     }},
    {"stdout_log_enabled", Scope::kOutOfProcess, false,
     [](Reader& r, SiteState& s, const Field& f) { r.read_bool(f, s.config.stdout_log_enabled); }},
    {"stdout_log_file", Scope::kOutOfProcess, false,
     [](Reader& r, SiteState& s, const Field& f) { r.read_path(f, s.config.stdout_log_file); }},
    {"processes", Scope::kOutOfProcess, false,
     [](Reader& r, SiteState& s, const Field& f) { r.read_int(f, s.config.processes, 1, 100); }},
    {"preload", Scope::kOutOfProcess, false,
     [](Reader& r, SiteState& s, const Field& f) { r.read_bool(f, s.config.preload); }},
    {"process_scheduling", Scope::kOutOfProcess, false, set_process_scheduling},
    // TLS (sites with an https binding)
    {"redirect_to_https", Scope::kBoth, false,
     [](Reader& r, SiteState& s, const Field& f) {
       if (r.read_bool(f, s.config.redirect_to_https)) s.redirect_line = f.line;
     }},
    {"certificate", Scope::kHttps, true,
     [](Reader& r, SiteState& s, const Field& f) {
       set_tls_file(r, f, s.config.certificate, s.certificate_line);
     }},
    {"private_key", Scope::kHttps, true,
     [](Reader& r, SiteState& s, const Field& f) {
       set_tls_file(r, f, s.config.private_key, s.private_key_line);
     }},
    {"min_tls_version", Scope::kHttps, false, set_min_tls_version},
    {"client_certificate", Scope::kHttps, false, set_client_certificate},
    {"client_ca_file", Scope::kHttps, false,
     [](Reader& r, SiteState& s, const Field& f) {
       set_tls_file(r, f, s.config.client_ca_file, s.client_ca_line);
     }},
    {"ocsp_response", Scope::kHttps, false,
     [](Reader& r, SiteState& s, const Field& f) {
       set_tls_file(r, f, s.config.ocsp_response, s.ocsp_response_line);
     }},
    // HTTP/2 (step 10): "h2" by ALPN on https bindings, prior knowledge on http bindings
    {"http2", Scope::kHttps, false,
     [](Reader& r, SiteState& s, const Field& f) { r.read_bool(f, s.config.http2); }},
    {"h2c", Scope::kHttp, false,
     [](Reader& r, SiteState& s, const Field& f) { r.read_bool(f, s.config.h2c); }},
};

template <class Key, size_t N>
const Key* find_key(const Key (&keys)[N], std::string_view name) {
  for (const Key& k : keys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

template <class Keys>
std::vector<std::string_view> names_of(const Keys& keys) {
  std::vector<std::string_view> names;
  for (const auto& k : keys) names.push_back(k.name);
  return names;
}

}  // namespace

const ServerKey* find_server_key(std::string_view name) {
  return find_key(kServerKeys, name);
}

const SiteKey* find_site_key(std::string_view name) {
  return find_key(kSiteKeys, name);
}

std::span<const SiteKey> site_keys() {
  return kSiteKeys;
}

const char* scope_sites(Scope scope) {
  switch (scope) {
    case Scope::kInProcess:
      return "inprocess sites";
    case Scope::kOutOfProcess:
      return "outofprocess sites";
    case Scope::kHttps:
      return "sites with an https binding";
    case Scope::kHttp:
      return "sites with an http binding";
    case Scope::kBoth:
      break;
  }
  return "all sites";
}

bool in_scope(Scope scope, const SiteConfig& site) {
  switch (scope) {
    case Scope::kBoth:
      return true;
    case Scope::kInProcess:
      return site.hosting_model == HostingModel::kInProcess;
    case Scope::kOutOfProcess:
      return site.hosting_model == HostingModel::kOutOfProcess;
    case Scope::kHttps:
      return site.has_https();
    case Scope::kHttp:
      return site.has_http();
  }
  return false;
}

std::string unknown_key_message(std::string_view key, Table where) {
  auto server_names = names_of(kServerKeys);
  auto site_names = names_of(kSiteKeys);
  std::vector<std::string_view> top_names(kTopKeys.begin(), kTopKeys.end());
  const auto& known = where == Table::kServer ? server_names
                      : where == Table::kSite ? site_names
                                              : top_names;
  auto has = [](const std::vector<std::string_view>& names, std::string_view k) {
    return std::find(names.begin(), names.end(), k) != names.end();
  };

  std::string message = fmt::format("unknown key {}", quote(key));
  std::string snake = snake_case(key);
  if (has(known, snake)) {
    message += fmt::format("; did you mean {}?", quote(snake));
  } else if (where != Table::kServer && has(server_names, snake)) {
    message += "; it belongs in the [server] table";
  } else if (where != Table::kSite && has(site_names, snake)) {
    message += "; it belongs in a [[site]] table";
  } else {
    std::string_view best;
    size_t best_distance = 3;  // suggest only within an edit distance of 2
    for (std::string_view candidate : known) {
      size_t d = edit_distance(lower_ascii(key), candidate);
      if (d < best_distance) {
        best = candidate;
        best_distance = d;
      }
    }
    if (!best.empty()) message += fmt::format("; did you mean {}?", quote(best));
  }
  return message;
}

}  // namespace sitehost::config_detail
