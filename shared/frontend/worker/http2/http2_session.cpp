// HTTP/2 on one connection (http2_session.h): nghttp2's server session, its callbacks, output
// and the flood defences.
#include "shared/frontend/worker/http2/http2_session.h"

#include <algorithm>

#include "shared/frontend/worker/connection.h"
#include "shared/frontend/worker/worker.h"

namespace sitehost {

namespace {

// The windows we give the client for request bodies: what one stream, and the whole connection,
// may have in flight towards us. Body bytes are acknowledged (WINDOW_UPDATE) only once the site
// took them, so a site that pauses its body holds the client back (docs/http2.md).
constexpr int32_t kStreamWindow = 256 * 1024;
constexpr int32_t kConnectionWindow = 1024 * 1024;
// Frames are produced only while the socket's queue stays below this; beyond it reading stops
// too, so a client that does not read cannot make us queue without bound.
constexpr size_t kOutputHighWater = 64 * 1024;
constexpr size_t kFlushChunk = 16 * 1024;
// Control frames and resets a client may send: a burst, then a steady rate per second.
constexpr uint32_t kControlBurst = 1000;
constexpr uint32_t kControlRate = 100;

Http2Session& self(void* user) {
  return *static_cast<Http2Session*>(user);
}

struct OptionDeleter {
  void operator()(nghttp2_option* o) const { nghttp2_option_del(o); }
};
struct CallbacksDeleter {
  void operator()(nghttp2_session_callbacks* c) const { nghttp2_session_callbacks_del(c); }
};

}  // namespace

Http2Session::Http2Session(Connection& connection, Worker& worker)
    : connection_(connection),
      worker_(worker),
      control_frames_(kControlBurst, kControlRate),
      resets_(2 * worker.config().http2_max_concurrent_streams,
              worker.config().http2_max_concurrent_streams),
      goaways_(worker.counters()),
      max_streams_(worker.config().http2_max_concurrent_streams) {
  worker_.counters().http2_connections_open.add();
}

Http2Session::~Http2Session() {
  worker_.counters().http2_connections_open.sub();
  for (auto& s : streams_)
    if (auto ctx = s->release_context()) worker_.return_context(std::move(ctx));
  if (session_) nghttp2_session_del(session_);
}

bool Http2Session::start() {
  nghttp2_session_callbacks* raw_callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&raw_callbacks) != 0) return false;
  std::unique_ptr<nghttp2_session_callbacks, CallbacksDeleter> callbacks(raw_callbacks);
  nghttp2_session_callbacks_set_on_begin_headers_callback(raw_callbacks, &on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(raw_callbacks, &on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(raw_callbacks, &on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(raw_callbacks, &on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(raw_callbacks, &on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(raw_callbacks, &on_frame_send);

  nghttp2_option* raw_option = nullptr;
  if (nghttp2_option_new(&raw_option) != 0) return false;
  std::unique_ptr<nghttp2_option, OptionDeleter> option(raw_option);
  nghttp2_option_set_no_auto_window_update(raw_option, 1);
  nghttp2_option_set_max_continuations(raw_option, 8);    // CONTINUATION floods
  nghttp2_option_set_max_outbound_ack(raw_option, 1000);  // SETTINGS/PING acks nobody reads
  nghttp2_option_set_max_settings(raw_option, 32);        // entries in one SETTINGS frame
  nghttp2_option_set_stream_reset_rate_limit(raw_option, 2 * max_streams_, max_streams_);
  if (nghttp2_session_server_new2(&session_, raw_callbacks, this, raw_option) != 0) return false;

  const ServerConfig& config = worker_.config();
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, max_streams_},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, config.max_request_line + config.max_header_bytes},
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 0},
  };
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0)
    return false;
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  return true;
}

bool Http2Session::receive(const char* data, size_t size) {
  if (failed_) return false;
  const ssize_t n =
      nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), size);
  if (n < 0) {
    // nghttp2 queued a GOAWAY where the protocol asks for one (bad preface, flood, ...).
    const auto error = static_cast<int>(n);
    if (!failed_) worker_.log().info("http2: closing connection: {}", nghttp2_strerror(error));
    const bool flood = error == NGHTTP2_ERR_FLOODED || error == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS;
    terminate(flood                              ? NGHTTP2_ENHANCE_YOUR_CALM
              : error == NGHTTP2_ERR_HEADER_COMP ? NGHTTP2_COMPRESSION_ERROR
                                                 : NGHTTP2_PROTOCOL_ERROR,
              nullptr);
    return false;
  }
  return !failed_;
}

