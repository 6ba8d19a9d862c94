#include "shared/net/tls_context.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <system_error>
#include <utility>

#include "shared/net/tls_ocsp.h"
#include "shared/net/tls_session.h"

namespace sitehost {
namespace {

namespace fs = std::filesystem;

// Mozilla's "intermediate" TLS 1.2 list: ECDHE key exchange with AEAD ciphers only. TLS 1.3 uses
// OpenSSL's default suites (AES-GCM and ChaCha20-Poly1305, all AEAD).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kGroups = "X25519:P-256:P-384";
constexpr size_t kMaxPemFile = 1 << 20;

struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};
struct X509NameStackFree {
  void operator()(STACK_OF(X509_NAME) * p) const { sk_X509_NAME_pop_free(p, X509_NAME_free); }
};

// The reason of the oldest queued OpenSSL error ("no start line"), and clears the queue.
std::string openssl_reason(std::string_view fallback) {
  unsigned long e = ERR_peek_error();
  std::string reason;
  if (e == 0) {
    reason = std::string(fallback);
  } else if (const char* text = ERR_reason_error_string(e)) {
    reason = text;
  } else {
    reason = fmt::format("OpenSSL error {:#x}", e);
  }
  ERR_clear_error();
  return reason;
}

// Whether `pem` has a "-----BEGIN ...<label>-----" line, e.g. label "PRIVATE KEY" also finds
// "EC PRIVATE KEY" and "ENCRYPTED PRIVATE KEY".
bool has_pem_block(std::string_view pem, std::string_view label) {
  for (size_t at = pem.find("-----BEGIN "); at != std::string_view::npos;
       at = pem.find("-----BEGIN ", at + 1)) {
    size_t end = pem.find("-----", at + 11);
    if (end == std::string_view::npos) return false;
    if (pem.substr(at + 11, end - at - 11).ends_with(label)) return true;
  }
  return false;
}

bool no_start_line() {
  unsigned long e = ERR_peek_last_error();
  return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

bool read_pem_file(const fs::path& file, std::string& out, std::string& error) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!f) {
    error = fmt::format("{}: cannot read: {}", file.string(),
                        std::error_code(errno, std::generic_category()).message());
    return false;
  }
  char buffer[16 * 1024];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f.get())) > 0) {
    out.append(buffer, n);
    if (out.size() > kMaxPemFile) {
      error = fmt::format("{}: larger than 1 MiB; not a PEM file", file.string());
      return false;
    }
  }
  if (std::ferror(f.get())) {
    error = fmt::format("{}: cannot read: {}", file.string(),
                        std::error_code(errno, std::generic_category()).message());
    return false;
  }
  return true;
}

BioPtr memory_bio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// A password callback that refuses: encrypted keys are an error, never a prompt on the terminal.
int no_password(char*, int, int, void*) {
  return -1;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::vector<std::string> certificate_names(X509* cert) {
  std::vector<std::string> names;
  std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> alt(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (alt) {
    for (int i = 0; i < sk_GENERAL_NAME_num(alt.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(alt.get(), i);
      if (name->type != GEN_DNS) continue;
      const ASN1_STRING* s = name->d.dNSName;
      names.push_back(
          lower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                 static_cast<size_t>(ASN1_STRING_length(s)))));
    }
  }
  if (names.empty()) {
    X509_NAME* subject = X509_get_subject_name(cert);
    int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (at >= 0) {
      const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
      names.push_back(
          lower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                 static_cast<size_t>(ASN1_STRING_length(s)))));
    }
  }
  return names;
}

// The client's ALPN list (`in`, wire format) offers `proto`: sets `out` to it there.
bool client_offers(std::string_view proto, const unsigned char* in, unsigned in_len,
                   const unsigned char** out, unsigned char* out_len) {
  for (unsigned i = 0; i < in_len;) {
    unsigned len = in[i];
    if (i + 1 + len > in_len) break;
    if (len == proto.size() && std::equal(proto.begin(), proto.end(), in + i + 1)) {
      *out = in + i + 1;
      *out_len = static_cast<unsigned char>(len);
      return true;
    }
    i += 1 + len;
  }
  return false;
}

// The server's choice, in its order of preference: "h2" (when the site's http2 is on), then
// "http/1.1"; when the client offers neither the handshake goes on without ALPN. OpenSSL calls the
// callback of the SSL_CTX the SNI callback switched to, so each site's setting applies.
template <bool kOfferH2>
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                unsigned in_len, void*) {
  if (kOfferH2 && client_offers("h2", in, in_len, out, out_len)) return SSL_TLSEXT_ERR_OK;
  if (client_offers("http/1.1", in, in_len, out, out_len)) return SSL_TLSEXT_ERR_OK;
  return SSL_TLSEXT_ERR_NOACK;
}

