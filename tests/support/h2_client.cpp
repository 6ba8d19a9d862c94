#include "tests/support/h2_client.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "tests/support/tls_client.h"

namespace sitehost::test {

using Clock = std::chrono::steady_clock;

// The connection under the session: the harness's Client (plain TCP) or TlsClient, whose
// non-blocking I/O steps H2Client drives itself.
class H2Client::Socket {
 public:
  struct Io {
    ssize_t n = -1;  // > 0 bytes moved; 0 the peer closed (reads); < 0 error unless `wait`
    short wait = 0;  // the poll events to wait for before trying again
  };
  virtual ~Socket() = default;
  virtual Io read(char* buf, size_t len) = 0;
  virtual Io write(const char* buf, size_t len) = 0;
  virtual int handle() const = 0;
  virtual bool is_connected() const = 0;
  virtual std::string selected_alpn() const = 0;
};

namespace {

template <class Base>
class SocketOver final : public Base, public H2Client::Socket {
 public:
  template <class... Args>
  explicit SocketOver(Args&&... args) : Base(std::forward<Args>(args)...) {}
  Io read(char* buf, size_t len) override {
    auto io = this->read_some(buf, len);
    return {io.n, io.wait};
  }
  Io write(const char* buf, size_t len) override {
    auto io = this->write_some(buf, len);
    return {io.n, io.wait};
  }
  int handle() const override { return Base::fd(); }
  bool is_connected() const override { return Base::connected(); }
  std::string selected_alpn() const override {
    if constexpr (std::is_same_v<Base, TlsClient>)
      return Base::alpn_selected();
    else
      return {};
  }
};

bool same_name(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Views, not strings: a literal converted to a temporary std::string would be gone before the
// submit call. NGHTTP2_NV_FLAG_NONE: nghttp2 copies both during that call.
nghttp2_nv header(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

struct H2Client::Stream {
  H2Response response;
  bool in_trailers = false;  // the header block being received follows the final response
  std::string upload;        // request body bytes not yet handed to nghttp2
  bool upload_end = false;   // no more body after `upload`
};

std::optional<std::string> H2Response::header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (same_name(k, name)) return v;
  return std::nullopt;
}

Response H2Response::as_response() const {
  Response r;
  r.status = status;
  r.http_version = "HTTP/2";
  r.headers = headers;
  r.body = body;
  return r;
}

// nghttp2's callbacks: they run inside nghttp2_session_mem_recv/mem_send, so on the thread that
// called into the client. `user` is the H2Client; a stream's user data is its Stream.
struct H2Callbacks {
  static H2Client& client(void* user) { return *static_cast<H2Client*>(user); }
  static H2Client::Stream* stream(nghttp2_session* session, int32_t id) {
    return static_cast<H2Client::Stream*>(nghttp2_session_get_stream_user_data(session, id));
  }

  static int begin_headers(nghttp2_session* session, const nghttp2_frame* frame, void*) {
    if (auto* s = stream(session, frame->hd.stream_id); s && frame->hd.type == NGHTTP2_HEADERS)
      s->in_trailers = s->response.status != 0;
    return 0;
  }

  static int header(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                    size_t name_len, const uint8_t* value, size_t value_len, uint8_t, void*) {
    auto* s = stream(session, frame->hd.stream_id);
    if (!s) return 0;
    std::string n(reinterpret_cast<const char*>(name), name_len);
    std::string v(reinterpret_cast<const char*>(value), value_len);
    if (s->in_trailers)
      s->response.trailers.emplace_back(std::move(n), std::move(v));
    else if (n == ":status")
      s->response.status = std::atoi(v.c_str());
    else if (n.empty() || n[0] != ':')
      s->response.headers.emplace_back(std::move(n), std::move(v));
    return 0;
  }

  static int frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    H2Client& c = client(user);
    auto* s = stream(session, frame->hd.stream_id);
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:  // a 1xx head is kept apart: the final response comes after it
        if (s && !s->in_trailers && s->response.status >= 100 && s->response.status < 200) {
          s->response.informational.push_back(s->response.status);
          s->response.status = 0;
          s->response.headers.clear();
        }
        break;
      case NGHTTP2_RST_STREAM:
        if (s) {
          s->response.reset = s->response.reset_by_peer = true;
          s->response.rst_error = frame->rst_stream.error_code;
        }
        break;
      case NGHTTP2_GOAWAY:
        c.goaway_ = H2Client::Goaway{frame->goaway.error_code, frame->goaway.last_stream_id};
        break;
      case NGHTTP2_SETTINGS:
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK)) c.settings_received_ = true;
        break;
      case NGHTTP2_PING:
        if (frame->hd.flags & NGHTTP2_FLAG_ACK) ++c.pings_acked_;
        break;
      default:
        break;
    }
    return 0;
  }

  // RST_STREAM we sent: rst(), or nghttp2's own when the response broke HTTP/2's rules (a
  // content-length that does not match the DATA, a bad header): rst_error says which.
  static int frame_send(nghttp2_session* session, const nghttp2_frame* frame, void*) {
    auto* s = stream(session, frame->hd.stream_id);
    if (s && frame->hd.type == NGHTTP2_RST_STREAM) {
      s->response.reset = true;
      s->response.rst_error = frame->rst_stream.error_code;
    }
    return 0;
  }

  static int data_chunk(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data,
                        size_t len, void*) {
    if (auto* s = stream(session, id))
      s->response.body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  // error_code: the RST_STREAM's, or what nghttp2 closed the stream with (REFUSED_STREAM for a
  // stream above a GOAWAY's last stream id).
  static int stream_close(nghttp2_session* session, int32_t id, uint32_t error_code, void*) {
    if (auto* s = stream(session, id)) {
      s->response.complete = true;
      if (error_code && !s->response.rst_error) s->response.rst_error = error_code;
    }
    return 0;
  }

  // The request body: what send_body_chunk() queued; deferred while the body is open and empty.
  static ssize_t read_body(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                           nghttp2_data_source* source, void*) {
    auto* s = static_cast<H2Client::Stream*>(source->ptr);
    size_t n = std::min(length, s->upload.size());
    std::memcpy(buf, s->upload.data(), n);
    s->upload.erase(0, n);
    if (s->upload.empty() && s->upload_end)
      *flags |= NGHTTP2_DATA_FLAG_EOF;
    else if (n == 0)
      return NGHTTP2_ERR_DEFERRED;
    return static_cast<ssize_t>(n);
  }
};

