// Live reload of the whole config through the real binary (SIGHUP): sites and listeners added
// and removed while keep-alive connections stay open, removed listeners drain, unchanged sites
// keep their app and their app_offline state, changed ones are replaced after draining, and a
// reload that fails changes nothing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "tests/frontend/frontend_fixture.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;

class Reload : public FrontendTest {
 protected:
  // The fixture's four sites; `extra` adds more.
  ConfigBuilder base(const std::map<std::string, std::string>& slow_keys = {}) {
    ConfigBuilder b(dir, port);
    b.server("detailed_errors", "true");
    b.server("log_level", "\"debug\"");
    b.server("admin", toml_string((dir / "admin.sock").string()));
    b.inproc_app("hello", "hello");
    b.inproc_app("info", "info", "/info");
    b.inproc_app("echo", "echo", "/echo");
    b.inproc_app("slow", "slow", "/slow", slow_keys);
    return b;
  }
  void begin() {
    start({{"log_level", "\"debug\""}, {"admin", toml_string((dir / "admin.sock").string())}});
  }
  static SiteSpec app_site(const std::string& name, const std::string& app,
                           std::vector<std::string> bindings, const std::string& path) {
    SiteSpec s;
    s.name = name;
    s.bindings = std::move(bindings);
    s.path = path;
    s.keys["handler"] = toml_string((apps_dir() / (app + ".so")).string());
    return s;
  }
  std::string on(uint16_t p) const { return "http://127.0.0.1:" + std::to_string(p); }

  size_t count_in_log(const std::string& text) const {
    std::string log = server->log();
    size_t n = 0;
    for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
    return n;
  }
  // Rewrites the config, sends SIGHUP and waits for the outcome.
  void reload(const std::string& text, bool expect_ok = true) {
    size_t ok = count_in_log("config reloaded");
    size_t failed = count_in_log("reload failed");
    server->rewrite_config(text);
    server->process().signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] {
      return count_in_log("config reloaded") > ok || count_in_log("reload failed") > failed;
    })) << server->log();
    ASSERT_EQ(count_in_log("config reloaded") > ok, expect_ok) << server->log();
  }
  static std::optional<Response> get(Client& c, const std::string& path) {
    if (!c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")) return std::nullopt;
    return c.read_response();
  }
};

TEST_F(Reload, SitesAndListenersComeAndGoWhileKeepAliveConnectionsStayOpen) {
  begin();
  Client keep(port);
  ASSERT_EQ(get(keep, "/")->status, 200);

  // Add a site on the existing listener and on a new one.
  uint16_t port_b = free_port();
  ConfigBuilder added = base();
  added.site(app_site("extra", "info", {on(port), on(port_b)}, "/extra"));
  reload(added.str());
  auto r = get(keep, "/extra/x");
  ASSERT_TRUE(r) << "the reload dropped a keep-alive connection";
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"path\":\"/x\""), std::string::npos) << r->body;
  Client on_b(port_b);
  ASSERT_TRUE(on_b.connected()) << server->log();
  r = get(on_b, "/extra/y");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"path\":\"/y\""), std::string::npos) << r->body;

  // Remove them again: the listener closes, its idle connection is closed, ours stays.
  reload(base().str());
  EXPECT_TRUE(on_b.closed_within(3s)) << "connection on a removed listener left open";
  // Each loop closes its socket once it ran the new table (after the reload's answer, on a busy
  // machine a moment later): a new connection is refused soon after.
  EXPECT_TRUE(wait_until([&] { return !Client(port_b, 300ms).connected(); }, 5s))
      << "a removed listener still accepts";
  EXPECT_NE(server->log().find("closing listener 127.0.0.1:" + std::to_string(port_b)),
            std::string::npos);
  r = get(keep, "/extra/x");
  ASSERT_TRUE(r) << "the reload dropped a keep-alive connection";
  EXPECT_EQ(r->body, "Hello, World!");  // hello at / answers now
  EXPECT_EQ(r->header("Connection"), std::nullopt);
}

