#include "shared/config/config_loader.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <system_error>
#include <tuple>
#include <vector>

#include "shared/util/duration.h"

namespace sitehost {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr Duration kMaxTimeout = 360h;  // ANCM's requestTimeout ceiling; used for all timeouts
constexpr uint32_t kU32Max = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

// ---------------------------------------------------------------------------------------------
// Text helpers

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A string as shown in messages: double-quoted, control bytes escaped, long values cut.
std::string quote(std::string_view text) {
  constexpr size_t kMaxShown = 80;
  std::string out = "\"";
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == kMaxShown) {
      out += "...";
      break;
    }
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + '"';
}

// What a TOML value looks like in the "got ..." part of messages.
std::string describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return quote(node.as_string()->get());
    case toml::node_type::integer:
      return fmt::format("{}", node.as_integer()->get());
    case toml::node_type::floating_point:
      return fmt::format("{}", node.as_floating_point()->get());
    case toml::node_type::boolean:
      return node.as_boolean()->get() ? "true" : "false";
    case toml::node_type::array:
      return "a list";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date/time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// "processPath", "Process-Path" → "process_path": ANCM's camelCase attribute names map directly.
std::string snake_case(std::string_view key) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    bool upper = c >= 'A' && c <= 'Z';
    bool after_lower = i > 0 && ((key[i - 1] >= 'a' && key[i - 1] <= 'z') ||
                                 (key[i - 1] >= '0' && key[i - 1] <= '9'));
    if (upper && after_lower) out += '_';
    out += c == '-' ? '_' : upper ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Value grammars (bindings, application paths, argument strings)

bool valid_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  std::string_view last;
  for (size_t start = 0;;) {
    size_t dot = host.find('.', start);
    std::string_view label = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
    }
    last = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // A name ending in a numeric label would be read as an IPv4 address by clients (WHATWG URL).
  return last.find_first_not_of("0123456789") != std::string_view::npos;
}

std::optional<uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  uint32_t port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port == 0 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

// "http://HOST:PORT" (an optional lone trailing "/" is tolerated). On failure sets `error`.
std::optional<Binding> parse_binding(std::string_view text, std::string& error) {
  constexpr std::string_view kShape = "expected \"http://HOST:PORT\"";
  size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    error = fmt::format("{}, got {}", kShape, quote(text));
    return std::nullopt;
  }
  Binding binding;
  binding.scheme = lower_ascii(text.substr(0, sep));
  if (binding.scheme == "https") {
    error = "https bindings are not supported yet";
    return std::nullopt;
  }
  if (binding.scheme != "http") {
    error = fmt::format("unsupported scheme {}; {}", quote(binding.scheme), kShape);
    return std::nullopt;
  }
  std::string_view rest = text.substr(sep + 3);
  size_t tail_at = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, tail_at);
  if (tail_at != std::string_view::npos && rest.substr(tail_at) != "/") {
    error = fmt::format("a binding cannot have a path or query ({}); use the site's path key",
                        quote(rest.substr(tail_at)));
    return std::nullopt;
  }
  std::string_view host;
  std::string_view port;
  bool has_port = false;
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = fmt::format("missing \"]\" after the IPv6 address in {}", quote(text));
      return std::nullopt;
    }
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      error = fmt::format("{}, got {}", kShape, quote(text));
      return std::nullopt;
    }
    has_port = !after.empty();
    if (has_port) port = after.substr(1);
    in6_addr addr{};
    char canonical[INET6_ADDRSTRLEN] = {};
    std::string host_z(host);
    if (inet_pton(AF_INET6, host_z.c_str(), &addr) != 1 ||
        inet_ntop(AF_INET6, &addr, canonical, sizeof canonical) == nullptr) {
      error = fmt::format("invalid IPv6 address {}", quote(host));
      return std::nullopt;
    }
    binding.host = canonical;
    binding.host_is_ip = true;
  } else {
    size_t colon = authority.rfind(':');
    has_port = colon != std::string_view::npos;
    host = authority.substr(0, colon);
    if (has_port) port = authority.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      error = "IPv6 addresses must be in brackets, like \"http://[::1]:8080\"";
      return std::nullopt;
    }
    if (host.empty()) {
      error = fmt::format("missing host in {}; use \"*\" for any address", quote(text));
      return std::nullopt;
    }
    binding.host = lower_ascii(host);
    in_addr addr{};
    if (binding.host == "*") {
      // any address
    } else if (binding.host == "localhost") {
      binding.host = "127.0.0.1";
      binding.host_is_ip = true;
    } else if (inet_pton(AF_INET, binding.host.c_str(), &addr) == 1) {
      binding.host_is_ip = true;
    } else if (binding.host.find_first_not_of("0123456789.") == std::string::npos) {
      error = fmt::format("invalid IPv4 address {}", quote(host));
      return std::nullopt;
    } else if (!valid_host_name(binding.host)) {
      error = fmt::format("invalid host name {}", quote(host));
      return std::nullopt;
    }
  }
  if (!has_port || port.empty()) {
    error = fmt::format("missing port in {}; {}", quote(text), kShape);
    return std::nullopt;
  }
  auto number = parse_port(port);
  if (!number) {
    error = fmt::format("invalid port {}; expected a number from 1 to 65535", quote(port));
    return std::nullopt;
  }
  binding.port = *number;
  return binding;
}