H2Client::H2Client(Key, std::unique_ptr<Socket> socket, const H2Options& options)
    : socket_(std::move(socket)), options_(options), alpn_(socket_->selected_alpn()) {}

H2Client::~H2Client() {
  if (session_) nghttp2_session_del(session_);
}

std::unique_ptr<H2Client> H2Client::connect(uint16_t port, bool tls, const std::string& sni,
                                            Ms timeout) {
  H2Options options;
  options.tls = tls;
  if (!sni.empty()) options.sni = sni;
  options.timeout = timeout;
  return connect(port, options);
}

std::unique_ptr<H2Client> H2Client::connect(uint16_t port, const H2Options& options,
                                            std::string* error) {
  std::string ignored;
  std::string& why = error ? *error : ignored;
  std::unique_ptr<Socket> socket;
  if (options.tls)
    socket = std::make_unique<SocketOver<TlsClient>>(port, options.sni, options.timeout,
                                                     std::vector<std::string>{"h2"});
  else
    socket = std::make_unique<SocketOver<Client>>(port, options.timeout);
  if (!socket->is_connected()) {
    why = "no connection to 127.0.0.1:" + std::to_string(port) +
          (options.tls ? " (TCP or TLS handshake failed)" : "");
    return nullptr;
  }
  if (options.tls && socket->selected_alpn() != "h2") {
    why = "the server selected ALPN '" + socket->selected_alpn() + "', not h2";
    return nullptr;
  }
  auto client = std::make_unique<H2Client>(Key{}, std::move(socket), options);
  if (!client->start(&why)) return nullptr;
  return client;
}

