// Builds config text for integration tests: a [server] table and [[site]] entries.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/support/harness.h"

namespace sitehost::test {

struct SiteSpec {
  std::string name = "app";
  std::vector<std::string> bindings;  // default: http://127.0.0.1:PORT of the ConfigBuilder
  std::string path = "/";
  std::string physical_path;          // default: the test's temp dir
  std::string hosting_model = "inprocess";
  std::map<std::string, std::string> keys;  // more keys, values as TOML literals
};

class ConfigBuilder {
 public:
  ConfigBuilder(const TempDir& dir, uint16_t port) : dir_(dir), port_(port) {}
  // Adds a `[server]` key (value is a TOML literal, e.g. "\"500ms\"" or "true").
  ConfigBuilder& server(const std::string& key, const std::string& value);
  ConfigBuilder& site(SiteSpec spec);
  // An in-process site running the sample app `app` (tests/apps/<app>.so).
  ConfigBuilder& inproc_app(const std::string& name, const std::string& app,
                            const std::string& path = "/",
                            std::map<std::string, std::string> keys = {});
  std::string str() const;

 private:
  const TempDir& dir_;
  uint16_t port_;
  std::vector<std::pair<std::string, std::string>> server_;
  std::vector<SiteSpec> sites_;
};

std::string toml_string(const std::string& s);

}  // namespace sitehost::test