std::string binding_url(const Binding& b, std::string_view path) {
  bool v6 = b.host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}{}", b.scheme, v6 ? "[" : "", b.host, v6 ? "]" : "", b.port,
                     path);
}

// A site's base path: "/" or "/seg[/seg]", returned without a trailing slash.
std::optional<std::string> normalize_app_path(std::string_view path, std::string& error) {
  if (!path.starts_with('/')) {
    error = fmt::format("must start with \"/\", got {}", quote(path));
    return std::nullopt;
  }
  for (std::string_view bad : {"?", "#", "%", "//"}) {
    if (path.find(bad) != std::string_view::npos) {
      error = fmt::format("must not contain \"{}\", got {}", bad, quote(path));
      return std::nullopt;
    }
  }
  constexpr std::string_view kAllowed =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/";
  if (path.find_first_not_of(kAllowed) != std::string_view::npos) {
    error = fmt::format("must contain only letters, digits and {}, got {}", "-._~!$&'()*+,;=:@/",
                        quote(path));
    return std::nullopt;
  }
  for (size_t start = 1; start <= path.size();) {
    size_t slash = std::min(path.find('/', start), path.size());
    std::string_view segment = path.substr(start, slash - start);
    if (segment == "." || segment == "..") {
      error = fmt::format("must not contain \".\" or \"..\" segments, got {}", quote(path));
      return std::nullopt;
    }
    start = slash + 1;
  }
  if (path.size() > 1 && path.ends_with('/')) path.remove_suffix(1);
  return std::string(path);
}

// ANCM's `arguments` string: whitespace-separated words; double quotes group (and are removed).
std::optional<std::vector<std::string>> split_arguments(std::string_view text, std::string& error) {
  std::vector<std::string> args;
  std::string word;
  bool in_word = false;
  bool quoted = false;
  for (char c : text) {
    if (quoted) {
      if (c == '"') {
        quoted = false;
      } else {
        word += c;
      }
    } else if (c == '"') {
      quoted = in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) args.push_back(std::exchange(word, {}));
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quoted) {
    error = fmt::format("unterminated double quote in {}", quote(text));
    return std::nullopt;
  }
  if (in_word) args.push_back(std::move(word));
  return args;
}

bool valid_site_name(std::string_view name) {
  return !name.empty() && name.size() <= 100 && name != "." && name != ".." &&
         name.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
             std::string_view::npos;
}

// `base / path` unless `path` is absolute; lexically normal, without a trailing separator.
fs::path resolve(const fs::path& base, const fs::path& path) {
  fs::path out = (path.is_absolute() ? path : base / path).lexically_normal();
  if (!out.has_filename() && out.has_relative_path()) out = out.parent_path();
  return out;
}

// ---------------------------------------------------------------------------------------------
// The loader: walks the TOML tree, fills a Config and collects diagnostics.

enum class Scope { kBoth, kInProcess, kOutOfProcess };
enum class Table { kTop, kServer, kSite };

constexpr std::array<std::string_view, 2> kTopKeys = {"server", "site"};

