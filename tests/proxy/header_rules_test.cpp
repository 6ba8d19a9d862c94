// Header rules and request re-serialization, as pure functions.
#include "proxy/header_rules.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>
#include <vector>

namespace sitehost::proxy {
namespace {

sockaddr_storage v4(const char* ip, uint16_t port) {
  sockaddr_storage s{};
  auto* a = reinterpret_cast<sockaddr_in*>(&s);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  inet_pton(AF_INET, ip, &a->sin_addr);
  return s;
}

sockaddr_storage v6(const char* ip, uint16_t port) {
  sockaddr_storage s{};
  auto* a = reinterpret_cast<sockaddr_in6*>(&s);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(port);
  inet_pton(AF_INET6, ip, &a->sin6_addr);
  return s;
}

struct Req {
  std::vector<HeaderView> headers;
  sockaddr_storage remote = v4("10.1.2.3", 4567);
  sockaddr_storage local = v4("127.0.0.1", 8080);
  RequestInfo info;

  Req(std::string_view method, std::string_view target, std::vector<HeaderView> h)
      : headers(std::move(h)) {
    info.method = method;
    info.target = target;
    info.path = target.substr(0, target.find('?'));
    info.headers = headers;
    info.remote = &remote;
    info.local = &local;
    for (const auto& x : headers)
      if (iequals(x.name, "host")) info.host = x.value;
  }
  std::string head(bool tunnel = false) {
    std::string out;
    build_request_head(info, "0123456789abcdef0123456789abcdef", tunnel, out);
    return out;
  }
};

TEST(HeaderRules, HopByHopNames) {
  for (const char* n : {"Connection", "keep-alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
                        "Proxy-Connection", "proxy-authorization"})
    EXPECT_TRUE(is_hop_by_hop(n)) << n;
  for (const char* n : {"Host", "Content-Length", "Te-x", "Accept", "Upgrade-Insecure-Requests"})
    EXPECT_FALSE(is_hop_by_hop(n)) << n;
}

TEST(HeaderRules, TokenList) {
  EXPECT_TRUE(token_list_contains("keep-alive, X-Foo", "x-foo"));
  EXPECT_TRUE(token_list_contains(" Upgrade ", "upgrade"));
  EXPECT_FALSE(token_list_contains("X-Foobar", "x-foo"));
  EXPECT_FALSE(token_list_contains("", "x"));
}

TEST(HeaderRules, Endpoints) {
  char buf[kEndpointBufferSize];
  auto a = v4("192.168.0.1", 80);
  EXPECT_EQ(format_endpoint(&a, buf), "192.168.0.1:80");
  auto b = v6("::1", 443);
  EXPECT_EQ(format_endpoint(&b, buf), "[::1]:443");
  EXPECT_EQ(format_endpoint(nullptr, buf), "");
}

TEST(HeaderRules, RequestHeadBasics) {
  Req r("GET", "/app/x?y=1", {{"Host", "example.com"}, {"Accept", "*/*"}});
  EXPECT_EQ(r.head(),
            "GET /app/x?y=1 HTTP/1.1\r\n"
            "Host: example.com\r\n"
            "Accept: */*\r\n"
            "X-Forwarded-For: 10.1.2.3:4567\r\n"
            "X-Forwarded-Proto: http\r\n"
            "MS-ASPNETCORE-TOKEN: 0123456789abcdef0123456789abcdef\r\n\r\n");
}

TEST(HeaderRules, HopByHopAndListedRemoved) {
  Req r("POST", "/",
        {{"Host", "h"},
         {"Connection", "keep-alive, X-Secret"},
         {"Keep-Alive", "timeout=5"},
         {"TE", "trailers"},
         {"Trailer", "X-T"},
         {"Transfer-Encoding", "chunked"},
         {"Upgrade", "websocket"},
         {"Proxy-Authorization", "basic x"},
         {"X-Secret", "s"},
         {"Expect", "100-continue"},
         {"Content-Length", "5"},
         {"X-Kept", "k"}});
  r.info.chunked = true;
  r.info.has_body = true;
  std::string head = r.head();
  for (const char* gone : {"Connection:", "Keep-Alive", "TE:", "Trailer", "Upgrade",
                           "Proxy-Authorization", "X-Secret", "Expect", "Content-Length"})
    EXPECT_EQ(head.find(gone), std::string::npos) << gone << "\n" << head;
  EXPECT_NE(head.find("Transfer-Encoding: chunked\r\n"), std::string::npos);  // re-framed
  EXPECT_NE(head.find("X-Kept: k\r\n"), std::string::npos);
  EXPECT_NE(head.find("Host: h\r\n"), std::string::npos);
}

TEST(HeaderRules, ContentLengthReframed) {
  Req r("PUT", "/", {{"Host", "h"}, {"Content-Length", "12"}});
  r.info.content_length = 12;
  r.info.has_body = true;
  EXPECT_NE(r.head().find("Content-Length: 12\r\n"), std::string::npos);
}

TEST(HeaderRules, ForwardedHeadersAppended) {
  Req r("GET", "/",
        {{"Host", "h"},
         {"X-Forwarded-For", "1.1.1.1:1"},
         {"x-forwarded-for", "2.2.2.2:2"},
         {"X-Forwarded-Proto", "https"}});
  r.remote = v6("2001:db8::5", 999);
  r.info.tls = true;
  std::string head = r.head();
  EXPECT_NE(head.find("X-Forwarded-For: 1.1.1.1:1, 2.2.2.2:2, [2001:db8::5]:999\r\n"),
            std::string::npos)
      << head;
  EXPECT_NE(head.find("X-Forwarded-Proto: https, https\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("x-forwarded-for"), std::string::npos);
}

TEST(HeaderRules, IncomingAspNetCoreHeadersStripped) {
  Req r("GET", "/",
        {{"Host", "h"},
         {"MS-ASPNETCORE-TOKEN", "forged"},
         {"ms-aspnetcore-clientcert", "x"},
         {"MS-ASPNETCORE-EVENT", "shutdown"}});
  std::string head = r.head();
  EXPECT_EQ(head.find("forged"), std::string::npos);
  EXPECT_EQ(head.find("clientcert"), std::string::npos);
  EXPECT_EQ(head.find("EVENT"), std::string::npos);
  EXPECT_NE(head.find("MS-ASPNETCORE-TOKEN: 0123456789abcdef0123456789abcdef\r\n"),
            std::string::npos);
}

TEST(HeaderRules, Base64) {
  auto b64 = [](std::string_view in) {
    std::string out = "x";  // appends
    append_base64(out, in);
    return out.substr(1);
  };
  EXPECT_EQ(b64(""), "");
  EXPECT_EQ(b64("f"), "Zg==");
  EXPECT_EQ(b64("fo"), "Zm8=");
  EXPECT_EQ(b64("foo"), "Zm9v");
  EXPECT_EQ(b64("foob"), "Zm9vYg==");
  EXPECT_EQ(b64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(b64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(b64(std::string("\x00\xff\xfe\x3e\x3f", 5)), "AP/+Pj8=");
}

TEST(HeaderRules, ClientCertificateForwarded) {
  Req r("GET", "/", {{"Host", "h"}, {"MS-ASPNETCORE-CLIENTCERT", "forged"}});
  r.info.tls = true;
  std::string der("\x30\x82\x01\x0a\x00\xff\xfe", 7);
  r.info.client_certificate = der;
  std::string head = r.head();
  EXPECT_EQ(head.find("forged"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nMS-ASPNETCORE-CLIENTCERT: MIIBCgD//g==\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("CLIENTCERT"), head.rfind("CLIENTCERT")) << head;  // exactly once
  EXPECT_NE(head.find("X-Forwarded-Proto: https\r\n"), std::string::npos) << head;

  r.info.client_certificate = {};  // none: no header at all
  EXPECT_EQ(r.head().find("CLIENTCERT"), std::string::npos);
}

TEST(HeaderRules, TunnelKeepsUpgrade) {
  Req r("GET", "/ws",
        {{"Host", "h"},
         {"Connection", "Upgrade"},
         {"Upgrade", "websocket"},
         {"Sec-WebSocket-Key", "k"}});
  r.info.upgrade = true;
  std::string head = r.head(true);
  EXPECT_NE(head.find("Upgrade: websocket\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Connection: Upgrade\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Sec-WebSocket-Key: k\r\n"), std::string::npos) << head;
  EXPECT_EQ(r.head(false).find("Upgrade:"), std::string::npos);
}

TEST(HeaderRules, AbsoluteFormBecomesOriginForm) {
  Req r("GET", "http://example.com/a/b?c", {{"Host", "example.com"}});
  r.info.path_base = "/a";
  r.info.path = "/b";
  r.info.query = "c";
  EXPECT_EQ(r.head().substr(0, 21), "GET /a/b?c HTTP/1.1\r\n");
}

TEST(HeaderRules, MissingHostAdded) {
  Req r("GET", "/", {});
  EXPECT_NE(r.head().find("Host: 127.0.0.1:8080\r\n"), std::string::npos);
}

TEST(HeaderRules, ResponseFilter) {
  std::vector<HeaderView> h{{"Connection", "close, X-Hop"},   {"X-Hop", "1"},
                            {"Transfer-Encoding", "chunked"}, {"Keep-Alive", "x"},
                            {"Upgrade", "websocket"},         {"Content-Type", "text/plain"},
                            {"Proxy-Authenticate", "x"},      {"Set-Cookie", "a=b"}};
  std::vector<std::string> passed;
  for (const auto& x : h)
    if (pass_response_header(h, x, false)) passed.emplace_back(x.name);
  EXPECT_EQ(passed, (std::vector<std::string>{"Content-Type", "Set-Cookie"}));
  EXPECT_TRUE(pass_response_header(h, h[4], true));  // Upgrade on a 101 tunnel
}

}  // namespace
}  // namespace sitehost::proxy