// The session, our SETTINGS and the server's first SETTINGS.
bool H2Client::start(std::string* error) {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_option* option = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0 || nghttp2_option_new(&option) != 0) {
    *error = "nghttp2: out of memory";
    return false;
  }
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, H2Callbacks::begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, H2Callbacks::header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, H2Callbacks::frame_recv);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, H2Callbacks::frame_send);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, H2Callbacks::data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, H2Callbacks::stream_close);
  if (!options_.auto_window_update) nghttp2_option_set_no_auto_window_update(option, 1);
  int rv = nghttp2_session_client_new2(&session_, callbacks, this, option);
  nghttp2_session_callbacks_del(callbacks);
  nghttp2_option_del(option);
  if (rv != 0) {
    *error = std::string("nghttp2_session_client_new2: ") + nghttp2_strerror(rv);
    return false;
  }
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options_.initial_window_size},
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams}};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  if (options_.connection_window_size != NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                          options_.connection_window_size);
  if (run_until([this] { return settings_received_; }, options_.timeout)) return true;
  *error = "no SETTINGS from the server within the timeout" +
           (error_.empty() ? std::string() : " (" + error_ + ")");
  return false;
}

int32_t H2Client::submit(const H2Request& request) {
  // nghttp2 would queue it and drop it at send time; say so now.
  if (goaway_) return NGHTTP2_ERR_START_STREAM_NOT_ALLOWED;
  if (closed()) return NGHTTP2_ERR_EOF;
  const std::string scheme = !request.scheme.empty() ? request.scheme
                             : options_.tls          ? "https"
                                                     : "http";
  std::vector<nghttp2_nv> nv = {header(":method", request.method), header(":scheme", scheme),
                                header(":authority", request.authority),
                                header(":path", request.path)};
  bool has_length = false;
  for (const auto& [name, value] : request.headers) {
    nv.push_back(header(name, value));
    has_length = has_length || same_name(name, "content-length");
  }
  const std::string length = std::to_string(request.body.size());
  if (request.add_content_length && !request.body.empty() && !request.stream_body && !has_length)
    nv.push_back(header("content-length", length));

  auto stream = std::make_unique<Stream>();
  stream->upload = request.body;
  stream->upload_end = !request.stream_body;
  nghttp2_data_provider body{};
  body.source.ptr = stream.get();
  body.read_callback = H2Callbacks::read_body;
  const bool with_body =
      !request.body.empty() || request.stream_body || !request.end_stream_with_headers;
  int32_t id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(),
                                      with_body ? &body : nullptr, stream.get());
  if (id < 0) return id;
  streams_[id] = std::move(stream);
  flush();
  return id;
}

H2Response H2Client::snapshot(int32_t stream) const {
  auto it = streams_.find(stream);
  return it == streams_.end() ? H2Response{} : it->second->response;
}

H2Response H2Client::wait(int32_t stream, Ms timeout) {
  run_until(
      [&] {
        auto it = streams_.find(stream);
        return it == streams_.end() || it->second->response.complete;
      },
      timeout);
  return snapshot(stream);
}

H2Response H2Client::exchange(const H2Request& request, Ms timeout) {
  return wait(submit(request), timeout);
}

std::vector<H2Response> H2Client::exchange_all(const std::vector<H2Request>& requests, Ms timeout) {
  std::vector<int32_t> ids;
  for (const auto& r : requests) ids.push_back(submit(r));
  run_until(
      [&] {
        return std::all_of(ids.begin(), ids.end(), [&](int32_t id) {
          auto it = streams_.find(id);
          return it == streams_.end() || it->second->response.complete;
        });
      },
      timeout);
  std::vector<H2Response> out;
  for (int32_t id : ids) out.push_back(snapshot(id));
  return out;
}

bool H2Client::rst(int32_t stream, uint32_t error_code) {
  return nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream, error_code) == 0 && flush();
}