// A value under validation: the node, its key path for messages and its line.
struct Field {
  const toml::node& node;
  std::string key;
  uint32_t line;
};

// Per-site state that outlives the key passes.
struct SiteState {
  SiteConfig config;
  std::string label;    // `site "api"` or `site[2]`: the prefix of key paths
  std::string display;  // `"api"` or `site[2]`: how conflict messages name the site
  uint32_t line = 0;    // the [[site]] header
  bool model_known = false;
  bool path_ok = true;  // false once `path` was rejected (skip the route check)
  uint32_t name_line = 0;
  std::vector<uint32_t> binding_lines;  // parallel to config.bindings
};

class Loader;
using ServerSetter = void (*)(Loader&, ServerConfig&, const Field&);
using SiteSetter = void (*)(Loader&, SiteState&, const Field&);
struct ServerKey {
  std::string_view name;
  ServerSetter set;
};
struct SiteKey {
  std::string_view name;
  Scope scope;
  bool required;  // within its scope
  SiteSetter set;
};

uint32_t line_of(const toml::source_region& source, uint32_t fallback) {
  return source.begin.line != 0 ? source.begin.line : fallback;
}

class Loader {
 public:
  Loader(std::string file_label, fs::path config_dir)
      : file_(std::move(file_label)), config_dir_(std::move(config_dir)) {}

  LoadResult run(const toml::table& root, fs::path absolute_file);

  const fs::path& config_dir() const { return config_dir_; }

  void error(uint32_t line, std::string_view key, std::string_view message) {
    errors_.push_back({line, fmt::format("{}:{}: {}: {}", file_, line, key, message)});
  }
  void error(const Field& f, std::string_view message) { error(f.line, f.key, message); }
  void warn(const Field& f, std::string_view message) {
    warnings_.push_back({f.line, fmt::format("{}:{}: {}: {}", file_, f.line, f.key, message)});
  }

  // Readers: on success they store into `out` and return true; otherwise they record an error.
  bool read_bool(const Field& f, bool& out) {
    if (const auto* v = f.node.as_boolean()) {
      out = v->get();
      return true;
    }
    error(f, fmt::format("expected a boolean (true or false), got {}", describe(f.node)));
    return false;
  }

  bool read_string(const Field& f, std::string& out) {
    const auto* v = f.node.as_string();
    if (v == nullptr) {
      error(f, fmt::format("expected a string, got {}", describe(f.node)));
      return false;
    }
    if (v->get().find('\0') != std::string::npos) {
      error(f, "must not contain NUL characters");
      return false;
    }
    out = v->get();
    return true;
  }

  // A non-empty path string, unresolved.
  bool read_path(const Field& f, fs::path& out) {
    std::string text;
    if (!read_string(f, text)) return false;
    if (text.empty()) {
      error(f, "must not be empty");
      return false;
    }
    out = text;
    return true;
  }

  template <class T>
  bool read_int(const Field& f, T& out, int64_t min, int64_t max) {
    const auto* v = f.node.as_integer();
    if (v == nullptr) {
      error(f, fmt::format("expected an integer, got {}", describe(f.node)));
      return false;
    }
    if (v->get() < min || v->get() > max) {
      error(f, fmt::format("must be between {} and {}, got {}", min, max, v->get()));
      return false;
    }
    out = static_cast<T>(v->get());
    return true;
  }

  template <class T>
  bool read_size(const Field& f, T& out, uint64_t min, uint64_t max) {
    std::optional<uint64_t> bytes;
    if (const auto* i = f.node.as_integer(); i != nullptr && i->get() >= 0) {
      bytes = static_cast<uint64_t>(i->get());
    } else if (const auto* s = f.node.as_string()) {
      bytes = parse_size(s->get());
    }
    if (!bytes) {
      error(f, fmt::format("expected a size in bytes like 8192, \"8KiB\" or \"30MB\", got {}",
                           describe(f.node)));
      return false;
    }
    if (*bytes < min || *bytes > max) {
      error(f, fmt::format("must be between {} and {} bytes, got {}", min, max, describe(f.node)));
      return false;
    }
    out = static_cast<T>(*bytes);
    return true;
  }

