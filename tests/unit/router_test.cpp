// The router's questions about a connection before any request: which plain-HTTP addresses accept
// HTTP/2 with prior knowledge (h2c), checked against the routes Router::match would consider.

#include "shared/frontend/worker/router.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <deque>
#include <string>

namespace sitehost {
namespace {

// Owns the site configs the routes point at.
class RouterTest : public ::testing::Test {
 protected:
  // A site with `h2c` answering `bindings` at "/".
  void site(std::string name, std::vector<Binding> bindings, bool h2c, std::string path = "/") {
    SiteConfig& c = configs_.emplace_back();
    c.name = std::move(name);
    c.bindings = std::move(bindings);
    c.h2c = h2c;
    c.path = path;
    for (const Binding& b : c.bindings) router_.add(Route{b, path, nullptr, &c, nullptr});
  }

  static sockaddr_in v4(const char* ip, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
  }
  static sockaddr_in6 v6(const char* ip, uint16_t port) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
  }
  bool h2c(uint16_t port, const sockaddr_in& local) const {
    return router_.h2c_allowed(port, reinterpret_cast<const sockaddr*>(&local));
  }
  bool h2c(uint16_t port, const sockaddr_in6& local) const {
    return router_.h2c_allowed(port, reinterpret_cast<const sockaddr*>(&local));
  }

  std::deque<SiteConfig> configs_;  // stable addresses
  Router router_;
};

TEST_F(RouterTest, H2cIsOffByDefault) {
  site("a", {{"http", "*", 8080, false}}, false);
  EXPECT_FALSE(h2c(8080, v4("127.0.0.1", 8080)));
  EXPECT_FALSE(router_.h2c_allowed(8080, nullptr));
}

TEST_F(RouterTest, AnySiteOnThePortWithH2cAllowsIt) {
  site("plain", {{"http", "*", 8080, false}}, false);
  site("named", {{"http", "h2.test", 8080, false}}, true);  // any Host could name it
  site("other-port", {{"http", "*", 9090, false}}, false);
  EXPECT_TRUE(h2c(8080, v4("127.0.0.1", 8080)));
  EXPECT_TRUE(h2c(8080, v6("::1", 8080)));
  EXPECT_TRUE(router_.h2c_allowed(8080, nullptr));
  EXPECT_FALSE(h2c(9090, v4("127.0.0.1", 9090)));
  EXPECT_FALSE(h2c(7070, v4("127.0.0.1", 7070)));  // nobody's port
}

TEST_F(RouterTest, AnH2cSiteUnderAPathCounts) {
  site("root", {{"http", "*", 8080, false}}, false);
  site("api", {{"http", "*", 8080, false}}, true, "/api");
  EXPECT_TRUE(h2c(8080, v4("10.0.0.1", 8080)));
}

TEST_F(RouterTest, IpLiteralBindingsAllowH2cOnTheirOwnAddressOnly) {
  site("lo", {{"http", "127.0.0.1", 8080, true}}, true);
  site("lo6", {{"http", "::1", 8081, true}}, true);
  site("rest", {{"http", "*", 8080, false}, {"http", "*", 8081, false}}, false);
  EXPECT_TRUE(h2c(8080, v4("127.0.0.1", 8080)));
  EXPECT_FALSE(h2c(8080, v4("127.0.0.2", 8080)));
  EXPECT_TRUE(h2c(8080, v6("::ffff:127.0.0.1", 8080)));  // v4-mapped: the same address
  EXPECT_TRUE(h2c(8081, v6("::1", 8081)));
  EXPECT_FALSE(h2c(8081, v4("127.0.0.1", 8081)));
  // An unknown local address: like match(), every binding on the port counts.
  EXPECT_TRUE(router_.h2c_allowed(8080, nullptr));
}

TEST_F(RouterTest, HttpsBindingsDoNotAllowH2c) {
  // h2c is about plain-HTTP bindings; on TLS ports ALPN decides.
  site("tls", {{"https", "*", 8443, false}}, true);
  EXPECT_FALSE(h2c(8443, v4("127.0.0.1", 8443)));
}

TEST_F(RouterTest, MatchStillRoutesByHostThenPath) {
  site("root", {{"http", "*", 8080, false}}, false);
  site("api", {{"http", "*", 8080, false}}, true, "/api");
  site("named", {{"http", "a.test", 8080, false}}, false);
  sockaddr_in local = v4("127.0.0.1", 8080);
  auto* addr = reinterpret_cast<const sockaddr*>(&local);
  EXPECT_EQ(router_.match(8080, addr, "x.test", "/api/v1").route->config->name, "api");
  EXPECT_EQ(router_.match(8080, addr, "x.test", "/apix").route->config->name, "root");
  EXPECT_EQ(router_.match(8080, addr, "a.test:8080", "/api").route->config->name, "named");
  EXPECT_EQ(router_.match(9090, addr, "a.test", "/").route, nullptr);
}

}  // namespace
}  // namespace sitehost
