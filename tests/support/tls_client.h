// TLS for the integration tests: a Client that speaks TLS (OpenSSL over the same non-blocking
// socket, the same deadline on every operation), and self-signed certificates made with the
// openssl CLI.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/harness.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace sitehost::test {

// A Client over TLS: connects, sends `sni`, offers the protocols `alpn` (http/1.1 by default;
// H2Client offers h2) and accepts any certificate (tests check the subject with peer_subject()
// where it matters). connected() is false when the TCP connection or the handshake failed within
// the timeout.
class TlsClient : public Client {
 public:
  explicit TlsClient(uint16_t port, const std::string& sni = "localhost", Ms timeout = 5s,
                     const std::vector<std::string>& alpn = {"http/1.1"});
  ~TlsClient() override;

  // The subject of the certificate the server presented, e.g. "/CN=localhost".
  std::string peer_subject() const;
  // The protocol the server selected by ALPN ("h2", "http/1.1"); empty when it selected none.
  std::string alpn_selected() const;

 protected:
  Io read_some(char* buf, size_t len) override;
  Io write_some(const char* buf, size_t len) override;
  void close_write() override;

 private:
  Io result(int r);  // an SSL_* return value as an I/O step
  struct Free {
    void operator()(SSL_CTX* c) const;
    void operator()(SSL* s) const;
  };
  std::unique_ptr<SSL_CTX, Free> ctx_;
  std::unique_ptr<SSL, Free> ssl_;
};

// A self-signed ECDSA P-256 certificate (its own CA) for `host` (CN and subjectAltName DNS),
// written as <name>.pem and <name>.key into `dir`. nullopt with `error` set when openssl failed.
struct CertificateFiles {
  std::filesystem::path certificate;
  std::filesystem::path private_key;
};
std::optional<CertificateFiles> make_self_signed_certificate(const std::filesystem::path& dir,
                                                             const std::string& name,
                                                             const std::string& host,
                                                             std::string* error = nullptr);

// Base64 (RFC 4648, padded) of `bytes`.
std::string base64(const std::string& bytes);

}  // namespace sitehost::test
