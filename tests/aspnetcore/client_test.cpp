// The app sees the real client: its address (IPv4 and IPv6) through X-Forwarded-For, the scheme
// through X-Forwarded-Proto (both applied by the forwarded-headers middleware Kestrel's IIS
// integration installs), and the TLS client certificate through MS-ASPNETCORE-CLIENTCERT.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "tests/aspnetcore/aspnetcore_fixture.h"

namespace sitehost::test {
namespace {

// GET /whoami on a plain connection from `family`'s loopback; the client's own port through
// `client_port`.
std::string whoami_from(int family, uint16_t port, uint16_t* client_port) {
  int fd = ::socket(family, SOCK_STREAM, 0);
  if (fd < 0) return {};
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_loopback;
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
  }
  timeval tv{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0) {
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len);
    *client_port = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&local)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&local)->sin_port);
    std::string req = "GET /whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[65536];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

TEST_F(AspNetCore, RemoteAddressIsTheClientsOverIpv4AndIpv6) {
  ASSERT_NO_FATAL_FAILURE(start({.ipv6 = true}));
  uint16_t client_port = 0;
  std::string v4 = whoami_from(AF_INET, http_port_, &client_port);
  EXPECT_NE(v4.find(" 200 "), std::string::npos) << v4 << server().log();
  EXPECT_EQ(json_value(v4, "remoteIp"), "127.0.0.1") << v4;
  EXPECT_EQ(json_value(v4, "remotePort"), std::to_string(client_port)) << v4;
  EXPECT_EQ(json_value(v4, "scheme"), "http") << v4;

  std::string v6 = whoami_from(AF_INET6, http_port_, &client_port);
  EXPECT_NE(v6.find(" 200 "), std::string::npos) << v6 << server().log();
  EXPECT_EQ(json_value(v6, "remoteIp"), "::1") << v6;
  EXPECT_EQ(json_value(v6, "remotePort"), std::to_string(client_port)) << v6;
}

// A client's own X-Forwarded-For is not believed: the app sees the address sitehost saw.
TEST_F(AspNetCore, ForgedForwardedHeadersDoNotFoolTheApp) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  auto r =
      request("GET", "/whoami", {}, {"X-Forwarded-For: 203.0.113.9", "X-Forwarded-Proto: https"});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << server().log();
  EXPECT_EQ(json_value(r->body, "remoteIp"), "127.0.0.1") << r->body;
  EXPECT_EQ(json_value(r->body, "scheme"), "http") << r->body;
}

TEST_F(AspNetCore, HttpsBindingGivesSchemeHttpsAndTheClientCertificate) {
  ASSERT_NO_FATAL_FAILURE(start({.https = true, .client_certificate = "optional"}));
  auto plain = curl("/whoami", {}, "https");
  ASSERT_EQ(plain.status, 200) << plain.output << server().log();
  EXPECT_EQ(json_value(plain.body, "scheme"), "https") << plain.body;
  EXPECT_EQ(json_value(plain.body, "host"), "localhost:" + std::to_string(https_port_));
  EXPECT_EQ(json_value(plain.body, "clientCertSubject"), "null") << plain.body;

  auto with_cert = curl(
      "/whoami",
      {"--cert", (*certs_ / "client.pem").string(), "--key", (*certs_ / "client.key").string()},
      "https");
  ASSERT_EQ(with_cert.status, 200) << with_cert.output << server().log();
  EXPECT_EQ(json_value(with_cert.body, "clientCertSubject"), "CN=sitehost test client")
      << with_cert.body;
  EXPECT_EQ(json_value(with_cert.body, "scheme"), "https");

  auto http = curl("/whoami");
  ASSERT_EQ(http.status, 200) << http.output;
  EXPECT_EQ(json_value(http.body, "scheme"), "http");
}

}  // namespace
}  // namespace sitehost::test