class Builder {
 public:
  explicit Builder(const TlsSettings& s) : s_(s) {}

  TlsContext::Result fail(TlsFile file, std::string message) {
    ERR_clear_error();
    return {nullptr, std::move(message), file};
  }

  // The leaf and its chain. Sets `leaf` (the context holds its own references).
  bool load_certificate(SSL_CTX* ctx, std::string& error) {
    const std::string name = s_.certificate.string();
    std::string pem;
    if (!read_pem_file(s_.certificate, pem, error)) return false;
    if (!has_pem_block(pem, "CERTIFICATE")) {
      error = fmt::format("{}: no certificate found", name);
      return false;
    }
    BioPtr bio = memory_bio(pem);
    leaf_.reset(PEM_read_bio_X509_AUX(bio.get(), nullptr, no_password, nullptr));
    if (!leaf_) {
      error = no_start_line() ? fmt::format("{}: no certificate found", name)
                              : fmt::format("{}: cannot parse the certificate: {}", name,
                                            openssl_reason("unknown error"));
      return false;
    }
    if (SSL_CTX_use_certificate(ctx, leaf_.get()) != 1) {
      error =
          fmt::format("{}: cannot use the certificate: {}", name, openssl_reason("unknown error"));
      return false;
    }
    for (int index = 2;; ++index) {
      X509Ptr extra(PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr));
      if (!extra) {
        if (no_start_line()) break;  // the end of the file
        error = fmt::format("{}: cannot parse certificate {} of the chain: {}", name, index,
                            openssl_reason("unknown error"));
        return false;
      }
      if (SSL_CTX_add1_chain_cert(ctx, extra.get()) != 1) {
        error = fmt::format("{}: cannot use certificate {} of the chain: {}", name, index,
                            openssl_reason("unknown error"));
        return false;
      }
    }
    ERR_clear_error();
    return true;
  }

  bool load_key(SSL_CTX* ctx, std::string& error) {
    const std::string name = s_.private_key.string();
    std::string pem;
    if (!read_pem_file(s_.private_key, pem, error)) return false;
    if (!has_pem_block(pem, "PRIVATE KEY")) {
      error = fmt::format("{}: no private key found", name);
      return false;
    }
    if (pem.find("ENCRYPTED") != std::string::npos) {
      error =
          fmt::format("{}: the private key is encrypted; sitehost needs an unencrypted key", name);
      return false;
    }
    BioPtr bio = memory_bio(pem);
    EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
    if (!key) {
      error = no_start_line() ? fmt::format("{}: no private key found", name)
                              : fmt::format("{}: cannot parse the private key: {}", name,
                                            openssl_reason("unknown error"));
      return false;
    }
    ERR_clear_error();
    if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
      ERR_clear_error();
      error = fmt::format("{}: key does not match certificate {}", name, s_.certificate.string());
      return false;
    }
    return true;
  }

  bool load_client_ca(SSL_CTX* ctx, std::string& error) {
    const std::string name = s_.client_ca_file.string();
    std::string pem;
    if (!read_pem_file(s_.client_ca_file, pem, error)) return false;
    if (!has_pem_block(pem, "CERTIFICATE")) {
      error = fmt::format("{}: no certificate found", name);
      return false;
    }
    BioPtr bio = memory_bio(pem);
    std::unique_ptr<STACK_OF(X509_NAME), X509NameStackFree> ca_names(sk_X509_NAME_new_null());
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    int count = 0;
    for (;; ++count) {
      X509Ptr ca(PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr));
      if (!ca) {
        if (no_start_line()) break;
        error = fmt::format("{}: cannot parse CA certificate {}: {}", name, count + 1,
                            openssl_reason("unknown error"));
        return false;
      }
      if (X509_STORE_add_cert(store, ca.get()) != 1) {
        error = fmt::format("{}: cannot use CA certificate {}: {}", name, count + 1,
                            openssl_reason("unknown error"));
        return false;
      }
      X509_NAME* subject = X509_NAME_dup(X509_get_subject_name(ca.get()));
      if (subject == nullptr || sk_X509_NAME_push(ca_names.get(), subject) <= 0) {
        X509_NAME_free(subject);
        error = fmt::format("{}: out of memory", name);
        return false;
      }
    }
    ERR_clear_error();
    if (count == 0) {
      error = fmt::format("{}: no certificate found", name);
      return false;
    }
    // The CA names go into the CertificateRequest so clients pick a matching certificate.
    SSL_CTX_set_client_CA_list(ctx, ca_names.release());
    return true;
  }

  // A session id context unique to this site and its settings: sessions (and tickets) of one
  // site never resume on another site of the same port.
  bool set_session_context(SSL_CTX* ctx) {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    if (md == nullptr) return false;
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> owner(md, EVP_MD_CTX_free);
    unsigned char* der = nullptr;
    int der_len = i2d_X509(leaf_.get(), &der);
    if (der_len <= 0) return false;
    std::unique_ptr<unsigned char, void (*)(unsigned char*)> der_owner(
        der, [](unsigned char* p) { OPENSSL_free(p); });
    const std::string tail =
        fmt::format("\n{}\n{}\n{}\n{}", s_.site, to_string(s_.min_version),
                    to_string(s_.client_certificate), s_.client_ca_file.string());
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned digest_len = 0;
    if (EVP_DigestInit_ex(md, EVP_sha256(), nullptr) != 1 ||
        EVP_DigestUpdate(md, der, static_cast<size_t>(der_len)) != 1 ||
        EVP_DigestUpdate(md, tail.data(), tail.size()) != 1 ||
        EVP_DigestFinal_ex(md, digest, &digest_len) != 1) {
      return false;
    }
    unsigned len = std::min<unsigned>(digest_len, SSL_MAX_SID_CTX_LENGTH);
    return SSL_CTX_set_session_id_context(ctx, digest, len) == 1;
  }

  X509* leaf() const { return leaf_.get(); }

 private:
  const TlsSettings& s_;
  X509Ptr leaf_;
};

}  // namespace