bool H2Client::send_body_chunk(int32_t stream, const std::string& data, bool end) {
  auto it = streams_.find(stream);
  if (it == streams_.end() || it->second->upload_end) return false;
  it->second->upload += data;
  it->second->upload_end = end;
  nghttp2_session_resume_data(session_, stream);  // an error only when it was not deferred
  return flush();
}

bool H2Client::consume(int32_t stream, size_t bytes) {
  int rv = nghttp2_session_consume(session_, stream, bytes);
  if (rv != 0) rv = nghttp2_session_consume_connection(session_, bytes);  // the stream closed
  return rv == 0 && flush();
}

bool H2Client::ping(Ms timeout) {
  const int before = pings_acked_;
  if (nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr) != 0) return false;
  return run_until([&] { return pings_acked_ > before; }, timeout);
}

bool H2Client::submit_settings(const std::vector<nghttp2_settings_entry>& entries) {
  return nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries.data(), entries.size()) ==
             0 &&
         flush();
}

bool H2Client::send_raw(const std::string& bytes) {
  // After nghttp2's pending bytes: a TLS write that would block is retried with the same buffer.
  if (!run_until([this] { return out_.empty(); }, options_.timeout)) return false;
  out_ = bytes;
  return run_until([this] { return out_.empty(); }, options_.timeout);
}

bool H2Client::wait_goaway(Ms timeout) {
  return run_until([this] { return goaway_received(); }, timeout);
}

bool H2Client::wait_closed(Ms timeout) {
  return run_until([this] { return closed(); }, timeout);
}

bool H2Client::closed() const {
  return eof_ || !error_.empty() ||
         (out_.empty() && !nghttp2_session_want_read(session_) &&
          !nghttp2_session_want_write(session_));
}

uint32_t H2Client::peer_setting(nghttp2_settings_id id) const {
  return nghttp2_session_get_remote_settings(session_, id);
}

void H2Client::fail(const std::string& what) {
  if (error_.empty()) error_ = what;
}

bool H2Client::run_until(const std::function<bool()>& condition, Ms timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    flush();
    if (condition()) return true;
    if (closed() || Clock::now() >= deadline) return condition();
    step(deadline);
  }
}

bool H2Client::step(Clock::time_point deadline) {
  if (read_ready() > 0) return true;
  if (closed()) return false;
  auto left = std::chrono::ceil<Ms>(deadline - Clock::now());
  if (left.count() <= 0) return true;
  pollfd p{socket_->handle(), static_cast<short>(read_wait_ | (out_.empty() ? 0 : write_wait_)), 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) > 0 && (p.revents & ~write_wait_)) read_ready();
  return !closed();
}

bool H2Client::flush() {
  if (!error_.empty() || eof_) return false;
  for (;;) {
    if (out_.empty()) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        fail(std::string("nghttp2_session_mem_send: ") + nghttp2_strerror(static_cast<int>(n)));
        return false;
      }
      if (n == 0) return true;
      out_.assign(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    while (!out_.empty()) {
      Socket::Io io = socket_->write(out_.data(), out_.size());
      if (io.n > 0) {
        out_.erase(0, static_cast<size_t>(io.n));
      } else if (io.wait) {
        write_wait_ = io.wait;
        return true;
      } else {
        fail(std::string("write: ") + std::strerror(errno));
        return false;
      }
    }
  }
}

size_t H2Client::read_ready() {
  size_t total = 0;
  char buf[16384];
  // A bound, so a peer that keeps sending cannot keep the caller from checking its condition.
  while (total < (1u << 20) && error_.empty() && !eof_) {
    Socket::Io io = socket_->read(buf, sizeof buf);
    if (io.n > 0) {
      total += static_cast<size_t>(io.n);
      ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(buf),
                                            static_cast<size_t>(io.n));
      if (rv < 0)
        fail(std::string("nghttp2_session_mem_recv: ") + nghttp2_strerror(static_cast<int>(rv)));
    } else if (io.n < 0 && io.wait) {
      read_wait_ = io.wait;
      break;
    } else {
      eof_ = true;  // the peer closed, or a read error (a reset)
    }
  }
  return total;
}

}  // namespace sitehost::test
