// The keys a config file may contain: for each, how its value is read into the model, which
// hosting model it applies to and whether it is required; plus the "unknown key" message with
// its suggestions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shared/config/config.h"
#include "shared/config/toml_reader.h"

namespace sitehost::config_detail {

// Which sites a key applies to: all, one hosting model, or sites with an https (http) binding.
enum class Scope { kBoth, kInProcess, kOutOfProcess, kHttps, kHttp };
enum class Table { kTop, kServer, kSite };

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
  // Lines of the TLS keys that were read successfully (0 = absent or rejected).
  uint32_t certificate_line = 0;
  uint32_t private_key_line = 0;
  uint32_t client_ca_line = 0;
  uint32_t ocsp_response_line = 0;
  uint32_t redirect_line = 0;
};

// A setter reads one value (recording any error through the Reader) into the model.
using ServerSetter = void (*)(Reader&, ServerConfig&, const Field&);
using SiteSetter = void (*)(Reader&, SiteState&, const Field&);
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

// The known keys of a table, or nullptr for an unknown name.
const ServerKey* find_server_key(std::string_view name);
const SiteKey* find_site_key(std::string_view name);

// Every [[site]] key, in documentation order.
std::span<const SiteKey> site_keys();

// The sites a scoped key is for, as messages say it: "inprocess sites", "outofprocess sites",
// "sites with an https binding", "sites with an http binding" (not meaningful for kBoth).
const char* scope_sites(Scope scope);

// Whether a key of `scope` applies to the site read so far (its model and bindings).
bool in_scope(Scope scope, const SiteConfig& site);

// "unknown key "KEY"" plus, when there is one, a hint: the key's snake_case spelling, the table
// it belongs in, or a known key of `where` within an edit distance of 2.
std::string unknown_key_message(std::string_view key, Table where);

}  // namespace sitehost::config_detail
