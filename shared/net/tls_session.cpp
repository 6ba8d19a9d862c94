#include "shared/net/tls_session.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>
#include <utility>

namespace sitehost {
namespace {

// The plaintext of one full TLS record.
constexpr size_t kRecord = 16 * 1024;

// The host_name entry of a ClientHello's server_name extension (RFC 6066 section 3). False when
// the extension is malformed; `name` stays empty when it holds no host_name.
bool parse_server_name(const unsigned char* ext, size_t len, std::string_view& name) {
  if (len < 2) return false;
  size_t list = (size_t{ext[0]} << 8) | ext[1];
  if (list != len - 2 || list == 0) return false;
  for (size_t i = 2; i < len;) {
    if (len - i < 3) return false;
    unsigned type = ext[i];
    size_t size = (size_t{ext[i + 1]} << 8) | ext[i + 2];
    i += 3;
    if (len - i < size) return false;
    if (type == TLSEXT_NAMETYPE_host_name) {
      name = std::string_view(reinterpret_cast<const char*>(ext + i), size);
      return true;
    }
    i += size;
  }
  return true;
}

}  // namespace

void TlsSession::install_callbacks(SSL_CTX* ctx) {
  SSL_CTX_set_client_hello_cb(ctx, &TlsSession::on_client_hello, nullptr);
  SSL_CTX_set_tlsext_servername_callback(ctx, &TlsSession::on_server_name);
}

TlsSession::TlsSession(std::shared_ptr<const TlsListenerContext> listener)
    : listener_(std::move(listener)), context_(&listener_->default_context()) {
  ERR_clear_error();
  ssl_.reset(SSL_new(context_->native()));
  BioPtr rbio(BIO_new(BIO_s_mem()));
  BioPtr wbio(BIO_new(BIO_s_mem()));
  if (!ssl_ || !rbio || !wbio) {
    fail(SSL_ERROR_SSL, "setup");
    return;
  }
  BIO_set_mem_eof_return(rbio.get(), -1);  // empty = "retry later", not end of stream
  BIO_set_mem_eof_return(wbio.get(), -1);
  rbio_ = rbio.release();
  wbio_ = wbio.release();
  SSL_set_bio(ssl_.get(), rbio_, wbio_);
  SSL_set_app_data(ssl_.get(), this);
  SSL_set_accept_state(ssl_.get());
}

TlsSession::~TlsSession() {
  if (ssl_) SSL_set_app_data(ssl_.get(), nullptr);
}

// Runs while the ClientHello is processed, before version negotiation and session resumption:
// switches to the site context SNI names and applies the settings SSL_set_SSL_CTX does not copy.
int TlsSession::on_client_hello(SSL* ssl, int* alert, void*) {
  auto* self = static_cast<TlsSession*>(SSL_get_app_data(ssl));
  if (self == nullptr) return SSL_CLIENT_HELLO_SUCCESS;
  std::string_view name;
  const unsigned char* ext = nullptr;
  size_t ext_len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &ext_len) == 1 &&
      !parse_server_name(ext, ext_len, name)) {
    *alert = SSL_AD_DECODE_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  if (name.ends_with('.')) name.remove_suffix(1);
  self->sni_len_ = 0;
  if (name.size() < self->sni_.size() && name.find('\0') == std::string_view::npos) {
    for (char c : name) {
      self->sni_[self->sni_len_++] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
  }
  const TlsContext& chosen = self->listener_->select(self->server_name(), &self->sni_matched_);
  SSL_CTX* ctx = chosen.native();
  if (SSL_set_SSL_CTX(ssl, ctx) != ctx) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  self->context_ = &chosen;
  SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx), SSL_CTX_get_verify_callback(ctx));
  SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(ctx));
  if (SSL_set_min_proto_version(ssl, SSL_CTX_get_min_proto_version(ctx)) != 1 ||
      SSL_set_max_proto_version(ssl, SSL_CTX_get_max_proto_version(ctx)) != 1) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

// Acknowledges the server name when it chose a context (selection itself happened earlier).
int TlsSession::on_server_name(SSL* ssl, int*, void*) {
  auto* self = static_cast<TlsSession*>(SSL_get_app_data(ssl));
  return self != nullptr && self->sni_matched_ ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK;
}

bool TlsSession::feed(std::string_view ciphertext) {
  if (failed_) return false;
  while (!ciphertext.empty()) {
    int chunk = static_cast<int>(std::min<size_t>(ciphertext.size(), INT_MAX));
    int n = BIO_write(rbio_, ciphertext.data(), chunk);
    if (n <= 0) {
      fail(SSL_ERROR_SSL, "buffer");
      return false;
    }
    ciphertext.remove_prefix(static_cast<size_t>(n));
  }
  if (!handshake_done_) drive_handshake();
  return !failed_;
}

bool TlsSession::drive_handshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    handshake_done_ = true;
  } else {
    int e = SSL_get_error(ssl_.get(), r);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) fail(e, "handshake");
  }
  drain_output();
  return handshake_done_;
}

size_t TlsSession::read_plain(char* out, size_t size) {
  if (failed_ || peer_closed_ || size == 0) return 0;
  if (!handshake_done_ && !drive_handshake()) return 0;
  ERR_clear_error();
  size_t n = 0;
  int r = SSL_read_ex(ssl_.get(), out, size, &n);
  if (r != 1) {
    n = 0;
    int e = SSL_get_error(ssl_.get(), r);
    if (e == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
    } else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
      fail(e, "read");
    }
  }
  drain_output();  // e.g. an alert
  return n;
}

