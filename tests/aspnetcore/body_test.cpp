// Bodies through sitehost to Kestrel: 50 MiB up and down byte-exact with sitehost's memory
// bounded, and max_allowed_content_length as the only body limit (Kestrel's IIS integration
// switches Kestrel's own off): 413 before the app sees the request.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "tests/aspnetcore/aspnetcore_fixture.h"
#include "tests/proxy/proxy_test_util.h"  // status_kb

namespace sitehost::test {
namespace {

constexpr uint64_t kLarge = 50ull << 20;

// The app's download pattern: byte i is 'a' + i % 23.
char pattern_at(uint64_t i) {
  return static_cast<char>('a' + i % 23);
}

std::string hex(const unsigned char* data, unsigned len) {
  std::string out;
  for (unsigned i = 0; i < len; ++i) out += fmt::format("{:02x}", data[i]);
  return out;
}

TEST_F(AspNetCore, FiftyMegabytesUpAndDownByteExactWithBoundedMemory) {
  ASSERT_NO_FATAL_FAILURE(start({.keys = {{"max_allowed_content_length", "\"100MB\""}}}));
  ASSERT_GT(app_pid(), 0);
  pid_t pid = server().process().pid();
  long base_kb = status_kb(pid, "VmRSS");

  {  // upload: the app answers "<bytes> <sha256>"
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr);
    Client c(http_port_, 60s);
    c.read_while_sending();
    ASSERT_TRUE(c.send(fmt::format(
        "POST /sha256 HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n", kLarge)));
    std::string block(1 << 20, '\0');
    for (uint64_t sent = 0; sent < kLarge; sent += block.size()) {
      for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>((sent + i) * 31 >> 3);
      EVP_DigestUpdate(md.get(), block.data(), block.size());
      ASSERT_TRUE(c.send(block)) << "upload stopped at " << sent;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(md.get(), digest, &len);
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << server().log();
    EXPECT_EQ(r->body, fmt::format("{} {}\n", kLarge, hex(digest, len)));
  }
  {  // download, checked byte by byte as it streams, not kept
    Client c(http_port_, 60s);
    ASSERT_TRUE(
        c.send(fmt::format("GET /download?bytes={} HTTP/1.1\r\nHost: localhost\r\n\r\n", kLarge)));
    while (c.pending().find("\r\n\r\n") == std::string::npos)
      ASSERT_TRUE(c.read_at_least(c.pending().size() + 1));
    size_t head_end = c.pending().find("\r\n\r\n") + 4;
    EXPECT_NE(c.pending().find(fmt::format("Content-Length: {}", kLarge)), std::string::npos)
        << c.pending().substr(0, head_end);
    std::string first = c.pending().substr(head_end);
    uint64_t got = 0, wrong = 0;
    for (char ch : first) wrong += ch != pattern_at(got++);
    char buf[1 << 16];
    auto deadline = std::chrono::steady_clock::now() + 120s;
    while (got < kLarge && std::chrono::steady_clock::now() < deadline) {
      pollfd p{c.fd(), POLLIN, 0};
      ::poll(&p, 1, 1000);
      ssize_t n = ::recv(c.fd(), buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0) break;
      for (ssize_t i = 0; i < n; ++i) wrong += buf[i] != pattern_at(got++);
    }
    EXPECT_EQ(got, kLarge);
    EXPECT_EQ(wrong, 0u);
  }
  long peak_kb = status_kb(pid, "VmHWM");
  EXPECT_LT(peak_kb - base_kb, 64 * 1024)
      << "sitehost grew from " << base_kb << " kB to " << peak_kb << " kB";
}

// Whether the app logged "Request starting ... <target>" (its hosting diagnostics).
bool app_logged(const std::string& log, const std::string& target) {
  size_t at = 0;
  while ((at = log.find("Request starting", at)) != std::string::npos) {
    size_t end = log.find('\n', at);
    if (log.substr(at, end - at).find(target) != std::string::npos) return true;
    at = end;
  }
  return false;
}

// The app logs every request it starts (ASP.NET Core's own hosting diagnostics, turned on
// through configuration): a body over the limit is refused by sitehost before that.
TEST_F(AspNetCore, BodyOverTheLimitIs413BeforeTheAppSeesIt) {
  ASSERT_NO_FATAL_FAILURE(
      start({.environment = {{"Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics",
                              "Information"}},
             .keys = {{"max_allowed_content_length", "100000"}}}));
  auto small = request("POST", "/sha256?n=small", std::string(100000, 'x'));
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 200) << server().log();
  EXPECT_TRUE(wait_until([&] { return app_logged(server().log(), "/sha256?n=small"); }))
      << "the app's request log is not in sitehost's log:\n"
      << server().log();

  auto big = request("POST", "/sha256?n=big", std::string(100001, 'x'));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  // Chunked, no length announced: cut at the limit, 413 all the same.
  Client c(http_port_, 20s);
  c.read_while_sending();
  ASSERT_TRUE(
      c.send("POST /sha256?n=chunked HTTP/1.1\r\nHost: localhost\r\n"
             "Transfer-Encoding: chunked\r\n\r\n"));
  std::string chunk = fmt::format("{:x}\r\n{}\r\n", 60000, std::string(60000, 'y'));
  c.send(chunk);
  c.send(chunk);
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  ASSERT_GT(app_pid(), 0);  // a later request is logged, so the log is current
  EXPECT_TRUE(wait_until([&] { return app_logged(server().log(), "/pid"); }));
  EXPECT_FALSE(app_logged(server().log(), "/sha256?n=big")) << server().log();
}

}  // namespace
}  // namespace sitehost::test
