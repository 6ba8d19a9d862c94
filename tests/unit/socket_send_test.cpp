#include "shared/net/socket_send.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

namespace sitehost {
namespace {

// A connected, non-blocking stream socket pair, closed on scope exit.
struct SocketPair {
  SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0); }
  ~SocketPair() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  void close_reader() {
    ::close(fds[1]);
    fds[1] = -1;
  }
  std::string drain() {
    std::string out;
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fds[1], buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  int fds[2] = {-1, -1};
};

uv_buf_t buf_of(std::string& s) {
  return uv_buf_init(s.data(), static_cast<unsigned>(s.size()));
}

TEST(SendNow, SmallGatherArrivesAsOneSendInOrder) {
  SocketPair p;
  std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", body = "hello";
  uv_buf_t bufs[] = {buf_of(head), buf_of(body)};
  int n = send_now(p.fds[0], bufs, 2, head.size() + body.size());
  ASSERT_EQ(n, static_cast<int>(head.size() + body.size()));
  EXPECT_EQ(p.drain(), head + body);
}

TEST(SendNow, LargeGatherGoesThroughSendmsg) {
  SocketPair p;
  int small = 4096;  // keep the test's buffer need bounded and its result exact
  ASSERT_EQ(::setsockopt(p.fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  std::string a(3000, 'a'), b(3000, 'b');
  uv_buf_t bufs[] = {buf_of(a), buf_of(b)};
  int n = send_now(p.fds[0], bufs, 2, a.size() + b.size());
  ASSERT_GT(n, 0);
  std::string got = p.drain();
  EXPECT_EQ(got.size(), static_cast<size_t>(n));
  EXPECT_EQ(got, (a + b).substr(0, static_cast<size_t>(n)));
}

TEST(SendNow, AFullSocketTakesNothingAndSaysSo) {
  SocketPair p;
  std::string chunk(65536, 'x');
  uv_buf_t buf = buf_of(chunk);
  int n = 1;
  for (int i = 0; i < 1000 && n > 0; ++i) n = send_now(p.fds[0], &buf, 1, chunk.size());
  EXPECT_EQ(n, 0);  // full: 0 bytes, not an error
}

TEST(SendNow, AGonePeerIsAnErrorWithoutSigpipe) {
  SocketPair p;
  p.close_reader();
  std::string data = "late";
  uv_buf_t buf = buf_of(data);
  int n = send_now(p.fds[0], &buf, 1, data.size());
  EXPECT_EQ(n, UV_EPIPE);  // the process is still here: MSG_NOSIGNAL
}

}  // namespace
}  // namespace sitehost
