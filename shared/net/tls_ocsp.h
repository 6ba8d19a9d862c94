// OCSP stapling from a file: a DER OCSP response fetched by the operator (e.g. with
// `openssl ocsp ... -respout`), checked when the config is read and sent to clients that ask for
// certificate status. Like nginx's ssl_stapling_file: sitehost itself never contacts a responder.
#pragma once

#include <openssl/ssl.h>

#include <filesystem>
#include <string>

namespace sitehost {

// Reads `file`, checks that it is a successful OCSP response that says `leaf` (issued by a
// certificate of `ctx`'s chain) is good and not yet out of date, and staples it in every
// handshake of `ctx` whose client asks for it, until its nextUpdate passes. On failure returns
// false with `error` naming the file and the reason.
bool install_ocsp_staple(SSL_CTX* ctx, X509* leaf, const std::filesystem::path& file,
                         std::string& error);

}  // namespace sitehost
