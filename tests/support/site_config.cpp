#include "tests/support/site_config.h"

#include <algorithm>
#include <cstdlib>

namespace sitehost::test {

std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

ConfigBuilder& ConfigBuilder::server(const std::string& key, const std::string& value) {
  server_.emplace_back(key, value);
  return *this;
}

ConfigBuilder& ConfigBuilder::site(SiteSpec spec) {
  if (spec.bindings.empty()) spec.bindings.push_back("http://127.0.0.1:" + std::to_string(port_));
  if (spec.physical_path.empty()) spec.physical_path = dir_.path().string();
  sites_.push_back(std::move(spec));
  return *this;
}

ConfigBuilder& ConfigBuilder::inproc_app(const std::string& name, const std::string& app,
                                         const std::string& path,
                                         std::map<std::string, std::string> keys) {
  SiteSpec spec;
  spec.name = name;
  spec.path = path;
  spec.keys = std::move(keys);
  spec.keys.emplace("handler", toml_string((apps_dir() / (app + ".so")).string()));
  return site(std::move(spec));
}

std::string ConfigBuilder::str() const {
  std::string out = "[server]\n";
  for (const auto& [k, v] : server_) out += k + " = " + v + "\n";
  // SITEHOST_TEST_EVENT_LOOPS=N: event_loops = N unless the test set it (docs/testing.md).
  if (const char* loops = std::getenv("SITEHOST_TEST_EVENT_LOOPS");
      loops && *loops && std::none_of(server_.begin(), server_.end(), [](const auto& kv) {
        return kv.first == "event_loops";
      }))
    out += std::string("event_loops = ") + loops + "\n";
  for (const auto& s : sites_) {
    out += "\n[[site]]\nname = " + toml_string(s.name) + "\nbindings = [";
    for (size_t i = 0; i < s.bindings.size(); ++i)
      out += (i ? ", " : "") + toml_string(s.bindings[i]);
    out += "]\npath = " + toml_string(s.path) + "\nphysical_path = " +
           toml_string(s.physical_path) + "\nhosting_model = " + toml_string(s.hosting_model) +
           "\n";
    for (const auto& [k, v] : s.keys) out += k + " = " + v + "\n";
  }
  return out;
}

}  // namespace sitehost::test
