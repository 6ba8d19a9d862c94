#include "shared/net/socket_send.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace sitehost {

namespace {

// Gathers up to this size are copied into one stack buffer: a copy this small costs less than
// the kernel's per-segment work for an iovec.
constexpr size_t kCoalesceBytes = 2048;
constexpr unsigned kMaxIov = 16;

int result(ssize_t n) {
  if (n >= 0) return static_cast<int>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
  return -errno;  // libuv's error codes are negated errno values on Unix
}

}  // namespace

int send_now(uv_os_fd_t fd, const uv_buf_t* bufs, unsigned count, size_t total) {
  constexpr int kFlags = MSG_DONTWAIT | MSG_NOSIGNAL;
  if (total > INT_MAX) total = INT_MAX;  // the int result; the caller queues the rest
  if (count == 1) return result(::send(fd, bufs[0].base, std::min(bufs[0].len, total), kFlags));
  if (total <= kCoalesceBytes) {
    char joined[kCoalesceBytes];
    size_t at = 0;
    for (unsigned i = 0; i < count; ++i) {
      std::memcpy(joined + at, bufs[i].base, bufs[i].len);
      at += bufs[i].len;
    }
    return result(::send(fd, joined, at, kFlags));
  }
  iovec iov[kMaxIov];
  unsigned n = count < kMaxIov ? count : kMaxIov;
  for (unsigned i = 0; i < n; ++i) iov[i] = {bufs[i].base, bufs[i].len};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = n;
  return result(::sendmsg(fd, &msg, kFlags));
}

int send_now(uv_stream_t* stream, const uv_buf_t* bufs, unsigned count, size_t total) {
  uv_os_fd_t fd = -1;
  int r = uv_fileno(reinterpret_cast<uv_handle_t*>(stream), &fd);
  return r != 0 ? r : send_now(fd, bufs, count, total);
}

}  // namespace sitehost