  bool read_duration(const Field& f, Duration& out, Duration min, Duration max) {
    const auto* s = f.node.as_string();
    if (s == nullptr) {
      error(f,
            fmt::format("expected a duration string like \"30s\", \"2m\" or \"00:02:00\", got {}",
                        describe(f.node)));
      return false;
    }
    auto value = parse_duration(s->get());
    if (!value) {
      error(f, fmt::format("expected a duration like \"30s\", \"2m\" or \"00:02:00\", got {}",
                           describe(f.node)));
      return false;
    }
    if (*value < min || *value > max) {
      std::string range =
          min == Duration::zero()
              ? fmt::format("at most {}", format_duration(max))
              : fmt::format("between {} and {}", format_duration(min), format_duration(max));
      error(f, fmt::format("must be {}, got {}", range, describe(f.node)));
      return false;
    }
    out = *value;
    return true;
  }

  // One string of a list: `key[i]` in messages, the element's own line.
  Field element(const Field& list, const toml::node& node, size_t index) {
    return {node, fmt::format("{}[{}]", list.key, index), line_of(node.source(), list.line)};
  }

  bool read_string_list(const Field& f, std::vector<std::string>& out) {
    const auto* array = f.node.as_array();
    if (array == nullptr) {
      error(f, fmt::format("expected a list of strings, got {}", describe(f.node)));
      return false;
    }
    std::vector<std::string> values(array->size());
    for (size_t i = 0; i < array->size(); ++i) {
      Field item = element(f, *array->get(i), i);
      if (!item.node.is_string()) {
        error(item, fmt::format("expected a list of strings, got {}", describe(item.node)));
        return false;
      }
      if (!read_string(item, values[i])) return false;
    }
    out = std::move(values);
    return true;
  }

  void unknown_key(const Field& f, std::string_view key, Table where);

 private:
  void load_server(const Field& f, ServerConfig& server);
  void load_sites(const Field& f, std::vector<SiteConfig>& sites);
  void load_site(const toml::table& table, size_t index, std::vector<SiteConfig>& sites);
  void check_unique(SiteState& site);

  struct Diagnostic {
    uint32_t line;
    std::string text;
  };

  std::string file_;
  fs::path config_dir_;
  std::vector<Diagnostic> errors_;
  std::vector<Diagnostic> warnings_;
  std::map<std::string, uint32_t> site_names_;  // name → line of its `name` key
  // (host, port, path) → the site that answers it
  std::map<std::tuple<std::string, uint16_t, std::string>, std::string> routes_;
};

// ---------------------------------------------------------------------------------------------
// [server] keys

const ServerKey kServerKeys[] = {
    {"error_log",
     [](Loader& l, ServerConfig& s, const Field& f) {
       if (fs::path p; l.read_path(f, p)) s.error_log = resolve(l.config_dir(), p).string();
     }},
    {"access_log",
     [](Loader& l, ServerConfig& s, const Field& f) {
       if (fs::path p; l.read_path(f, p)) s.access_log = resolve(l.config_dir(), p).string();
     }},
    {"log_level",
     [](Loader& l, ServerConfig& s, const Field& f) {
       std::string text;
       if (!l.read_string(f, text)) return;
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
         l.error(f, fmt::format("expected \"debug\", \"info\", \"warn\" or \"error\", got {}",
                                quote(text)));
       }
     }},
    {"header_timeout",
     [](Loader& l, ServerConfig& s, const Field& f) {
       l.read_duration(f, s.header_timeout, 1ms, kMaxTimeout);
     }},
    {"keepalive_timeout",
     [](Loader& l, ServerConfig& s, const Field& f) {
       l.read_duration(f, s.keepalive_timeout, 1ms, kMaxTimeout);
     }},
    {"max_connections", [](Loader& l, ServerConfig& s,
                           const Field& f) { l.read_int(f, s.max_connections, 1, kU32Max); }},
    {"max_request_line", [](Loader& l, ServerConfig& s,
                            const Field& f) { l.read_size(f, s.max_request_line, 1, kU32Max); }},
    {"max_header_bytes", [](Loader& l, ServerConfig& s,
                            const Field& f) { l.read_size(f, s.max_header_bytes, 1, kU32Max); }},
    {"max_headers",
     [](Loader& l, ServerConfig& s, const Field& f) { l.read_int(f, s.max_headers, 1, kU32Max); }},
    {"shutdown_timeout",
     [](Loader& l, ServerConfig& s, const Field& f) {
       l.read_duration(f, s.shutdown_timeout, 0ms, kMaxTimeout);
     }},
    {"detailed_errors",
     [](Loader& l, ServerConfig& s, const Field& f) { l.read_bool(f, s.detailed_errors); }},
};