bool TlsSession::write_plain(std::span<const std::string_view> bufs) {
  if (!handshake_done_ || failed_ || shutdown_sent_) return false;
  for (std::string_view data : bufs) {
    while (!data.empty()) {
      if (scratch_.empty() && data.size() >= kRecord) {
        if (!encrypt(data.data(), kRecord)) return false;
        data.remove_prefix(kRecord);
        continue;
      }
      if (scratch_.capacity() < kRecord) scratch_.reserve(kRecord);
      size_t take = std::min(data.size(), kRecord - scratch_.size());
      scratch_.append(data.data(), take);
      data.remove_prefix(take);
      if (scratch_.size() == kRecord) {
        bool ok = encrypt(scratch_.data(), scratch_.size());
        scratch_.clear();
        if (!ok) return false;
      }
    }
  }
  if (!scratch_.empty()) {
    bool ok = encrypt(scratch_.data(), scratch_.size());
    scratch_.clear();
    if (!ok) return false;
  }
  return true;
}

// One SSL_write of at most a record; its output moves to out_ at once so the write BIO stays
// about one record large.
bool TlsSession::encrypt(const char* data, size_t size) {
  ERR_clear_error();
  size_t written = 0;
  int r = SSL_write_ex(ssl_.get(), data, size, &written);
  if (r != 1 || written != size) fail(SSL_get_error(ssl_.get(), r), "write");
  drain_output();
  return !failed_;
}

void TlsSession::shutdown() {
  if (shutdown_sent_) return;
  shutdown_sent_ = true;
  if (failed_ || !handshake_done_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_.get());  // queues close_notify; we do not wait for the peer's
  ERR_clear_error();
  drain_output();
}

void TlsSession::drain_output() {
  if (wbio_ == nullptr) return;
  for (size_t pending = BIO_ctrl_pending(wbio_); pending > 0; pending = BIO_ctrl_pending(wbio_)) {
    size_t old = out_.size();
    int chunk = static_cast<int>(std::min<size_t>(pending, INT_MAX));
    out_.resize(old + static_cast<size_t>(chunk));
    int n = BIO_read(wbio_, out_.data() + old, chunk);
    out_.resize(old + static_cast<size_t>(std::max(n, 0)));
    if (n <= 0) break;
  }
}

void TlsSession::take_ciphertext(std::string& out) {
  out.clear();
  out.swap(out_);
}

void TlsSession::release_buffers() {
  if (failed_ || !ssl_ || !out_.empty() || BIO_ctrl_pending(rbio_) != 0 ||
      BIO_ctrl_pending(wbio_) != 0 || SSL_has_pending(ssl_.get()) == 1) {
    return;
  }
  BioPtr rbio(BIO_new(BIO_s_mem()));
  BioPtr wbio(BIO_new(BIO_s_mem()));
  if (rbio && wbio) {
    BIO_set_mem_eof_return(rbio.get(), -1);
    BIO_set_mem_eof_return(wbio.get(), -1);
    rbio_ = rbio.release();
    wbio_ = wbio.release();
    SSL_set_bio(ssl_.get(), rbio_, wbio_);  // frees the old pair
  }
  SSL_free_buffers(ssl_.get());
  out_ = std::string();
  scratch_ = std::string();
  ERR_clear_error();
}

void TlsSession::fail(int ssl_error, std::string_view during) {
  failed_ = true;
  unsigned long e = ERR_peek_error();
  if (e != 0) {
    const char* reason = ERR_reason_error_string(e);
    error_ = reason != nullptr ? reason : fmt::format("OpenSSL error {:#x}", e);
    if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED &&
        ssl_) {
      long verify = SSL_get_verify_result(ssl_.get());
      if (verify != X509_V_OK) {
        error_ += fmt::format(" ({})", X509_verify_cert_error_string(verify));
      }
    }
  } else if (!ssl_) {
    error_ = "out of memory";
  } else {
    error_ = fmt::format("{} failed (SSL error {})", during, ssl_error);
  }
  ERR_clear_error();
}

bool TlsSession::has_buffered_input() const {
  if (failed_ || !ssl_) return false;
  return BIO_ctrl_pending(rbio_) > 0 || SSL_has_pending(ssl_.get()) == 1;
}

std::string_view TlsSession::alpn() const {
  if (!ssl_) return {};
  const unsigned char* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &data, &len);
  return data == nullptr ? std::string_view()
                         : std::string_view(reinterpret_cast<const char*>(data), len);
}

std::string_view TlsSession::server_name() const {
  return std::string_view(sni_.data(), sni_len_);
}

const char* TlsSession::version() const {
  return ssl_ ? SSL_get_version(ssl_.get()) : "";
}

const char* TlsSession::cipher() const {
  return ssl_ ? SSL_get_cipher_name(ssl_.get()) : "";
}

bool TlsSession::resumed() const {
  return ssl_ && SSL_session_reused(ssl_.get()) == 1;
}

bool TlsSession::has_peer_certificate() const {
  return ssl_ && SSL_get0_peer_certificate(ssl_.get()) != nullptr;
}

std::string TlsSession::peer_certificate_der() const {
  X509* cert = ssl_ ? SSL_get0_peer_certificate(ssl_.get()) : nullptr;
  if (cert == nullptr) return {};
  int len = i2d_X509(cert, nullptr);
  if (len <= 0) return {};
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509(cert, &p);
  return der;
}

std::string TlsSession::peer_certificate_base64() const {
  std::string der = peer_certificate_der();
  if (der.empty()) return {};
  std::string out(4 * ((der.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(der.data()),
                          static_cast<int>(der.size()));
  out.resize(static_cast<size_t>(std::max(n, 0)));
  return out;
}

}  // namespace sitehost