TEST_F(Reload, ARemovedListenerLetsItsRequestInFlightFinish) {
  uint16_t port_b = free_port();
  port = free_port();
  ConfigBuilder b = base();
  b.site(app_site("slow_b", "slow", {on(port_b)}, "/"));
  config = b.str();
  server = std::make_unique<Sitehost>(dir, config);
  ASSERT_TRUE(server->wait_listening(port_b)) << server->log();

  Client c(port_b, 10s);
  ASSERT_TRUE(c.send("GET /?ms=1000 HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(wait_until([&] {
    return server->log().find("dispatch GET /?ms=1000 to site slow_b") != std::string::npos;
  })) << server->log();
  reload(base().str());
  auto r = c.read_response();
  ASSERT_TRUE(r) << server->log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "slept 1000 ms\n");
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(c.closed_within(3s));
  ASSERT_TRUE(wait_until([&] { return count_in_log("site slow_b: stopped") == 1; }))
      << server->log();
}

TEST_F(Reload, UnchangedSitesKeepTheirAppChangedOnesAreReplacedAfterDraining) {
  begin();
  ASSERT_EQ(http_request(port, "GET", "/")->status, 200);
  ASSERT_EQ(http_request(port, "GET", "/slow?ms=1")->status, 200);
  Client c(port, 10s);
  ASSERT_TRUE(c.send("GET /slow?ms=1000 HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(wait_until([&] {
    return server->log().find("dispatch GET /slow?ms=1000") != std::string::npos;
  })) << server->log();
  reload(base({{"max_allowed_content_length", "1000"}}).str());
  auto r = c.read_response();
  ASSERT_TRUE(r) << server->log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "slept 1000 ms\n");
  ASSERT_TRUE(wait_until([&] { return count_in_log("site slow: stopped") == 1; })) << server->log();
  ASSERT_EQ(http_request(port, "GET", "/slow?ms=1")->status, 200);
  EXPECT_EQ(count_in_log("site slow: app started"), 2u) << server->log();
  EXPECT_EQ(count_in_log("site hello: app started"), 1u) << server->log();
  EXPECT_EQ(count_in_log("site hello: stopped"), 0u) << server->log();
  EXPECT_EQ(http_request(port, "GET", "/")->status, 200);
  EXPECT_EQ(count_in_log("site hello: app started"), 1u) << server->log();
}

TEST_F(Reload, AppOfflineSurvivesAReloadOfAnUnchangedSite) {
  begin();
  ASSERT_EQ(http_request(port, "GET", "/")->status, 200);
  dir.write("app_offline.htm", "<p>deploying</p>");
  ASSERT_TRUE(wait_until([&] { return http_request(port, "GET", "/")->status == 503; }))
      << server->log();

  fs::create_directories(dir / "other");
  ConfigBuilder b = base();
  SiteSpec other = app_site("other", "info", {}, "/other");
  other.physical_path = (dir / "other").string();
  b.site(other);
  reload(b.str());
  auto r = http_request(port, "GET", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "<p>deploying</p>");
  EXPECT_EQ(http_request(port, "GET", "/other/x")->status, 200);  // its folder has no file
  EXPECT_EQ(count_in_log("site hello: app started"), 1u) << server->log();

  fs::remove(dir / "app_offline.htm");
  ASSERT_TRUE(wait_until([&] { return http_request(port, "GET", "/")->status == 200; }))
      << server->log();
  EXPECT_EQ(count_in_log("site hello: app started"), 2u) << server->log();
}

TEST_F(Reload, AFailedReloadChangesNothing) {
  begin();
  Client keep(port);
  ASSERT_EQ(get(keep, "/")->status, 200);
  // A new listener that cannot open: the port is taken.
  int taken = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(taken, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(taken, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(taken, reinterpret_cast<sockaddr*>(&addr), &len);
  uint16_t busy = ntohs(addr.sin_port);
  ConfigBuilder b = base();
  b.site(app_site("extra", "info", {on(port), on(busy)}, "/extra"));
  reload(b.str(), false);
  ::close(taken);
  EXPECT_NE(server->log().find("reload failed"), std::string::npos);
  auto r = get(keep, "/extra/x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "Hello, World!") << "a failed reload routed the new site";
  // An invalid file: the same.
  reload(config + "\n[[site]]\nname = \"broken\"\n", false);
  EXPECT_NE(server->log().find("sitehost.toml:"), std::string::npos);
  r = get(keep, "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "Hello, World!");
  EXPECT_EQ(count_in_log("site hello: app started"), 1u);
}

}  // namespace
}  // namespace sitehost::test