// ---------------------------------------------------------------------------------------------
// [[site]] keys. Relative handler/process_path/stdout_log_file are resolved after all keys are
// read, because physical_path may come later in the table.

void set_bindings(Loader& l, SiteState& s, const Field& f) {
  const auto* array = f.node.as_array();
  if (array == nullptr) {
    l.error(f, fmt::format("expected a list of strings like [\"http://*:8080\"], got {}",
                           describe(f.node)));
    return;
  }
  if (array->empty()) {
    l.error(f, "must list at least one binding, like [\"http://*:8080\"]");
    return;
  }
  for (size_t i = 0; i < array->size(); ++i) {
    Field item = l.element(f, *array->get(i), i);
    std::string text;
    if (!l.read_string(item, text)) return;
    std::string why;
    auto binding = parse_binding(text, why);
    if (!binding) {
      l.error(item, why);
      return;
    }
    if (std::find(s.config.bindings.begin(), s.config.bindings.end(), *binding) !=
        s.config.bindings.end()) {
      l.error(item, fmt::format("{} is listed twice", binding_url(*binding, "")));
      return;
    }
    s.config.bindings.push_back(std::move(*binding));
    s.binding_lines.push_back(item.line);
  }
}

void set_environment(Loader& l, SiteState& s, const Field& f) {
  const auto* table = f.node.as_table();
  if (table == nullptr) {
    l.error(f, fmt::format("expected a table of strings like {{ NAME = \"value\" }}, got {}",
                           describe(f.node)));
    return;
  }
  for (auto&& [key, node] : *table) {
    Field item{node, fmt::format("{}.{}", f.key, key.str()), line_of(node.source(), f.line)};
    if (key.str().empty() ||
        key.str().find_first_of(std::string_view("=\0", 2)) != std::string_view::npos) {
      l.error(item, "variable names must be non-empty and contain neither \"=\" nor NUL");
      return;
    }
    std::string value;
    if (!l.read_string(item, value)) return;
    s.config.environment[std::string(key.str())] = std::move(value);
  }
}

void set_physical_path(Loader& l, SiteState& s, const Field& f) {
  fs::path raw;
  if (!l.read_path(f, raw)) return;
  fs::path dir = resolve(l.config_dir(), raw);
  std::error_code ec;
  auto status = fs::status(dir, ec);
  if (status.type() == fs::file_type::not_found) {
    l.error(f, fmt::format("directory {} does not exist", quote(dir.string())));
  } else if (ec) {
    l.error(f, fmt::format("cannot access {}: {}", quote(dir.string()), ec.message()));
  } else if (status.type() != fs::file_type::directory) {
    l.error(f, fmt::format("{} is not a directory", quote(dir.string())));
  } else {
    s.config.physical_path = dir;
  }
}

void set_arguments(Loader& l, SiteState& s, const Field& f) {
  if (const auto* text = f.node.as_string()) {
    std::string why;
    auto args = split_arguments(text->get(), why);
    if (!args) {
      l.error(f, why);
    } else if (std::any_of(args->begin(), args->end(), [](const std::string& a) {
                 return a.find('\0') != std::string::npos;
               })) {
      l.error(f, "must not contain NUL characters");
    } else {
      s.config.arguments = std::move(*args);
    }
    return;
  }
  if (!f.node.is_array()) {
    l.error(f,
            fmt::format("expected a list of strings or a single string, got {}", describe(f.node)));
    return;
  }
  l.read_string_list(f, s.config.arguments);
}