void Http2Session::terminate(uint32_t error_code, const char* why) {
  if (why) worker_.log().info("http2: closing connection: {}", why);
  if (failed_) return;
  goaways_.terminate(session_, error_code);
  // nghttp2 keeps a stream it has not finished (a header block cut short) after the GOAWAY: the
  // connection is over, so every exchange ends now; the GOAWAY is flushed before the close.
  abort_all();
}

size_t Http2Session::connection_queue_bytes() const {
  return connection_.output_queue_bytes();
}

void Http2Session::flush() {
  while (connection_.output_queue_bytes() < kOutputHighWater && !connection_.closing()) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      worker_.log().warn("http2: nghttp2_session_mem_send: {}",
                         nghttp2_strerror(static_cast<int>(n)));
      failed_ = true;
      connection_.close_now();
      return;
    }
    if (n > 0) out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    if (n == 0 || out_.size() >= kFlushChunk) {
      if (!out_.empty()) connection_.write_frames(out_);
      if (n == 0) break;
    }
  }
}

void Http2Session::run_deferred() {
  // A stream's deferred work may end it (and its completions may queue writes): iterate by
  // index, streams_ does not change size here.
  for (size_t i = 0; i < streams_.size(); ++i) streams_[i]->run_deferred();
  recycle_done_streams();
  flush();
}

void Http2Session::schedule() {
  connection_.defer();
}

void Http2Session::recycle_done_streams() {
  for (size_t i = 0; i < streams_.size();) {
    if (!streams_[i]->done()) {
      ++i;
      continue;
    }
    if (auto ctx = streams_[i]->release_context()) worker_.return_context(std::move(ctx));
    if (spare_.size() < max_streams_) spare_.push_back(std::move(streams_[i]));
    streams_[i] = std::move(streams_.back());
    streams_.pop_back();
  }
}

void Http2Session::shutdown_gracefully() {
  if (going_away_ || failed_) return;
  going_away_ = true;
  goaways_.graceful(session_);
  schedule();
}

void Http2Session::abort_all() {
  failed_ = true;
  for (size_t i = 0; i < streams_.size(); ++i) streams_[i]->abort();
  schedule();
}

bool Http2Session::wants_input() const {
  return !failed_ && connection_.output_queue_bytes() < kOutputHighWater &&
         held_streams() <= 2 * static_cast<size_t>(max_streams_);
}

bool Http2Session::finished() const {
  if (held_streams() > 0) return false;
  return failed_ || (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_));
}

size_t Http2Session::held_streams() const {
  return static_cast<size_t>(
      std::count_if(streams_.begin(), streams_.end(), [](const auto& s) { return !s->done(); }));
}

int Http2Session::deadline_kind() const {
  if (failed_) return -1;
  if (header_block_open_ || !any_request_) return kHeaderDeadline;
  if (connection_.output_queue_bytes() > 0 ||
      std::any_of(streams_.begin(), streams_.end(),
                  [](const auto& s) { return s->waiting_for_window(); }))
    return kSendDeadline;
  if (std::any_of(streams_.begin(), streams_.end(),
                  [](const auto& s) { return s->awaiting_body(); }))
    return kBodyDeadline;
  if (streams_.empty()) return kKeepaliveDeadline;
  return -1;
}

void Http2Session::on_deadline(int kind) {
  switch (kind) {
    case kHeaderDeadline:
      terminate(NGHTTP2_PROTOCOL_ERROR, "no complete request header block within header_timeout");
      break;
    case kKeepaliveDeadline:
      terminate(NGHTTP2_NO_ERROR, nullptr);  // idle for keepalive_timeout
      break;
    case kBodyDeadline:
      time_out_stalled_bodies();
      break;
    default:
      worker_.log().info("http2: closing connection: no write progress within send_timeout");
      failed_ = true;
      connection_.close_now();
      break;
  }
}

