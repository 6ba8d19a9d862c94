// Top-level orchestration: read the file, parse TOML, walk the tables. Value grammars live in
// values.h, typed node reads and diagnostics in toml_reader.h, the key tables in key_tables.h.

#include "shared/config/config_loader.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "shared/config/key_tables.h"
#include "shared/config/text.h"
#include "shared/config/toml_reader.h"
#include "shared/config/values.h"
#include "shared/net/tls_context.h"

namespace sitehost {
namespace {

namespace fs = std::filesystem;

using config_detail::binding_url;
using config_detail::describe;
using config_detail::Field;
using config_detail::find_server_key;
using config_detail::find_site_key;
using config_detail::in_scope;
using config_detail::line_of;
using config_detail::quote;
using config_detail::Reader;
using config_detail::resolve;
using config_detail::Scope;
using config_detail::scope_sites;
using config_detail::ServerKey;
using config_detail::site_keys;
using config_detail::SiteKey;
using config_detail::SiteState;
using config_detail::Table;
using config_detail::unknown_key_message;
using config_detail::valid_site_name;

// Walks the TOML tree, fills a Config and collects diagnostics.
class Loader {
 public:
  Loader(std::string file_label, fs::path config_dir)
      : reader_(std::move(file_label), std::move(config_dir)) {}

  LoadResult run(const toml::table& root, fs::path absolute_file);

 private:
  void unknown_key(const Field& f, std::string_view key, Table where);
  void load_server(const Field& f, ServerConfig& server);
  void load_sites(const Field& f, std::vector<SiteConfig>& sites);
  void load_site(const toml::table& table, size_t index, std::vector<SiteConfig>& sites);
  void check_unique(SiteState& site);
  void check_tls(SiteState& site, const toml::table& table);
  void check_health(const toml::table& root, const Config& config);

