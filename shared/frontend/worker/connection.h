// One client connection: reads and parses requests one at a time (pipelined ones wait in the
// buffer, so responses are strictly in order), hands each to its site as an Exchange, writes the
// response, and applies the timeouts. Idle, it holds no read buffer and no request state.
#pragma once

#include <uv.h>

#include <list>
#include <memory>

#include "shared/frontend/worker/request_context.h"
#include "shared/net/deadline_queue.h"
#include "shared/net/tls_session.h"
#include "shared/site/exchange.h"

namespace sitehost {

class Http2Session;
class Worker;
struct WriteRequest;

class Connection final : public Exchange, private http::BodySink {
 public:
  // `tls`: the listener's certificates for an HTTPS connection, null for plain HTTP.
  Connection(Worker& worker, uint16_t local_port,
             std::shared_ptr<const TlsListenerContext> tls = nullptr);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Graceful stop: close now when idle, else after the current response.
  void drain();
  // Hard stop: close the socket now (in-flight exchanges see an abort).
  void close_now();
  // Deferred work scheduled through Worker::defer().
  void run_deferred();
  void on_deadline(int kind);
  static void on_deadline_expired(DeadlineNode* node, void* kind);

  bool idle() const { return !ctx_ && !h2_; }
  bool speaks_http2() const { return h2_ != nullptr; }

  // Accepts the waiting connection of `listener` and starts reading; false on failure (the
  // connection then closes itself).
  bool accept(uv_stream_t* listener);
  // The same for a socket accepted by hand (a closing listener's backlog); takes over `fd`.
  bool adopt(int fd);

  // Where the server keeps this connection (for O(1) removal).
  std::list<std::unique_ptr<Connection>>::iterator self;
  bool deferred_pending = false;
  bool in_read_callback = false;  // on_read runs the deferred work itself when it returns

  // --- for the HTTP/2 session (http2/http2_session.h) ---
  // Sends `bytes` (taken: the string comes back empty, its capacity swapped with the write's).
  void write_frames(std::string& bytes);
  size_t output_queue_bytes() const { return tcp_.write_queue_size; }
  bool closing() const { return handle_closed_ || lingering_; }
  void defer();
  // Arms the deadline the session asks for; `progress`: output moved (send_timeout restarts).
  void update_deadline(bool progress = false);
  const TlsSession* tls_session() const { return tls_ ? &tls_->session : nullptr; }
  std::string_view client_certificate();
  const sockaddr* peer_address() const { return &peer_.sa; }
  const sockaddr* local_address() const { return &local_.sa; }
  uint16_t port() const { return local_port_; }

  // --- Exchange ---
  const RequestInfo& request() const override { return ctx_->info; }
  const SiteConfig& site() const override { return *ctx_->site_config; }
  unsigned loop_index() const override;
  bool dead() const { return dead_; }
  void read_body(BodyReader& reader) override;
  void pause_body() override;
  void resume_body() override;
  void set_status(int status, std::string_view reason) override;
  bool add_header(std::string_view name, std::string_view value) override;
  bool head_sent() const override { return ctx_->head_sent; }
  void write(std::string_view data, WriteDone done) override;
  size_t write_queue_bytes() const override;
  void finish() override;
  void respond_error(const HttpError& error) override;
  void respond_error_and_hold(const HttpError& error) override;
  void set_abort_handler(AbortHandler handler) override { ctx_->abort_handler = handler; }
  bool aborted() const override { return ctx_->aborted; }

 private:
  friend class Worker;
  friend struct WriteRequest;

  // Read side.
  void start();
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void on_close(uv_handle_t* handle);
  void process();
  void parse_head();
  void feed_body();
  void redirect_to_https(const SiteConfig& site);
  void dispatch();
  void fill_request_info();
  void update_reading();
  void go_idle();
  void release_buffer();
  // `half_close`: the client ended its side cleanly (EOF, TLS close_notify); a tunnel goes on.
  void on_peer_gone(bool half_close = false);

  // HTTP/2 (connection_http2.cpp): ALPN h2, or the h2c preface where a site allows it.
  enum class Protocol { kHttp1, kHttp2, kUndecided };
  Protocol choose_protocol() const;
  void process_http2();
  void after_http2();  // flush, close when done, deadlines, reading

  // Write side.
  void on_parsed_body(std::string_view chunk) override;
  std::string& serialize_head();
  void queue_write(std::unique_ptr<WriteRequest> req, uv_buf_t* bufs, unsigned count);
  static void on_write(uv_write_t* req, int status);
  void complete_later(WriteDone done, int status);
  void arm_deadline(int kind);
  void disarm_deadline();
  bool awaiting_body() const;
  void update_body_deadline(bool progress);
  void on_body_timeout();
  void begin_request();
  void end_exchange();
  void fail_request(int status, int substatus, std::string_view detail);
  // `end`: the exchange is over once the page is written (else the site ends it later).
  void send_error_page(const HttpError& error, bool end = true);
  // Writes an answer of the front end's own: the head, then ctx_->error_body as the body.
  void send_own_answer();
  // The health endpoint (connection_health.cpp): answered before routing.
  bool is_health_request() const;
  void serve_health();
  void log_access();

  // TLS: ciphertext in, plaintext into the read buffer; records out.
  bool pump_tls_input();  // false when the session failed (the connection is closing)
  void flush_tls_output();
  void send(std::unique_ptr<WriteRequest> req, uv_buf_t* bufs, unsigned count);

  // Closing.
  void close_after_response();
  static void on_shutdown(uv_shutdown_t* req, int status);
  void begin_close();
  void count_tls_outcome();  // once, when the connection closes
  void maybe_destroy();

  struct Deadline : DeadlineNode {
    Connection* owner = nullptr;
  };

  // Both ends of the connection, read once at accept (not per request).
  union Endpoint {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  };

  uv_tcp_t tcp_;
  Endpoint peer_{};
  Endpoint local_{};
  Worker& worker_;
  Deadline deadline_;
  std::unique_ptr<uv_shutdown_t> shutdown_req_;  // only while lingering
  struct TlsState {
    explicit TlsState(std::shared_ptr<const TlsListenerContext> listener)
        : session(std::move(listener)) {}
    TlsSession session;
    std::string peer_certificate;  // DER, read once after the handshake
    bool peer_certificate_read = false;
    bool handshake_counted = false;  // Metrics::tls_handshake_done() was called
    bool received = false;           // any bytes arrived (a bare TCP probe is no handshake)
  };
  std::unique_ptr<TlsState> tls_;  // null for plain HTTP
  std::unique_ptr<char[]> buf_;
  std::unique_ptr<RequestContext> ctx_;
  std::unique_ptr<Http2Session> h2_;  // set once the connection speaks HTTP/2
  uint32_t cap_ = 0;
  uint32_t len_ = 0;       // bytes in buf_
  uint32_t parsed_ = 0;    // bytes consumed by the parser
  uint32_t head_end_ = 0;  // end of the current request's head (body region starts here)
  uint32_t pending_writes_ = 0;
  uint16_t local_port_;
  int8_t timer_kind_ = -1;
  bool keep_alive_ = true;
  bool reading_ = false;
  bool draining_ = false;
  bool fresh_ = true;  // no request began on it yet
  bool lingering_ = false;
  bool handle_closed_ = false;  // uv_close called
  bool close_done_ = false;     // close callback ran
  bool peer_gone_ = false;
  bool dead_ = false;  // handed to the server for destruction
};

}  // namespace sitehost
