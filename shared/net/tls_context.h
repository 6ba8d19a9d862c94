// One site's TLS server settings turned into an OpenSSL SSL_CTX: certificate chain and key from
// PEM files, TLS 1.2+ (or 1.3 only), modern AEAD ciphers with server preference, session tickets,
// ALPN "h2" (when the site's http2 is on) and "http/1.1", optional client certificates.
// Independent of sockets: see tls_session.h for one connection and tls_sni.h for several sites
// on one port. docs/tls.md describes the behaviour.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shared/config/config.h"

namespace sitehost {

// RAII owners for the OpenSSL objects used by the TLS code.
struct SslCtxFree {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
struct SslFree {
  void operator()(SSL* p) const { SSL_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct EvpPkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

// The TLS keys of one site (paths absolute, as SiteConfig stores them).
struct TlsSettings {
  std::string site;                   // the site's name: context labels and session separation
  std::filesystem::path certificate;  // PEM: the leaf first, then the chain sent to clients
  std::filesystem::path private_key;  // PEM, unencrypted
  TlsVersion min_version = TlsVersion::kTls12;
  ClientCertificate client_certificate = ClientCertificate::kOff;
  std::filesystem::path
      client_ca_file;  // PEM CA certificates; unused when client_certificate is off
  std::filesystem::path ocsp_response;  // DER OCSP response to staple; empty: none
  // ALPN offers "h2" (preferred) and "http/1.1"; false: "http/1.1" only. tls_settings() copies
  // SiteConfig::http2; a bare TlsSettings stays HTTP/1.1 only.
  bool http2 = false;
  bool operator==(const TlsSettings&) const = default;
};

// A site's TLS keys as TlsSettings.
TlsSettings tls_settings(const SiteConfig& site);

// Which file a context error is about (config errors are reported at that key's line).
enum class TlsFile { kNone, kCertificate, kPrivateKey, kClientCa, kOcspResponse };

class TlsContext {
 public:
  // Exactly one of `context` and `error` is set. `error` names the file and the reason, e.g.
  // "/etc/tls/a.pem: no certificate found" or
  // "/etc/tls/a.key: key does not match certificate /etc/tls/a.pem".
  struct Result {
    std::shared_ptr<const TlsContext> context;
    std::string error;
    TlsFile file = TlsFile::kNone;
  };

  // Reads the files and builds the SSL_CTX.
  static Result create(const TlsSettings& settings);

  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // The OpenSSL context (sessions take their own reference, so they may outlive this object).
  SSL_CTX* native() const { return ctx_.get(); }
  const TlsSettings& settings() const { return settings_; }

  // The certificate's host names: its DNS subjectAltNames, or its subject CN when it has none;
  // lower case, possibly wildcards ("*.example.com").
  const std::vector<std::string>& names() const { return names_; }

  // Whether the certificate is valid for `host` (a lower-case name without trailing dot): an exact
  // name, or a wildcard matching exactly one leading label.
  bool covers(std::string_view host) const;

 private:
  TlsContext() = default;

  SslCtxPtr ctx_;
  TlsSettings settings_;
  std::vector<std::string> names_;
};

// Whether certificate name `pattern` ("a.b.c" or "*.b.c") matches `host`; both lower case.
bool tls_name_matches(std::string_view pattern, std::string_view host);

}  // namespace sitehost