  Reader reader_;
  std::map<std::string, uint32_t> site_names_;  // name → line of its `name` key
  // (host, port, path) → the site that answers it
  std::map<std::tuple<std::string, uint16_t, std::string>, std::string> routes_;
  // port → its scheme and the first site that bound it
  std::map<uint16_t, std::pair<std::string, std::string>> port_schemes_;
  // (host, port) of an https binding → the first site's display name and TLS settings
  std::map<std::pair<std::string, uint16_t>, std::pair<std::string, TlsSettings>> tls_hosts_;
};

void Loader::unknown_key(const Field& f, std::string_view key, Table where) {
  reader_.error(f, unknown_key_message(key, where));
}

void Loader::load_server(const Field& f, ServerConfig& server) {
  const auto* table = f.node.as_table();
  if (table == nullptr) {
    bool aot = f.node.is_array_of_tables();
    reader_.error(f, aot ? "expected a table; write [server], not [[server]]"
                         : fmt::format("expected a table, got {}", describe(f.node)));
    return;
  }
  for (auto&& [key, node] : *table) {
    Field item{node, fmt::format("server.{}", key.str()), line_of(node.source(), f.line)};
    const ServerKey* spec = find_server_key(key.str());
    if (spec == nullptr) {
      unknown_key({node, item.key, line_of(key.source(), item.line)}, key.str(), Table::kServer);
    } else {
      spec->set(reader_, server, item);
    }
  }
}

void Loader::load_sites(const Field& f, std::vector<SiteConfig>& sites) {
  if (f.node.is_table()) {
    reader_.error(f, "expected an array of tables; write [[site]], not [site]");
    return;
  }
  const auto* array = f.node.as_array();
  if (array == nullptr) {
    reader_.error(f, fmt::format("expected an array of [[site]] tables, got {}", describe(f.node)));
    return;
  }
  if (array->empty()) {
    reader_.error(f, "no sites are configured; add a [[site]] table");
    return;
  }
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& node = *array->get(i);
    if (const auto* table = node.as_table()) {
      load_site(*table, i, sites);
    } else {
      reader_.error(line_of(node.source(), f.line), fmt::format("site[{}]", i),
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

  // Pass 1: keys for every site (including hosting_model and bindings); pass 2: the keys of one
  // hosting model and those of sites with an https binding.
  for (int pass = 1; pass <= 2; ++pass) {
    for (auto&& [key, node] : table) {
      Field item{node, fmt::format("{}.{}", s.label, key.str()), line_of(node.source(), s.line)};
      const SiteKey* spec = find_site_key(key.str());
      if (spec == nullptr) {
        if (pass == 1) {
          unknown_key({node, item.key, line_of(key.source(), item.line)}, key.str(), Table::kSite);
        }
      } else if ((spec->scope == Scope::kBoth) == (pass == 1)) {
        if (pass == 1 || in_scope(spec->scope, s.config)) {
          spec->set(reader_, s, item);
        } else if (s.model_known) {
          reader_.warn(item, fmt::format("applies only to {}; ignored", scope_sites(spec->scope)));
        }
      }
    }
    if (!s.model_known) break;  // without a valid model, model-specific keys mean nothing
  }

  for (const SiteKey& spec : site_keys()) {
    if (!spec.required || table.contains(spec.name)) continue;
    std::string key = fmt::format("{}.{}", s.label, spec.name);
    if (spec.scope == Scope::kBoth) {
      reader_.error(s.line, key, "required key is missing");
    } else if (s.model_known && in_scope(spec.scope, s.config)) {
      reader_.error(s.line, key,
                    fmt::format("required for {} but missing", scope_sites(spec.scope)));
    }
  }
  check_tls(s, table);

  const fs::path& dir = s.config.physical_path;
  if (!dir.empty()) {
    for (fs::path* p : {&s.config.handler, &s.config.process_path, &s.config.stdout_log_file,
                        &s.config.shadow_copy_directory}) {
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
      reader_.error(s.name_line, s.label + ".name",
                    fmt::format("site name {} is already used by the site at line {}",
                                quote(s.config.name), it->second));
    }
  }
  // One listener per port: it speaks either plain HTTP or TLS.
  for (size_t i = 0; i < s.config.bindings.size(); ++i) {
    const Binding& b = s.config.bindings[i];
    auto [it, added] = port_schemes_.emplace(b.port, std::pair(b.scheme, s.display));
    if (!added && it->second.first != b.scheme) {
      reader_.error(s.binding_lines[i], fmt::format("{}.bindings[{}]", s.label, i),
                    fmt::format("port {} already serves {} (site {}); a port serves either http "
                                "or https, not both",
                                b.port, it->second.first, it->second.second));
    }
  }
  // The certificate is chosen by host name before the request (and its path) is read.
  if (s.config.has_https()) {
    TlsSettings mine = tls_settings(s.config);
    for (size_t i = 0; i < s.config.bindings.size(); ++i) {
      const Binding& b = s.config.bindings[i];
      if (b.scheme != "https") continue;
      auto [it, added] = tls_hosts_.emplace(std::pair(b.host, b.port), std::pair(s.display, mine));
      TlsSettings theirs = it->second.second;
      theirs.site = mine.site;
      if (!added && it->second.first != s.display && theirs != mine) {
        reader_.warn(s.binding_lines[i], fmt::format("{}.bindings[{}]", s.label, i),
                     fmt::format("site {} already answers {} with other TLS settings; TLS "
                                 "connections to that host use the settings of {}",
                                 it->second.first, binding_url(b, ""), it->second.first));
      }
    }
  }
  if (!s.path_ok) return;
  for (size_t i = 0; i < s.config.bindings.size(); ++i) {
    const Binding& b = s.config.bindings[i];
    auto [it, added] = routes_.emplace(std::tuple(b.host, b.port, s.config.path), s.display);
    if (!added) {
      reader_.error(s.binding_lines[i], fmt::format("{}.bindings[{}]", s.label, i),
                    fmt::format("sites {} and {} both answer {}", it->second, s.display,
                                binding_url(b, s.config.path)));
    }
  }
}

// The TLS keys together: the client CA file, redirect_to_https, and the files themselves (read
// and checked with the TLS code, so --check catches a bad key). Runs after the required keys.
void Loader::check_tls(SiteState& s, const toml::table& table) {
  SiteConfig& c = s.config;
  if (s.redirect_line != 0 && c.redirect_to_https && !c.has_https()) {
    reader_.error(s.redirect_line, s.label + ".redirect_to_https",
                  "requires an https binding in this site's bindings");
  }
  if (!c.has_https()) return;
  if (c.client_certificate == ClientCertificate::kOff) {
    if (s.client_ca_line != 0) {
      reader_.warn(s.client_ca_line, s.label + ".client_ca_file",
                   "client_certificate is \"off\"; ignored");
    }
    c.client_ca_file.clear();
  } else if (s.client_ca_line == 0) {
    if (!table.contains("client_ca_file")) {
      reader_.error(s.line, s.label + ".client_ca_file",
                    fmt::format("required when client_certificate is \"{}\" but missing",
                                to_string(c.client_certificate)));
    }
    return;
  }
  if (s.certificate_line == 0 || s.private_key_line == 0) return;

  TlsContext::Result made = TlsContext::create(tls_settings(c));
  if (!made.context) {
    uint32_t line = s.certificate_line;
    std::string key = "certificate";
    if (made.file == TlsFile::kPrivateKey) {
      line = s.private_key_line;
      key = "private_key";
    } else if (made.file == TlsFile::kClientCa) {
      line = s.client_ca_line;
      key = "client_ca_file";
    } else if (made.file == TlsFile::kOcspResponse) {
      line = s.ocsp_response_line;
      key = "ocsp_response";
    }
    reader_.error(line, fmt::format("{}.{}", s.label, key), made.error);
    return;
  }
  // A named https binding the certificate does not cover would fail every client's check.
  for (size_t i = 0; i < c.bindings.size(); ++i) {
    const Binding& b = c.bindings[i];
    if (b.scheme != "https" || b.host_is_ip || b.host == "*" || made.context->covers(b.host)) {
      continue;
    }
    const auto& names = made.context->names();
    std::string listed;
    for (size_t n = 0; n < names.size() && n < 3; ++n) {
      listed += fmt::format("{}{}", n == 0 ? "" : ", ", quote(names[n]));
    }
    if (names.size() > 3) listed += ", ...";
    reader_.warn(s.binding_lines[i], fmt::format("{}.bindings[{}]", s.label, i),
                 fmt::format("certificate {} is not valid for {} (it names {})",
                             quote(c.certificate.string()), quote(b.host),
                             listed.empty() ? "no host" : listed));
  }
}

// `[server] health` on an address: the port is the health listener's alone (it answers nothing
// but the health document, so it cannot share a port with sites or the admin API).
void Loader::check_health(const toml::table& root, const Config& config) {
  const HealthEndpoint& health = config.server.health;
  if (health.kind != HealthEndpoint::Kind::kAddress) return;
  const toml::node* node = root["server"]["health"].node();
  uint32_t line = node ? line_of(node->source(), 1) : 1;
  std::string clash;
  for (const SiteConfig& site : config.sites)
    for (const Binding& b : site.bindings)
      if (clash.empty() && b.port == health.port)
        clash = fmt::format("site {}'s binding {}", quote(site.name), binding_url(b, ""));
  const AdminEndpoint& admin = config.server.admin;
  if (clash.empty() && admin.kind == AdminEndpoint::Kind::kTcp && admin.port == health.port)
    clash = "the admin API";
  if (!clash.empty())
    reader_.error(line, "server.health",
                  fmt::format("port {} is also used by {}; the health listener needs a port of "
                              "its own",
                              health.port, clash));
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
    reader_.error(1, "site", "no sites are configured; add a [[site]] table");
  } else {
    load_sites({*sites, "site", sites_line}, config.sites);
  }
  check_health(root, config);

  std::vector<std::string> errors = reader_.take_errors();
  if (!errors.empty()) return {std::nullopt, std::move(errors.front())};
  config.warnings = reader_.take_warnings();
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