const SiteKey kSiteKeys[] = {
    {"name", Scope::kBoth, true,
     [](Loader& l, SiteState& s, const Field& f) {
       std::string name;
       if (!l.read_string(f, name)) return;
       if (!valid_site_name(name)) {
         l.error(f, fmt::format("must be 1-100 characters from A-Z a-z 0-9 . _ - (and not \".\" "
                                "or \"..\"), got {}",
                                quote(name)));
         return;
       }
       s.config.name = name;
       s.name_line = f.line;
     }},
    {"bindings", Scope::kBoth, true, set_bindings},
    {"path", Scope::kBoth, false,
     [](Loader& l, SiteState& s, const Field& f) {
       std::string text;
       if (!l.read_string(f, text)) {
         s.path_ok = false;
         return;
       }
       std::string why;
       auto path = normalize_app_path(text, why);
       if (!path) {
         l.error(f, why);
         s.path_ok = false;
         return;
       }
       s.config.path = *path;
     }},
    {"physical_path", Scope::kBoth, true, set_physical_path},
    {"hosting_model", Scope::kBoth, true,
     [](Loader& l, SiteState& s, const Field& f) {
       std::string text;
       if (!l.read_string(f, text)) return;
       std::string model = lower_ascii(text);
       if (model == "inprocess") {
         s.config.hosting_model = HostingModel::kInProcess;
       } else if (model == "outofprocess") {
         s.config.hosting_model = HostingModel::kOutOfProcess;
       } else {
         l.error(f, fmt::format("expected \"inprocess\" or \"outofprocess\", got {}", quote(text)));
         return;
       }
       s.model_known = true;
     }},
    {"max_allowed_content_length", Scope::kBoth, false,
     [](Loader& l, SiteState& s, const Field& f) {
       l.read_size(f, s.config.max_allowed_content_length, 0, kU64Max);
     }},
    {"environment", Scope::kBoth, false, set_environment},
    {"startup_time_limit", Scope::kBoth, false,
     [](Loader& l, SiteState& s, const Field& f) {
       l.read_duration(f, s.config.startup_time_limit, 1s, 1h);
     }},
    // in-process
    {"handler", Scope::kInProcess, true,
     [](Loader& l, SiteState& s, const Field& f) { l.read_path(f, s.config.handler); }},
    {"allow_synchronous_io", Scope::kInProcess, false,
     [](Loader& l, SiteState& s, const Field& f) {
       l.read_bool(f, s.config.allow_synchronous_io);
     }},
    {"max_request_body_size", Scope::kInProcess, false,
     [](Loader& l, SiteState& s, const Field& f) {
       l.read_size(f, s.config.max_request_body_size, 0, kU64Max);
     }},
    // out-of-process
    {"process_path", Scope::kOutOfProcess, true,
     [](Loader& l, SiteState& s, const Field& f) { l.read_path(f, s.config.process_path); }},
    {"arguments", Scope::kOutOfProcess, false, set_arguments},
    {"request_timeout", Scope::kOutOfProcess, false,
     [](Loader& l, SiteState& s, const Field& f) {
       l.read_duration(f, s.config.request_timeout, 1ms, kMaxTimeout);
     }},
    {"shutdown_time_limit", Scope::kOutOfProcess, false,
     [](Loader& l, SiteState& s, const Field& f) {
       l.read_duration(f, s.config.shutdown_time_limit, 0ms, 10min);
     }},
    {"rapid_fails_per_minute", Scope::kOutOfProcess, false,
     [](Loader& l, SiteState& s, const Field& f) {
       l.read_int(f, s.config.rapid_fails_per_minute, 0, 100);
     }},
    {"stdout_log_enabled", Scope::kOutOfProcess, false,
     [](Loader& l, SiteState& s, const Field& f) { l.read_bool(f, s.config.stdout_log_enabled); }},
    {"stdout_log_file", Scope::kOutOfProcess, false,
     [](Loader& l, SiteState& s, const Field& f) { l.read_path(f, s.config.stdout_log_file); }},
    {"processes", Scope::kOutOfProcess, false,
     [](Loader& l, SiteState& s, const Field& f) { l.read_int(f, s.config.processes, 1, 100); }},
    {"preload", Scope::kOutOfProcess, false,
     [](Loader& l, SiteState& s, const Field& f) { l.read_bool(f, s.config.preload); }},
};

