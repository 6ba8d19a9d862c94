// Routing through the real binary: Host (exact, then *), then the longest path prefix on a
// segment boundary; 404 without leaking configuration.
#include "tests/frontend/frontend_fixture.h"

namespace sitehost::test {
namespace {

class Routing : public ::testing::Test {
 protected:
  void start(ConfigBuilder& b) {
    server = std::make_unique<Sitehost>(dir, b.str());
    ASSERT_TRUE(server->wait_listening(port)) << server->log();
  }
  void TearDown() override {
    if (server) {
      EXPECT_EQ(server->stop(), 0) << server->log();
    }
  }
  std::string get_body(const std::string& path, const std::string& host = "localhost") {
    auto r = http_request(port, "GET", path, "", host);
    return r ? std::to_string(r->status) + " " + r->body : "no response";
  }

  TempDir dir;
  uint16_t port = free_port();
  std::unique_ptr<Sitehost> server;
};

SiteSpec info_site(const std::string& name, const std::string& binding, const std::string& path) {
  SiteSpec s;
  s.name = name;
  s.bindings = {binding};
  s.path = path;
  s.keys["handler"] = toml_string((apps_dir() / "info.so").string());
  s.keys["environment"] = "{ SITE = " + toml_string(name) + " }";
  return s;
}

TEST_F(Routing, LongestPathPrefixOnSegmentBoundary) {
  ConfigBuilder b(dir, port);
  std::string bind = "http://127.0.0.1:" + std::to_string(port);
  b.site(info_site("root", bind, "/")).site(info_site("app", bind, "/app"));
  b.site(info_site("deep", bind, "/app/admin"));
  start(b);
  auto r = http_request(port, "GET", "/app/x?q=1");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("\"path_base\":\"/app\""), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("\"path\":\"/x\""), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("\"query\":\"q=1\""), std::string::npos) << r->body;
  r = http_request(port, "GET", "/apple");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("\"path_base\":\"\""), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("\"path\":\"/apple\""), std::string::npos) << r->body;
  r = http_request(port, "GET", "/app/admin/users");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("\"path_base\":\"/app/admin\""), std::string::npos) << r->body;
  r = http_request(port, "GET", "/app");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("\"path\":\"/\""), std::string::npos) << r->body;
}

TEST_F(Routing, HostExactThenWildcardAnd404) {
  ConfigBuilder b(dir, port);
  std::string p = std::to_string(port);
  b.site(info_site("a", "http://a.test:" + p, "/"));
  b.site(info_site("b", "http://b.test:" + p, "/"));
  b.site(info_site("only-api", "http://*:" + p, "/api"));
  start(b);
  EXPECT_NE(get_body("/", "a.test").find("\"SITE\":\"a\""), std::string::npos);
  EXPECT_NE(get_body("/", "B.TEST:" + p).find("\"SITE\":\"b\""), std::string::npos);
  EXPECT_NE(get_body("/api/x", "other.test").find("\"SITE\":\"only-api\""), std::string::npos);
  std::string missing = get_body("/", "other.test");
  EXPECT_EQ(missing.substr(0, 3), "404") << missing;
  EXPECT_EQ(missing.find("only-api"), std::string::npos) << "404 page leaks config: " << missing;
  EXPECT_EQ(missing.find(dir.path().string()), std::string::npos);
}

}  // namespace
}  // namespace sitehost::test