TlsSettings tls_settings(const SiteConfig& site) {
  TlsSettings s;
  s.site = site.name;
  s.certificate = site.certificate;
  s.private_key = site.private_key;
  s.min_version = site.min_tls_version;
  s.client_certificate = site.client_certificate;
  if (site.client_certificate != ClientCertificate::kOff) s.client_ca_file = site.client_ca_file;
  s.ocsp_response = site.ocsp_response;
  s.http2 = site.http2;
  return s;
}

bool tls_name_matches(std::string_view pattern, std::string_view host) {
  if (pattern == host) return !host.empty();
  if (!pattern.starts_with("*.") || pattern.size() < 3) return false;
  size_t dot = host.find('.');
  return dot != 0 && dot != std::string_view::npos && host.substr(dot) == pattern.substr(1);
}

bool TlsContext::covers(std::string_view host) const {
  for (const std::string& name : names_) {
    if (tls_name_matches(name, host)) return true;
  }
  return false;
}

TlsContext::Result TlsContext::create(const TlsSettings& settings) {
  ERR_clear_error();
  Builder b(settings);
  auto self = std::shared_ptr<TlsContext>(new TlsContext());
  self->settings_ = settings;
  self->ctx_.reset(SSL_CTX_new(TLS_server_method()));
  SSL_CTX* ctx = self->ctx_.get();
  if (ctx == nullptr) {
    return b.fail(TlsFile::kNone,
                  fmt::format("cannot create a TLS context: {}", openssl_reason("unknown error")));
  }

  std::string error;
  if (!b.load_certificate(ctx, error)) return b.fail(TlsFile::kCertificate, std::move(error));
  if (!b.load_key(ctx, error)) return b.fail(TlsFile::kPrivateKey, std::move(error));
  if (!settings.ocsp_response.empty() &&
      !install_ocsp_staple(ctx, b.leaf(), settings.ocsp_response, error))
    return b.fail(TlsFile::kOcspResponse, std::move(error));
  if (settings.client_certificate != ClientCertificate::kOff) {
    if (!b.load_client_ca(ctx, error)) return b.fail(TlsFile::kClientCa, std::move(error));
    int mode = SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE;
    if (settings.client_certificate == ClientCertificate::kRequired) {
      mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    SSL_CTX_set_verify(ctx, mode, nullptr);
  }

  int min_version = settings.min_version == TlsVersion::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
  bool ok = SSL_CTX_set_min_proto_version(ctx, min_version) == 1 &&
            SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) == 1 &&
            SSL_CTX_set1_groups_list(ctx, kGroups) == 1 && b.set_session_context(ctx);
  if (!ok) {
    return b.fail(TlsFile::kNone, fmt::format("cannot configure the TLS context: {}",
                                              openssl_reason("unknown error")));
  }
  SSL_CTX_set_options(
      ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
  // Resumption is by stateless tickets only: no per-context session cache to grow.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_alpn_select_cb(ctx, settings.http2 ? select_alpn<true> : select_alpn<false>, nullptr);
  TlsSession::install_callbacks(ctx);
  self->names_ = certificate_names(b.leaf());
  ERR_clear_error();
  return {std::move(self), {}, TlsFile::kNone};
}

}  // namespace sitehost
