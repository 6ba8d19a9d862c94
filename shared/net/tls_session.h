// One server-side TLS connection over memory BIOs: the caller moves ciphertext between the socket
// and the session, and plaintext between the session and the HTTP code. No sockets, no loop: the
// front end (or a unit test) drives it.
//
//   socket bytes ──feed()──▶ [TlsSession] ──read_plain()──▶ request bytes
//   response bytes ──write_plain()──▶ [TlsSession] ──take_ciphertext()──▶ socket
//
// After every call (feed, read_plain, write_plain, shutdown) the session may have ciphertext to
// send: handshake records, alerts, session tickets, key updates. Flush it when has_ciphertext().
// After failed() the pending ciphertext (usually an alert) is worth sending before closing.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "shared/net/tls_context.h"
#include "shared/net/tls_sni.h"

namespace sitehost {

class TlsSession {
 public:
  // `listener` picks the site context by SNI; the session keeps it (and its SSL_CTX) alive, so a
  // reload that replaces the listener's contexts leaves this connection on the old ones.
  explicit TlsSession(std::shared_ptr<const TlsListenerContext> listener);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Ciphertext from the peer. Advances the handshake while it is not done (which may queue
  // output). Returns false once the session has failed.
  bool feed(std::string_view ciphertext);

  // Up to `size` decrypted bytes into `out`; returns how many. 0 means nothing more can be read
  // from what was fed: more ciphertext is needed, or the peer sent close_notify (peer_closed()),
  // or the session failed (failed()).
  size_t read_plain(char* out, size_t size);

  // Encrypts `bufs` in order and queues the records. Small pieces are coalesced into full
  // records. Returns false (and writes nothing) before the handshake is done, after shutdown()
  // or once failed.
  bool write_plain(std::span<const std::string_view> bufs);
  bool write_plain(std::string_view data) { return write_plain(std::span(&data, 1)); }

  // Queues close_notify (once, and only after the handshake). Further writes are refused.
  void shutdown();

  // --- Output for the peer ---
  bool has_ciphertext() const { return !out_.empty(); }
  std::string_view ciphertext() const { return out_; }
  // Moves the pending ciphertext into `out` and keeps `out`'s previous storage (cleared) for the
  // next output, so a caller that recycles its write buffers causes no allocation.
  void take_ciphertext(std::string& out);

  // For an idle connection (nothing pending either way): frees the record buffers and the BIOs'
  // memory; they are allocated again on the next activity.
  void release_buffers();

  // --- State ---
  bool handshake_done() const { return handshake_done_; }
  bool failed() const { return failed_; }
  // Why the session failed, e.g. "wrong version number", "http request" (plain HTTP on a TLS
  // port), "peer did not return a certificate", "certificate verify failed (...)".
  const std::string& error() const { return error_; }
  bool peer_closed() const { return peer_closed_; }  // close_notify received
  // Whether fed ciphertext (or decrypted plaintext) is still waiting: read_plain() may return
  // more without new input, e.g. after the caller paused reading because its buffer was full.
  bool has_buffered_input() const;
  bool shutdown_sent() const { return shutdown_sent_; }

  // --- After the handshake ---
  std::string_view alpn() const;         // "h2", "http/1.1" or "" when none was agreed
  std::string_view server_name() const;  // the client's SNI, lower case; "" when none was sent
  bool server_name_matched() const { return sni_matched_; }  // SNI chose a non-default context
  const char* version() const;                               // "TLSv1.2", "TLSv1.3"
  const char* cipher() const;                                // "TLS_AES_128_GCM_SHA256", ...
  bool resumed() const;                                      // the session was resumed (ticket)
  // The site context the handshake used (the listener's default until the ClientHello is read).
  const TlsContext& context() const { return *context_; }
  // The port's contexts this session selected from. E.g. whether a new connection naming `host`
  // would agree on "h2": listener().select(host).settings().http2 (the HTTP/2 421 check).
  const TlsListenerContext& listener() const { return *listener_; }
  // The client's certificate (verified against client_ca_file), if it sent one.
  bool has_peer_certificate() const;
  std::string peer_certificate_der() const;     // "" when none
  std::string peer_certificate_base64() const;  // for MS-ASPNETCORE-CLIENTCERT; "" when none

  // Sets the callbacks TlsSession relies on (SNI selection) on a context; TlsContext::create
  // calls it for every context.
  static void install_callbacks(SSL_CTX* ctx);

 private:
  static int on_client_hello(SSL* ssl, int* alert, void* arg);
  static int on_server_name(SSL* ssl, int* alert, void* arg);

  bool drive_handshake();
  bool encrypt(const char* data, size_t size);
  void drain_output();
  void fail(int ssl_error, std::string_view during);

  std::shared_ptr<const TlsListenerContext> listener_;
  const TlsContext* context_;  // owned by listener_
  SslPtr ssl_;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;  // owned by ssl_
  std::string out_;      // ciphertext waiting to be sent
  std::string scratch_;  // coalesces small plaintext pieces into one record
  std::string error_;
  std::array<char, 256> sni_{};
  uint8_t sni_len_ = 0;
  bool sni_matched_ = false;
  bool handshake_done_ = false;
  bool failed_ = false;
  bool peer_closed_ = false;
  bool shutdown_sent_ = false;
};

}  // namespace sitehost