// The connection's one timer ran body_timeout since it was armed: streams whose body has not
// moved for that long end with 408; the others wait on (a stream may so wait up to twice the
// timeout). Streams are recycled only in run_deferred(), so the index walk is safe.
void Http2Session::time_out_stalled_bodies() {
  const uint64_t now = uv_now(worker_.loop());
  const auto limit = static_cast<uint64_t>(worker_.config().body_timeout.count());
  for (size_t i = 0; i < streams_.size(); ++i) {
    Http2Stream& st = *streams_[i];
    if (st.awaiting_body() && now - st.body_wait_since() >= limit) st.body_timed_out();
  }
}

Http2Stream* Http2Session::stream(int32_t id) {
  return static_cast<Http2Stream*>(nghttp2_session_get_stream_user_data(session_, id));
}

// ---------------------------------------------------------------------------------------------
// nghttp2 callbacks (all within receive() or flush(), on the loop thread)

int Http2Session::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  Http2Session& s = self(user);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  s.header_block_open_ = true;
  if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers: the stream exists
  std::unique_ptr<Http2Stream> stream;
  if (!s.spare_.empty()) {
    stream = std::move(s.spare_.back());
    s.spare_.pop_back();
  } else {
    stream = std::make_unique<Http2Stream>(s);
  }
  stream->begin(frame->hd.stream_id, s.worker_.take_context());
  nghttp2_session_set_stream_user_data(s.session_, frame->hd.stream_id, stream.get());
  s.streams_.push_back(std::move(stream));
  s.any_request_ = true;
  s.worker_.counters().http2_streams.add();
  s.connection_.update_deadline();
  return 0;
}

int Http2Session::on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                            size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                            void* user) {
  Http2Session& s = self(user);
  Http2Stream* st = s.stream(frame->hd.stream_id);
  if (!st || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers are dropped
  if (!st->add_field({reinterpret_cast<const char*>(name), namelen},
                     {reinterpret_cast<const char*>(value), valuelen})) {
    s.terminate(NGHTTP2_ENHANCE_YOUR_CALM, "a header block far larger than max_header_bytes");
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int Http2Session::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  return self(user).frame_received(*frame);
}

int Http2Session::frame_received(const nghttp2_frame& frame) {
  const uint64_t now = uv_now(worker_.loop());
  const bool ack = (frame.hd.flags & NGHTTP2_FLAG_ACK) != 0;
  const bool end_stream = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame.hd.type) {
    case NGHTTP2_HEADERS: {
      header_block_open_ = false;
      connection_.update_deadline();
      Http2Stream* st = stream(frame.hd.stream_id);
      if (!st) return 0;
      if (frame.headers.cat == NGHTTP2_HCAT_REQUEST)
        st->headers_done(end_stream);
      else if (end_stream)
        st->body_end();  // trailers end the body
      return 0;
    }
    case NGHTTP2_DATA:
      if (frame.hd.length == 0 && !end_stream && !control_frames_.spend(now)) break;
      if (end_stream)
        if (Http2Stream* st = stream(frame.hd.stream_id)) st->body_end();
      return 0;
    case NGHTTP2_RST_STREAM:
      worker_.counters().http2_streams_reset_by_client.add();
      if (!resets_.spend(now)) break;
      return 0;
    case NGHTTP2_SETTINGS:
    case NGHTTP2_PING:
      if (ack || control_frames_.spend(now)) return 0;
      break;
    case NGHTTP2_PRIORITY:
    case NGHTTP2_WINDOW_UPDATE:
      if (control_frames_.spend(now)) return 0;
      break;
    default:
      return 0;
  }
  terminate(NGHTTP2_ENHANCE_YOUR_CALM, "flood of control frames or stream resets");
  return 0;
}

int Http2Session::on_data_chunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                                size_t len, void* user) {
  Http2Session& s = self(user);
  if (Http2Stream* st = s.stream(stream_id))
    st->body_data({reinterpret_cast<const char*>(data), len});
  else  // a stream we reset: its bytes still count against the connection window
    nghttp2_session_consume_connection(s.session_, len);
  return 0;
}

int Http2Session::on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                                  void* user) {
  Http2Session& s = self(user);
  if (Http2Stream* st = s.stream(stream_id)) st->transport_closed(error_code);
  s.schedule();
  return 0;
}

int Http2Session::on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  Http2Session& s = self(user);
  if (frame->hd.type == NGHTTP2_GOAWAY) s.goaways_.sent(frame->goaway.error_code);
  if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
    if (Http2Stream* st = s.stream(frame->hd.stream_id)) st->response_sent();
  return 0;
}

}  // namespace sitehost
