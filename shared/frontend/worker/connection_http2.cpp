// Connection: choosing HTTP/2 (ALPN "h2" after the TLS handshake, or the h2c connection preface
// on a plain address where a site enables h2c) and running the session over the transport.
#include <cstring>

#include "shared/frontend/worker/connection.h"
#include "shared/frontend/worker/http2/http2_session.h"
#include "shared/frontend/worker/worker.h"

namespace sitehost {

namespace {
constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";  // RFC 9113 §3.4
}  // namespace

Connection::Protocol Connection::choose_protocol() const {
  if (tls_) {
    const TlsSession& tls = tls_->session;
    if (!tls.handshake_done()) return Protocol::kHttp1;  // nothing to parse yet either way
    return tls.alpn() == "h2" ? Protocol::kHttp2 : Protocol::kHttp1;
  }
  if (len_ == 0 || !worker_.router().h2c_allowed(local_port_, &local_.sa)) return Protocol::kHttp1;
  const size_t n = std::min<size_t>(len_, kPreface.size());
  if (std::memcmp(buf_.get(), kPreface.data(), n) != 0) return Protocol::kHttp1;
  return n == kPreface.size() ? Protocol::kHttp2 : Protocol::kUndecided;
}

void Connection::process_http2() {
  if (!h2_) {
    fresh_ = false;
    h2_ = std::make_unique<Http2Session>(*this, worker_);
    if (!h2_->start()) {
      worker_.log().warn("http2: could not start a session");
      begin_close();
      return;
    }
    worker_.counters().http2_connections[tls_ ? kHttp2Tls : kHttp2Cleartext].add();
  }
  for (;;) {
    if (len_ > parsed_) {
      const bool ok = h2_->receive(buf_.get() + parsed_, len_ - parsed_);
      parsed_ = len_ = 0;
      if (!ok || handle_closed_) break;
    }
    // TLS may hold more plaintext than the buffer took.
    if (!tls_ || !tls_->session.has_buffered_input() || !h2_->wants_input()) break;
    if (!pump_tls_input()) return;
    if (len_ == 0) break;
  }
  if (len_ == 0 && buf_) release_buffer();
  after_http2();
}

void Connection::after_http2() {
  if (handle_closed_ || lingering_) return;
  h2_->flush();
  if (handle_closed_) return;
  if (h2_->finished()) {
    close_after_response();  // the last frames (a GOAWAY) are written before the FIN
    return;
  }
  update_deadline();
  update_reading();
}

void Connection::update_deadline(bool progress) {
  if (!h2_ || handle_closed_ || lingering_) return;
  const int kind = h2_->deadline_kind();
  if (kind < 0)
    disarm_deadline();
  else if (kind != timer_kind_ || (progress && kind == kSendDeadline))
    arm_deadline(kind);
}

void Connection::defer() {
  worker_.defer(this);
}

void Connection::write_frames(std::string& bytes) {
  auto req = worker_.take_write();
  if (tls_) {
    const std::string_view piece = bytes;
    if (!tls_->session.write_plain(std::span<const std::string_view>(&piece, 1))) {
      worker_.return_write(std::move(req));
      bytes.clear();
      on_peer_gone();
      return;
    }
    tls_->session.take_ciphertext(req->cipher);
    bytes.clear();
  } else {
    req->cipher.swap(bytes);  // the frames become the write's buffer; no copy
    bytes.clear();
  }
  uv_buf_t buf = uv_buf_init(req->cipher.data(), static_cast<unsigned>(req->cipher.size()));
  send(std::move(req), &buf, 1);
}

std::string_view Connection::client_certificate() {
  if (!tls_) return {};
  if (!tls_->peer_certificate_read) {
    tls_->peer_certificate = tls_->session.peer_certificate_der();
    tls_->peer_certificate_read = true;
  }
  return tls_->peer_certificate;
}

}  // namespace sitehost