template <class Keys>
std::vector<std::string_view> names_of(const Keys& keys) {
  std::vector<std::string_view> names;
  for (const auto& k : keys) names.push_back(k.name);
  return names;
}

const char* scope_name(Scope scope) {
  return scope == Scope::kInProcess ? "inprocess" : "outofprocess";
}

bool in_scope(Scope scope, HostingModel model) {
  return scope == Scope::kBoth ||
         (scope == Scope::kInProcess) == (model == HostingModel::kInProcess);
}

// ---------------------------------------------------------------------------------------------
// Loader: tables

void Loader::unknown_key(const Field& f, std::string_view key, Table where) {
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
  error(f, message);
}

void Loader::load_server(const Field& f, ServerConfig& server) {
  const auto* table = f.node.as_table();
  if (table == nullptr) {
    bool aot = f.node.is_array_of_tables();
    error(f, aot ? "expected a table; write [server], not [[server]]"
                 : fmt::format("expected a table, got {}", describe(f.node)));
    return;
  }
  for (auto&& [key, node] : *table) {
    Field item{node, fmt::format("server.{}", key.str()), line_of(node.source(), f.line)};
    auto spec = std::find_if(std::begin(kServerKeys), std::end(kServerKeys),
                             [&](const ServerKey& k) { return k.name == key.str(); });
    if (spec == std::end(kServerKeys)) {
      unknown_key({node, item.key, line_of(key.source(), item.line)}, key.str(), Table::kServer);
    } else {
      spec->set(*this, server, item);
    }
  }
}

void Loader::load_sites(const Field& f, std::vector<SiteConfig>& sites) {
  if (f.node.is_table()) {
    error(f, "expected an array of tables; write [[site]], not [site]");
    return;
  }
  const auto* array = f.node.as_array();
  if (array == nullptr) {
    error(f, fmt::format("expected an array of [[site]] tables, got {}", describe(f.node)));
    return;
  }
  if (array->empty()) {
    error(f, "no sites are configured; add a [[site]] table");
    return;
  }
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& node = *array->get(i);
    if (const auto* table = node.as_table()) {
      load_site(*table, i, sites);
    } else {
      error(line_of(node.source(), f.line), fmt::format("site[{}]", i),
            fmt::format("expected a [[site]] table, got {}", describe(node)));
    }
  }
}

void Loader::load_site(const toml::table& table, size_t index, std::vector<SiteConfig>& sites) {
  SiteState s;
  s.line = line_of(table.source(), 1);
  s.config.stdout_log_file = "logs/stdout";
  const auto* name = table.get_as<std::string>("name");
  if (name != nullptr && valid_site_name(name->get())) {
    s.label = fmt::format("site {}", quote(name->get()));
    s.display = quote(name->get());
  } else {
    s.label = s.display = fmt::format("site[{}]", index);
  }

  // Pass 1: keys for every model (including hosting_model); pass 2: the model-specific ones.
  for (int pass = 1; pass <= 2; ++pass) {
    for (auto&& [key, node] : table) {
      Field item{node, fmt::format("{}.{}", s.label, key.str()), line_of(node.source(), s.line)};
      auto spec = std::find_if(std::begin(kSiteKeys), std::end(kSiteKeys),
                               [&](const SiteKey& k) { return k.name == key.str(); });
      if (spec == std::end(kSiteKeys)) {
        if (pass == 1) {
          unknown_key({node, item.key, line_of(key.source(), item.line)}, key.str(), Table::kSite);
        }
      } else if ((spec->scope == Scope::kBoth) == (pass == 1)) {
        if (pass == 1 || in_scope(spec->scope, s.config.hosting_model)) {
          spec->set(*this, s, item);
        } else if (s.model_known) {
          warn(item, fmt::format("applies only to {} sites; ignored", scope_name(spec->scope)));
        }
      }
    }
    if (!s.model_known) break;  // without a valid model, model-specific keys mean nothing
  }

  for (const SiteKey& spec : kSiteKeys) {
    if (!spec.required || table.contains(spec.name)) continue;
    std::string key = fmt::format("{}.{}", s.label, spec.name);
    if (spec.scope == Scope::kBoth) {
      error(s.line, key, "required key is missing");
    } else if (s.model_known && in_scope(spec.scope, s.config.hosting_model)) {
      error(s.line, key, fmt::format("required for {} sites but missing", scope_name(spec.scope)));
    }
  }

  const fs::path& dir = s.config.physical_path;
  if (!dir.empty()) {
    for (fs::path* p : {&s.config.handler, &s.config.process_path, &s.config.stdout_log_file}) {
      if (!p->empty()) *p = resolve(dir, *p);
    }
  }
  check_unique(s);
  sites.push_back(std::move(s.config));
}

