#include "tests/support/tls_client.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>

namespace sitehost::test {

namespace fs = std::filesystem;

void TlsClient::Free::operator()(SSL_CTX* c) const {
  SSL_CTX_free(c);
}
void TlsClient::Free::operator()(SSL* s) const {
  SSL_free(s);
}

TlsClient::TlsClient(uint16_t port, const std::string& sni, Ms timeout,
                     const std::vector<std::string>& alpn)
    : Client(port, timeout) {
  if (!connected()) return;
  ctx_.reset(SSL_CTX_new(TLS_client_method()));
  if (ctx_) {
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_NONE, nullptr);
    // A server that closes without close_notify ends the stream like a plain TCP close.
    SSL_CTX_set_options(ctx_.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx_.get(),
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    ssl_.reset(SSL_new(ctx_.get()));
  }
  if (!ssl_) {
    disconnect();
    return;
  }
  SSL_set_fd(ssl_.get(), fd());
  SSL_set_tlsext_host_name(ssl_.get(), sni.c_str());
  std::string protos;  // the wire format: each name after its length byte
  for (const auto& name : alpn) protos += static_cast<char>(name.size()) + name;
  SSL_set_alpn_protos(ssl_.get(), reinterpret_cast<const unsigned char*>(protos.data()),
                      static_cast<unsigned>(protos.size()));
  auto deadline = std::chrono::steady_clock::now() + this->timeout();
  for (;;) {
    Io io = result(SSL_connect(ssl_.get()));
    if (io.n > 0) return;
    auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
    if (!io.wait || left.count() <= 0) break;
    pollfd p{fd(), io.wait, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
  ssl_.reset();
  disconnect();
}

TlsClient::~TlsClient() {
  ssl_.reset();
}

std::string TlsClient::peer_subject() const {
  if (!ssl_) return {};
  X509* cert = SSL_get1_peer_certificate(ssl_.get());
  if (!cert) return {};
  char line[256];
  X509_NAME_oneline(X509_get_subject_name(cert), line, sizeof line);
  X509_free(cert);
  return line;
}

std::string TlsClient::alpn_selected() const {
  if (!ssl_) return {};
  const unsigned char* name = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &name, &len);
  return name ? std::string(reinterpret_cast<const char*>(name), len) : std::string();
}

Client::Io TlsClient::result(int r) {
  if (r > 0) return {r, 0};
  switch (SSL_get_error(ssl_.get(), r)) {
    case SSL_ERROR_WANT_READ:
      return {-1, POLLIN};
    case SSL_ERROR_WANT_WRITE:
      return {-1, POLLOUT};
    case SSL_ERROR_ZERO_RETURN:
      return {0, 0};
    default:
      return {-1, 0};
  }
}

Client::Io TlsClient::read_some(char* buf, size_t len) {
  if (!ssl_) return {-1, 0};
  ERR_clear_error();
  return result(SSL_read(ssl_.get(), buf, static_cast<int>(len)));
}

Client::Io TlsClient::write_some(const char* buf, size_t len) {
  if (!ssl_) return {-1, 0};
  ERR_clear_error();
  Io io = result(SSL_write(ssl_.get(), buf, static_cast<int>(len)));
  if (io.n == 0) io.n = -1;  // a write never "ends the stream"
  return io;
}

void TlsClient::close_write() {
  if (ssl_) SSL_shutdown(ssl_.get());  // close_notify, then the TCP half-close
  ::shutdown(fd(), SHUT_WR);
}

std::optional<CertificateFiles> make_self_signed_certificate(const fs::path& dir,
                                                             const std::string& name,
                                                             const std::string& host,
                                                             std::string* error) {
  CertificateFiles files{dir / (name + ".pem"), dir / (name + ".key")};
  ProgramResult r = run_program({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                 "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30", "-subj",
                                 "/CN=" + host, "-addext", "subjectAltName=DNS:" + host, "-keyout",
                                 files.private_key.string(), "-out", files.certificate.string()},
                                dir / (name + ".openssl.out"), 30s);
  if (r.exit_code == 0) return files;
  if (error) *error = "openssl req failed (" + std::to_string(r.exit_code) + "): " + r.output;
  return std::nullopt;
}

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace sitehost::test
