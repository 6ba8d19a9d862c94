// Request bodies in-process: max_request_body_size with Content-Length and chunked, the front
// end's max_allowed_content_length first, blocking I/O only with allow_synchronous_io, and a
// 200 MB echo streamed through with bounded memory.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <atomic>

#include <thread>

#include "tests/inproc/inproc_test_util.h"

namespace sitehost::test {
namespace {

class Body : public ::testing::Test {
 protected:
  void start(const std::vector<InprocSiteSpec>& sites) {
    port_ = free_port();
    host_ = std::make_unique<Sitehost>(dir_, inproc_config(port_, dir_.path(), sites));
    ASSERT_TRUE(host_->wait_listening(port_)) << host_->log();
  }
  void TearDown() override {
    if (host_) {
      EXPECT_EQ(host_->stop(), 0) << host_->log();
    }
  }
  std::optional<Response> raw(const std::string& request) {
    Client c(port_);
    if (!c.connected() || !c.send(request)) return std::nullopt;
    return c.read_response();
  }

  TempDir dir_;
  uint16_t port_ = 0;
  std::unique_ptr<Sitehost> host_;
};

TEST_F(Body, EchoReturnsTheBody) {
  start({{"echo", "/", app_library("echo"), ""}});
  std::string body(100000, 'x');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  auto r = http_request(port_, "POST", "/", body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, body);
  auto chunked = raw(chunked_request("/", {"hello ", "chunked ", "world"}));
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->body, "hello chunked world");
  auto empty = http_request(port_, "POST", "/", "");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 200);
  EXPECT_EQ(empty->body, "");
}

TEST_F(Body, ContentLengthOverMaxRequestBodySizeIs413BeforeTheAppReads) {
  start({{"echo", "/", app_library("echo"), "max_request_body_size = 1000\n"}});
  auto over = http_request(port_, "POST", "/", std::string(1001, 'x'));
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 413);
  EXPECT_NE(over->body.find("max_request_body_size"), std::string::npos) << over->body;
  auto at = http_request(port_, "POST", "/", std::string(1000, 'y'));
  ASSERT_TRUE(at);
  EXPECT_EQ(at->status, 200);
  EXPECT_EQ(at->body, std::string(1000, 'y'));
}

TEST_F(Body, ChunkedBodyCrossingMaxRequestBodySizeIs413) {
  start({{"echo", "/", app_library("echo"), "max_request_body_size = 1000\n"}});
  auto over = raw(chunked_request("/", {std::string(5000, 'a')}));
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 413);
  EXPECT_NE(over->body.find("max_request_body_size"), std::string::npos) << over->body;
  auto under = raw(chunked_request("/", {std::string(500, 'a'), std::string(500, 'b')}));
  ASSERT_TRUE(under);
  EXPECT_EQ(under->status, 200);
  EXPECT_EQ(under->body.size(), 1000u);
}

TEST_F(Body, ChunkedBodyCrossingTheLimitAfterTheResponseStartedCutsIt) {
  // echo writes every chunk as it comes: once it answered, a 413 is no longer possible; the read
  // fails, the app finishes, and the client sees a cut response, never a complete one.
  start({{"echo", "/", app_library("echo"), "max_request_body_size = 1000\n"}});
  Client c(port_);
  ASSERT_TRUE(
      c.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
             "258\r\n" +
             std::string(600, 'a') + "\r\n"));
  // The first 600 bytes come back before the rest is even sent.
  auto echoed_first_chunk = [&] {
    c.closed_within(20ms);  // takes in whatever arrived (bounded)
    return c.pending().find(std::string(600, 'a')) != std::string::npos;
  };
  EXPECT_TRUE(wait_until(echoed_first_chunk, 5s));
  ASSERT_TRUE(c.send("258\r\n" + std::string(600, 'b') + "\r\n0\r\n\r\n"));
  std::string rest = c.read_until_close();
  std::string all = c.pending() + rest;
  EXPECT_EQ(all.rfind("HTTP/1.1 200", 0), 0u) << all.substr(0, 100);
  EXPECT_EQ(all.find(std::string(600, 'b')), std::string::npos);
  EXPECT_EQ(all.find("0\r\n\r\n"), std::string::npos);  // no end of the chunked body
}