// Site names are unique; no two sites answer the same binding and path.
void Loader::check_unique(SiteState& s) {
  if (!s.config.name.empty()) {
    auto [it, added] = site_names_.emplace(s.config.name, s.name_line);
    if (!added) {
      error(s.name_line, s.label + ".name",
            fmt::format("site name {} is already used by the site at line {}", quote(s.config.name),
                        it->second));
    }
  }
  if (!s.path_ok) return;
  for (size_t i = 0; i < s.config.bindings.size(); ++i) {
    const Binding& b = s.config.bindings[i];
    auto [it, added] = routes_.emplace(std::tuple(b.host, b.port, s.config.path), s.display);
    if (!added) {
      error(s.binding_lines[i], fmt::format("{}.bindings[{}]", s.label, i),
            fmt::format("sites {} and {} both answer {}", it->second, s.display,
                        binding_url(b, s.config.path)));
    }
  }
}

LoadResult Loader::run(const toml::table& root, fs::path absolute_file) {
  Config config;
  config.file = std::move(absolute_file);
  const toml::node* sites = nullptr;
  uint32_t sites_line = 1;
  for (auto&& [key, node] : root) {
    Field item{node, std::string(key.str()), line_of(node.source(), 1)};
    if (key.str() == "server") {
      load_server(item, config.server);
    } else if (key.str() == "site") {
      sites = &node;
      sites_line = item.line;
    } else {
      unknown_key({node, item.key, line_of(key.source(), item.line)}, key.str(), Table::kTop);
    }
  }
  if (sites == nullptr) {
    error(1, "site", "no sites are configured; add a [[site]] table");
  } else {
    load_sites({*sites, "site", sites_line}, config.sites);
  }

  auto by_line = [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; };
  std::stable_sort(errors_.begin(), errors_.end(), by_line);
  if (!errors_.empty()) return {std::nullopt, std::move(errors_.front().text)};
  std::stable_sort(warnings_.begin(), warnings_.end(), by_line);
  for (auto& w : warnings_) config.warnings.push_back(std::move(w.text));
  return {std::move(config), {}};
}

bool read_file(const fs::path& file, std::string& out, std::string& error) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!f) {
    error = std::error_code(errno, std::generic_category()).message();
    return false;
  }
  char buffer[64 * 1024];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f.get())) > 0) out.append(buffer, n);
  if (std::ferror(f.get())) {
    error = std::error_code(errno, std::generic_category()).message();
    return false;
  }
  return true;
}

}  // namespace

LoadResult load_config(const fs::path& file) {
  std::string text;
  std::string why;
  if (!read_file(file, text, why)) {
    return {std::nullopt, fmt::format("{}: cannot read: {}", file.string(), why)};
  }
  return parse_config(text, file);
}

LoadResult parse_config(std::string_view toml_text, const fs::path& file) {
  std::string label = file.string();
  std::error_code ec;
  fs::path absolute = fs::absolute(file, ec);
  if (ec) absolute = file;
  absolute = absolute.lexically_normal();

  toml::table root;
#if TOML_EXCEPTIONS
  try {
    root = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    return {std::nullopt,
            fmt::format("{}:{}: syntax error: {}", label, e.source().begin.line, e.description())};
  }
#else
  toml::parse_result parsed = toml::parse(toml_text);
  if (!parsed) {
    const toml::parse_error& e = parsed.error();
    return {std::nullopt,
            fmt::format("{}:{}: syntax error: {}", label, e.source().begin.line, e.description())};
  }
  root = std::move(parsed).table();
#endif
  Loader loader(label, absolute.parent_path());
  return loader.run(root, std::move(absolute));
}

}  // namespace sitehost
