// HTTP/2 on one client connection (RFC 9113), with nghttp2 doing the framing, HPACK and flow
// control. The connection (connection.h) stays the transport: it reads (and decrypts) bytes and
// hands them to receive(), and writes what the session produces. The session turns each request
// stream into an Http2Stream, the Exchange its site answers through, and applies the limits and
// the flood defences (docs/http2.md). Owned by its Connection; everything runs on the
// connection's loop thread.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "shared/frontend/worker/http2/frame_budget.h"
#include "shared/frontend/worker/http2/goaway_counter.h"
#include "shared/frontend/worker/http2/http2_stream.h"

namespace sitehost {

class Connection;
class Worker;

class Http2Session {
 public:
  Http2Session(Connection& connection, Worker& worker);
  ~Http2Session();
  Http2Session(const Http2Session&) = delete;
  Http2Session& operator=(const Http2Session&) = delete;

  // Queues our SETTINGS and the connection window. False: nghttp2 could not start.
  bool start();
  // Plaintext from the client. False: the connection is in error (a GOAWAY is queued; flush,
  // then close).
  bool receive(const char* data, size_t size);
  // Frames what is queued while the socket takes it.
  void flush();
  // The connection's deferred pass: streams' completions, bodies, ends; then flush().
  void run_deferred();
  // Graceful stop: GOAWAY with the last stream id; open streams finish.
  void shutdown_gracefully();
  // Ends the connection with GOAWAY `error_code` (the streams are aborted when it closes).
  void terminate(uint32_t error_code, const char* why);
  // The connection is gone: every open exchange is aborted.
  void abort_all();

  // Reading is held while our output backs up or sites hold too many exchanges.
  bool wants_input() const;
  // Nothing more to read or write and no exchange held: the connection can close.
  bool finished() const;
  size_t held_streams() const;
  // Which connection deadline applies now (a DeadlineKind), or -1 for none.
  int deadline_kind() const;
  // Deadline expired (the connection's one timer).
  void on_deadline(int kind);

  // --- for streams ---
  Connection& connection() { return connection_; }
  Worker& worker() { return worker_; }
  nghttp2_session* native() { return session_; }
  void schedule();  // run_deferred soon (never inside the caller)
  size_t connection_queue_bytes() const;

 private:
  void time_out_stalled_bodies();  // the body deadline fired
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                       void* user);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int on_data_chunk(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data,
                           size_t len, void* user);
  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user);
  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user);
  int frame_received(const nghttp2_frame& frame);
  Http2Stream* stream(int32_t id);
  void recycle_done_streams();

  Connection& connection_;
  Worker& worker_;
  nghttp2_session* session_ = nullptr;
  std::vector<std::unique_ptr<Http2Stream>> streams_;  // open or held by their site
  std::vector<std::unique_ptr<Http2Stream>> spare_;    // recycled (capacity kept)
  std::string out_;                                    // frames not yet handed to the socket
  FrameBudget control_frames_;
  FrameBudget resets_;
  GoawayCounter goaways_;
  uint32_t max_streams_;
  bool header_block_open_ = false;  // a HEADERS frame waits for its CONTINUATIONs
  bool any_request_ = false;
  bool failed_ = false;
  bool going_away_ = false;
};

}  // namespace sitehost
