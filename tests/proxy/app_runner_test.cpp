// sitehost-app (the Kestrel role) as an out-of-process child: the app starts before it listens,
// so an app whose init fails is a child that exits with the reason, and the client gets 502.5
// with that reason (detailed_errors), never the child's own 500.30.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/harness.h"
#include "tests/support/site_config.h"

namespace sitehost::test {
namespace {

// An out-of-process site whose child is `sitehost-app APP.so`.
SiteSpec runner_site(const std::string& name, const std::string& app) {
  SiteSpec s;
  s.name = name;
  s.hosting_model = "outofprocess";
  s.keys["process_path"] = toml_string(sitehost_app_binary().string());
  s.keys["arguments"] = "[" + toml_string((apps_dir() / (app + ".so")).string()) + "]";
  return s;
}

TEST(AppRunner, FailedInitIsAProcessFailure) {
  TempDir dir;
  uint16_t port = free_port();
  ConfigBuilder b(dir, port);
  b.server("admin", "\"off\"");
  b.server("detailed_errors", "true");
  SiteSpec s = runner_site("orders", "fails_init");
  s.keys["rapid_fails_per_minute"] = "1";
  b.site(s);
  Sitehost server(dir, b.str());
  ASSERT_TRUE(server.wait_listening(port)) << server.log();
  auto r = http_request(port, "GET", "/");
  ASSERT_TRUE(r) << server.log();
  EXPECT_EQ(r->status, 502) << r->body;
  EXPECT_NE(r->body.find("502.5"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("missing setting ORDERS_DB"), std::string::npos) << r->body;
  EXPECT_EQ(r->body.find("HTTP Error 500.30"), std::string::npos) << r->body;
  EXPECT_EQ(server.stop(), 0) << server.log();
}

TEST(AppRunner, StartedAppServesThroughTheProxy) {
  TempDir dir;
  uint16_t port = free_port();
  ConfigBuilder b(dir, port);
  b.server("admin", "\"off\"");
  b.site(runner_site("hello", "hello"));
  Sitehost server(dir, b.str());
  ASSERT_TRUE(server.wait_listening(port)) << server.log();
  auto r = http_request(port, "GET", "/");
  ASSERT_TRUE(r) << server.log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "Hello, World!");
  EXPECT_EQ(server.stop(), 0) << server.log();
}

}  // namespace
}  // namespace sitehost::test
