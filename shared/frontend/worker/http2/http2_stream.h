// One HTTP/2 request stream as the Exchange a site answers through (RFC 9113 §8). The session
// (http2_session.h) creates it when a request's HEADERS begin, feeds it the header fields, the
// DATA and the stream's close, and frames what the site writes. Owned by its session, on the
// connection's loop thread; it outlives nghttp2's stream while the site still holds the exchange.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "shared/frontend/worker/request_context.h"
#include "shared/site/exchange.h"

namespace sitehost {

class Http2Session;

class Http2Stream final : public Exchange {
 public:
  explicit Http2Stream(Http2Session& session);
  ~Http2Stream();
  Http2Stream(const Http2Stream&) = delete;
  Http2Stream& operator=(const Http2Stream&) = delete;

  // --- from the session ---
  void begin(int32_t id, std::unique_ptr<RequestContext> ctx);
  int32_t id() const { return id_; }
  // A request header field (pseudo-headers included). False: far past the limits (an HPACK
  // bomb), the session then ends the connection.
  bool add_field(std::string_view name, std::string_view value);
  // The request's header block is complete: validate, route, hand it to the site.
  void headers_done(bool end_stream);
  void body_data(std::string_view data);
  void body_end();
  // nghttp2 closed the stream (error_code 0 after a complete exchange, else a reset).
  void transport_closed(uint32_t error_code);
  // The connection is gone: the exchange is aborted.
  void abort();
  // The session's deferred pass: owed completions, buffered body, the end of the exchange.
  void run_deferred();
  // nghttp2 asks for response DATA (the data provider's read callback).
  ssize_t read_response(uint8_t* buf, size_t length, uint32_t* data_flags);
  // Our last frame (END_STREAM) went out.
  void response_sent();
  // Nothing of the exchange is left: the session may recycle the stream.
  bool done() const;
  // The site still holds the exchange (it has not called finish()).
  bool held() const { return ctx_ && ctx_->dispatched && !ctx_->finished; }
  // Response bytes wait for the client's flow-control window (a slow or stalled reader).
  bool waiting_for_window() const;
  // The site reads the body, has taken all of it, and more is due: only the client can move.
  bool awaiting_body() const;
  uint64_t body_wait_since() const { return body_wait_since_; }  // uv_now() ms
  // No DATA came for body_timeout: 408 (or the site's own answer), then RST_STREAM.
  void body_timed_out();
  std::unique_ptr<RequestContext> release_context() { return std::move(ctx_); }

  // --- Exchange ---
  const RequestInfo& request() const override { return ctx_->info; }
  const SiteConfig& site() const override { return *ctx_->site_config; }
  unsigned loop_index() const override;
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
  struct Field {
    uint32_t name_at, name_len, value_at, value_len;
  };
  struct OutChunk {
    std::string_view data;
    WriteDone done;
  };

  HttpError fill_request_info();  // status 0, or why the request is malformed
  void dispatch();
  void answer_own(const HttpError& error);  // an error page of the front end's own
  void send_own_body();
  void submit_head(bool with_body);
  void send_continue();  // the 100 an `expect: 100-continue` waits for
  void complete_later(WriteDone done, int status);
  void deliver_body();
  void note_body_progress();
  void reset_stream(uint32_t error_code);
  void cancel_queued_writes();
  void end_exchange();

  Http2Session& session_;
  int32_t id_ = 0;
  std::unique_ptr<RequestContext> ctx_;
  // Request header fields as received ("name" "value" back to back), then their views.
  std::string fields_;
  std::vector<Field> field_index_;
  std::vector<HeaderView> headers_;
  std::string cookie_;  // the cookie fields joined with "; " (RFC 9113 §8.2.3)
  uint32_t field_bytes_ = 0;
  uint32_t field_count_ = 0;
  // Request body received and not yet handed to the site (bounded by the stream's window).
  std::string body_in_;
  uint64_t body_received_ = 0;
  bool end_received_ = false;
  uint64_t body_wait_since_ = 0;  // when the body last moved (or the site began to wait)
  // Response DATA queued by the site, in order; out_head_ is the first not yet framed.
  std::vector<OutChunk> out_;
  size_t out_head_ = 0;
  size_t out_offset_ = 0;  // of out_[out_head_]
  size_t out_bytes_ = 0;   // queued and not yet framed
  std::vector<nghttp2_nv> nva_;
  char status_text_[4] = {};
  bool closed_ = false;          // nghttp2 closed the stream
  bool deferred_ = false;        // the data provider is waiting for data (or window)
  bool submitted_ = false;       // response HEADERS submitted
  bool response_ended_ = false;  // our END_STREAM went out
  bool rst_sent_ = false;
  bool request_seen_ = false;     // the header block ended (the exchange gets a log line)
  bool body_error_told_ = false;  // the reader heard of c.body_error
  bool own_answer_ = false;
  bool over_limits_ = false;  // more fields or bytes than max_headers / max_header_bytes       //
                              // an answer of the front end's: its body ends the response
  char content_length_text_[24] = {};
};

}  // namespace sitehost
