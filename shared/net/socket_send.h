// A direct, non-blocking send for a stream whose libuv write queue is empty: the fast path of
// every response write. It does what uv_try_write does, through send()/sendmsg() rather than
// write()/writev(): the socket calls skip the VFS layer (file permission hook, fsnotify,
// iov_iter import for a single buffer), which on a small keep-alive response is measurable.
// Small gathers are copied into one buffer first, so a head + body response is one send().
#pragma once

#include <uv.h>

#include <cstddef>

namespace sitehost {

// Sends what the socket takes now. Returns the bytes sent (0 when the socket is full) or a
// negative libuv error code (UV_EPIPE, UV_ECONNRESET, ...). Never blocks, never raises SIGPIPE.
int send_now(uv_os_fd_t fd, const uv_buf_t* bufs, unsigned count, size_t total);
// The same on a libuv stream's socket (its write queue must be empty, or the bytes overtake it).
int send_now(uv_stream_t* stream, const uv_buf_t* bufs, unsigned count, size_t total);

}  // namespace sitehost
