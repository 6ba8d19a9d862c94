#include "shared/config/values.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "shared/config/text.h"

namespace sitehost::config_detail {
namespace {

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

}  // namespace

std::optional<Binding> parse_binding(std::string_view text, std::string& error) {
  constexpr std::string_view kShape = "expected \"http://HOST:PORT\" or \"https://HOST:PORT\"";
  size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    error = fmt::format("{}, got {}", kShape, quote(text));
    return std::nullopt;
  }
  Binding binding;
  binding.scheme = lower_ascii(text.substr(0, sep));
  if (binding.scheme != "http" && binding.scheme != "https") {
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

namespace {

// "IP:PORT" with an IPv4 literal, "[IPv6]" or "localhost": the IP in canonical text form (IPv6
// without brackets) and the port. nullopt with `error` left empty: `text` is not shaped like an
// address (the caller says what it expected).
struct IpPort {
  std::string ip;
  uint16_t port = 0;
  bool v6 = false;
};
std::optional<IpPort> parse_ip_port(std::string_view text, std::string& error) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  auto port = parse_port(text.substr(colon + 1));
  if (!port) {
    error = fmt::format("invalid port {}; expected a number from 1 to 65535",
                        quote(text.substr(colon + 1)));
    return std::nullopt;
  }
  IpPort out;
  out.port = *port;
  out.v6 = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (out.v6) host = host.substr(1, host.size() - 2);
  std::string ip = lower_ascii(host);
  if (ip == "localhost") ip = "127.0.0.1";
  in6_addr a{};
  char canonical[INET6_ADDRSTRLEN];
  int family = out.v6 ? AF_INET6 : AF_INET;
  if (inet_pton(family, ip.c_str(), &a) != 1 ||
      inet_ntop(family, &a, canonical, sizeof canonical) == nullptr)
    return std::nullopt;
  out.ip = canonical;
  return out;
}

bool is_loopback(const IpPort& address) {
  in6_addr a{};
  inet_pton(address.v6 ? AF_INET6 : AF_INET, address.ip.c_str(), &a);
  if (address.v6) return IN6_IS_ADDR_LOOPBACK(&a);
  in_addr v4{};
  std::memcpy(&v4, &a, sizeof v4);
  return (ntohl(v4.s_addr) >> 24) == 127;
}

}  // namespace

std::optional<AdminEndpoint> parse_admin(std::string_view text,
                                         const std::filesystem::path& config_dir,
                                         std::string& error) {
  constexpr std::string_view kShape =
      "expected a unix socket path, \"127.0.0.1:PORT\", \"[::1]:PORT\" or \"off\"";
  AdminEndpoint admin;
  if (text.empty()) {
    error = fmt::format("{}, got \"\"", kShape);
    return std::nullopt;
  }
  if (lower_ascii(text) == "off") {
    admin.kind = AdminEndpoint::Kind::kOff;
    return admin;
  }
  // An address has a ':' and no '/'; everything else is a socket path.
  if (text.find(':') != std::string_view::npos && text.find('/') == std::string_view::npos) {
    auto address = parse_ip_port(text, error);
    if (!address) {
      if (error.empty()) error = fmt::format("{}, got {}", kShape, quote(text));
      return std::nullopt;
    }
    if (!is_loopback(*address)) {
      std::string_view host = text.substr(0, text.rfind(':'));
      if (address->v6) host = host.substr(1, host.size() - 2);
      error = fmt::format(
          "{} is not a loopback address; the admin API has no authentication, so it listens "
          "only on a unix socket, 127.0.0.1 or [::1]",
          quote(host));
      return std::nullopt;
    }
    admin.kind = AdminEndpoint::Kind::kTcp;
    admin.ip = address->ip;
    admin.port = address->port;
    return admin;
  }
  std::string path = resolve(config_dir, std::filesystem::path(text)).string();
  if (path.size() > 107) {  // sizeof(sockaddr_un::sun_path) - 1
    error = fmt::format("unix socket path {} is too long ({} bytes; at most 107)", quote(path),
                        path.size());
    return std::nullopt;
  }
  admin.kind = AdminEndpoint::Kind::kSocket;
  admin.path = std::move(path);
  return admin;
}

std::optional<HealthEndpoint> parse_health(std::string_view text, std::string& error) {
  constexpr std::string_view kShape =
      "expected \"off\", an address like \"0.0.0.0:8081\", \"[::]:8081\" or \"*:8081\", or a "
      "path like \"/healthz\"";
  HealthEndpoint health;
  if (lower_ascii(text) == "off") return health;
  if (text.starts_with('/')) {
    auto path = normalize_app_path(text, error);
    if (!path) return std::nullopt;
    if (*path == "/") {
      error = "must not be \"/\": the health answer would hide every site's home page";
      return std::nullopt;
    }
    health.kind = HealthEndpoint::Kind::kPath;
    health.path = std::move(*path);
    return health;
  }
  // "*:PORT": every IPv4 address, like a "*" binding.
  std::string any;
  if (text.starts_with("*:")) text = any.assign("0.0.0.0").append(text.substr(1));
  auto address = parse_ip_port(text, error);
  if (!address) {
    if (error.empty()) error = fmt::format("{}, got {}", kShape, quote(text));
    return std::nullopt;
  }
  health.kind = HealthEndpoint::Kind::kAddress;
  health.ip = address->ip;
  health.port = address->port;
  return health;
}

bool valid_site_name(std::string_view name) {
  return !name.empty() && name.size() <= 100 && name != "." && name != ".." &&
         name.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
             std::string_view::npos;
}

std::filesystem::path resolve(const std::filesystem::path& base,
                              const std::filesystem::path& path) {
  std::filesystem::path out = (path.is_absolute() ? path : base / path).lexically_normal();
  if (!out.has_filename() && out.has_relative_path()) out = out.parent_path();
  return out;
}

}  // namespace sitehost::config_detail