TEST_F(Body, ZeroMeansUnlimited) {
  start({{"echo", "/", app_library("echo"), "max_request_body_size = 0\n"}});
  auto r = raw(chunked_request("/", {std::string(40000, 'a'), std::string(40000, 'b')}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), 80000u);
}

TEST_F(Body, TheFrontEndsLimitIsCheckedFirst) {
  start({{"echo", "/", app_library("echo"),
          "max_allowed_content_length = 500\nmax_request_body_size = 1000\n"}});
  auto r = http_request(port_, "POST", "/", std::string(800, 'x'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("max_allowed_content_length"), std::string::npos) << r->body;
}

TEST_F(Body, BlockingIoFailsWithAClearCodeWhenNotAllowed) {
  start({{"sync", "/", app_library("sync_io"), ""}});
  auto r = http_request(port_, "POST", "/", "data");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->header("X-Sync-Error"), "SITEHOST_E_SYNC_IO");
  EXPECT_NE(r->body.find("allow_synchronous_io"), std::string::npos) << r->body;
}

TEST_F(Body, BlockingIoWorksOnWorkerThreadsWhenAllowed) {
  start({{"sync", "/", app_library("sync_io"), "allow_synchronous_io = true\n"},
         {"hello", "/hello", app_library("hello"), ""}});
  std::string body(3 * 1024 * 1024 + 17, 'q');
  for (size_t i = 0; i < body.size(); i += 4096) body[i] = static_cast<char>('0' + i % 10);
  auto r = http_request(port_, "POST", "/", body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), body.size());
  EXPECT_TRUE(r->body == body);
  auto chunked = raw(chunked_request("/", {"one ", "two ", "three"}));
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->body, "one two three");
  // A handler blocked in a read does not block the loop: the client sends half a body and waits.
  Client blocked(port_);
  ASSERT_TRUE(blocked.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhalf"));
  auto hello = http_request(port_, "GET", "/hello/");
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->body, "Hello, World!");
  ASSERT_TRUE(blocked.send("-rest!"));
  auto rest = blocked.read_response();
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->body, "half-rest!");
}

TEST_F(Body, SyncIoBodyLimitStillApplies) {
  start({{"sync", "/", app_library("sync_io"),
          "allow_synchronous_io = true\nmax_request_body_size = 1000\n"}});
  // One chunk crossing the limit by itself: the read fails before the app could answer.
  auto r = raw(chunked_request("/", {std::string(5000, 'a')}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413) << r->body;
}

// 200 MB through echo while sitehost's RSS stays bounded: nothing buffers the whole body.
TEST_F(Body, A200MegabyteEchoStreamsWithBoundedMemory) {
  start({{"echo", "/", app_library("echo"),
          "max_request_body_size = 0\n"
          "max_allowed_content_length = 300000000\n"}});
  ASSERT_EQ(http_request(port_, "GET", "/")->status, 200);  // warm up: the app is loaded
  const pid_t pid = host_->process().pid();
  const long baseline = rss_kib(pid);
  constexpr size_t kTotal = 200u * 1024 * 1024;
  Client c(port_, 60s);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(kTotal) +
                     "\r\nConnection: close\r\n\r\n"));
  std::atomic<bool> send_ok{true};
  std::atomic<long> peak{baseline};
  std::thread sender([&] {
    std::string block(256 * 1024, 'e');
    for (size_t sent = 0; sent < kTotal; sent += block.size()) {
      if (!c.send(block)) {
        send_ok = false;
        return;
      }
      long now = rss_kib(pid);
      if (now > peak) peak = now;
    }
  });
  // Read while sending (the echo's back-pressure would stall a client that does not).
  size_t received = 0;
  std::string head;
  int fd = c.fd();
  std::vector<char> buf(1 << 20);
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) break;
    if (head.find("\r\n\r\n") == std::string::npos) {
      head.append(buf.data(), static_cast<size_t>(n));
      size_t end = head.find("\r\n\r\n");
      if (end != std::string::npos) received += head.size() - end - 4;
    } else {
      received += static_cast<size_t>(n);
    }
    if (received >= kTotal) break;
  }
  sender.join();
  EXPECT_TRUE(send_ok);
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head.substr(0, 200);
  EXPECT_EQ(received, kTotal);
  long growth_mib = (peak - baseline) / 1024;
  EXPECT_LT(growth_mib, 64) << "RSS grew from " << baseline << " KiB to " << peak << " KiB";
}

}  // namespace
}  // namespace sitehost::test
