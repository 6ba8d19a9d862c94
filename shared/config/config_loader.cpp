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
using config_detail::scope_name;
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

  Reader reader_;
  std::map<std::string, uint32_t> site_names_;  // name → line of its `name` key
  // (host, port, path) → the site that answers it
  std::map<std::tuple<std::string, uint16_t, std::string>, std::string> routes_;
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

  // Pass 1: keys for every model (including hosting_model); pass 2: the model-specific ones.
  for (int pass = 1; pass <= 2; ++pass) {
    for (auto&& [key, node] : table) {
      Field item{node, fmt::format("{}.{}", s.label, key.str()), line_of(node.source(), s.line)};
      const SiteKey* spec = find_site_key(key.str());
      if (spec == nullptr) {
        if (pass == 1) {
          unknown_key({node, item.key, line_of(key.source(), item.line)}, key.str(), Table::kSite);
        }
      } else if ((spec->scope == Scope::kBoth) == (pass == 1)) {
        if (pass == 1 || in_scope(spec->scope, s.config.hosting_model)) {
          spec->set(reader_, s, item);
        } else if (s.model_known) {
          reader_.warn(item,
                       fmt::format("applies only to {} sites; ignored", scope_name(spec->scope)));
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
    } else if (s.model_known && in_scope(spec.scope, s.config.hosting_model)) {
      reader_.error(s.line, key,
                    fmt::format("required for {} sites but missing", scope_name(spec.scope)));
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
      reader_.error(s.name_line, s.label + ".name",
                    fmt::format("site name {} is already used by the site at line {}",
                                quote(s.config.name), it->second));
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
