#include "shared/net/tls_ocsp.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>

namespace sitehost {
namespace {

constexpr std::streamsize kMaxResponseFile = 1 << 20;

struct OcspResponseFree {
  void operator()(OCSP_RESPONSE* p) const { OCSP_RESPONSE_free(p); }
};
struct OcspBasicFree {
  void operator()(OCSP_BASICRESP* p) const { OCSP_BASICRESP_free(p); }
};
struct OcspCertIdFree {
  void operator()(OCSP_CERTID* p) const { OCSP_CERTID_free(p); }
};

// What a context staples: owned by the SSL_CTX through its ex_data (the context may outlive the
// TlsContext that made it: sessions hold references).
struct Staple {
  std::string der;
  time_t next_update = 0;  // 0: the response has no nextUpdate
};

void free_staple(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  std::unique_ptr<Staple>(static_cast<Staple*>(ptr));  // takes the ownership back, and frees
}

// The ex_data slot for Staple, registered once per process with OpenSSL.
int staple_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_staple);
  return index;
}

// The status_request callback: the client asked for the certificate's status.
int staple(SSL* ssl, void*) {
  const auto* s =
      static_cast<const Staple*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), staple_index()));
  if (s == nullptr || (s->next_update != 0 && std::time(nullptr) > s->next_update))
    return SSL_TLSEXT_ERR_NOACK;  // an out-of-date response would only make clients fail
  void* copy = OPENSSL_memdup(s->der.data(), s->der.size());  // OpenSSL frees it
  if (copy == nullptr) return SSL_TLSEXT_ERR_NOACK;
  SSL_set_tlsext_status_ocsp_resp(ssl, static_cast<unsigned char*>(copy),
                                  static_cast<long>(s->der.size()));
  return SSL_TLSEXT_ERR_OK;
}

// The certificate of `ctx`'s chain that issued `leaf`, or null.
X509* find_issuer(SSL_CTX* ctx, X509* leaf) {
  STACK_OF(X509)* chain = nullptr;
  if (SSL_CTX_get0_chain_certs(ctx, &chain) != 1 || chain == nullptr) return nullptr;
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    X509* candidate = sk_X509_value(chain, i);
    if (X509_check_issued(candidate, leaf) == X509_V_OK) return candidate;
  }
  return nullptr;
}

time_t to_time(const ASN1_GENERALIZEDTIME* t) {
  tm parts{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &parts) != 1) return 0;
  return timegm(&parts);
}

}  // namespace

bool install_ocsp_staple(SSL_CTX* ctx, X509* leaf, const std::filesystem::path& file,
                         std::string& error) {
  const std::string name = file.string();
  auto fail = [&](std::string reason) {
    ERR_clear_error();
    error = fmt::format("{}: {}", name, reason);
    return false;
  };
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail("cannot read the file");
  std::string der;
  der.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (static_cast<std::streamsize>(der.size()) > kMaxResponseFile)
    return fail("larger than 1 MiB; not an OCSP response");

  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<OCSP_RESPONSE, OcspResponseFree> response(
      d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!response) return fail("not a DER OCSP response");
  int status = OCSP_response_status(response.get());
  if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL)
    return fail(fmt::format("the responder answered \"{}\", not a status",
                            OCSP_response_status_str(status)));
  std::unique_ptr<OCSP_BASICRESP, OcspBasicFree> basic(OCSP_response_get1_basic(response.get()));
  if (!basic) return fail("the response has no basic response");

  X509* issuer = find_issuer(ctx, leaf);
  if (issuer == nullptr)
    return fail(
        "stapling needs the certificate's issuer: add it after the certificate in the "
        "certificate file");
  std::unique_ptr<OCSP_CERTID, OcspCertIdFree> id(OCSP_cert_to_id(nullptr, leaf, issuer));
  int cert_status = -1, reason = -1;
  ASN1_GENERALIZEDTIME *revoked_at = nullptr, *this_update = nullptr, *next_update = nullptr;
  if (!id || OCSP_resp_find_status(basic.get(), id.get(), &cert_status, &reason, &revoked_at,
                                   &this_update, &next_update) != 1)
    return fail("the response is about another certificate");
  if (cert_status != V_OCSP_CERTSTATUS_GOOD)
    return fail(
        fmt::format("the response says the certificate is {}", OCSP_cert_status_str(cert_status)));
  if (OCSP_check_validity(this_update, next_update, 300, -1) != 1)
    return fail("the response is out of date (or not yet valid): fetch a new one");

  auto owned = std::make_unique<Staple>(Staple{std::move(der), to_time(next_update)});
  if (SSL_CTX_set_ex_data(ctx, staple_index(), owned.get()) != 1)
    return fail("cannot attach the response to the TLS context");
  owned.release();  // freed by free_staple with the SSL_CTX
  SSL_CTX_set_tlsext_status_cb(ctx, staple);
  ERR_clear_error();
  return true;
}

}  // namespace sitehost
