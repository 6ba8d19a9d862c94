// Several sites on one HTTPS port: the ClientHello's server name (SNI) picks the site's TLS
// context; a client without SNI or with an unknown name gets the port's default (the first site
// bound to it). Everything negotiated after the switch follows the chosen context: the certificate,
// the client-certificate mode, the minimum version and ALPN ("h2" only where that site's http2 is
// on). A listener context is immutable once built; a reload builds a new one and open
// connections keep the one they started with (TlsSession holds a reference).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shared/config/config.h"
#include "shared/net/tls_context.h"

namespace sitehost {

class TlsListenerContext {
 public:
  // `default_context` answers clients without SNI or with a name nothing else matches.
  explicit TlsListenerContext(std::shared_ptr<const TlsContext> default_context);

  // A binding's host name selects `context` (exact, case-insensitive). The first context added
  // for a name keeps it; "*" and IP literals are not names and are ignored.
  void add_host(std::string_view host, std::shared_ptr<const TlsContext> context);

  // The certificate's own names select `context` when no binding host matches: exact names
  // first, then wildcards ("*.example.com" matches "a.example.com", not "a.b.example.com").
  void add_certificate_names(std::shared_ptr<const TlsContext> context);

  // The context for a ClientHello's server name (any case, a trailing dot ignored; "" = none).
  // `matched` (optional) tells whether a name matched, i.e. the default was not a fallback.
  const TlsContext& select(std::string_view server_name, bool* matched = nullptr) const;

  const TlsContext& default_context() const { return *default_; }

  // Every context this listener can select (the default first), e.g. for logging.
  std::vector<const TlsContext*> contexts() const;

 private:
  using Map = std::map<std::string, std::shared_ptr<const TlsContext>, std::less<>>;

  std::shared_ptr<const TlsContext> default_;
  Map hosts_;       // binding host names
  Map cert_names_;  // exact certificate names
  Map wildcards_;   // "*.example.com" stored as ".example.com"
};

// The TLS listener contexts of a whole config: for each port that has https bindings, one
// TlsListenerContext whose default is the first site (in config order) with an https binding on
// that port, whose binding hosts select their site, then certificate names. A site's TlsContext is
// shared by all its ports. Exactly one of `listeners` (possibly empty) and `error` is meaningful:
// `error` reads `site "NAME": FILE: REASON` (the certificate files are read again here).
struct TlsListenersResult {
  std::map<uint16_t, std::shared_ptr<const TlsListenerContext>> listeners;
  std::string error;
};
TlsListenersResult build_tls_listeners(const std::vector<SiteConfig>& sites);

}  // namespace sitehost
