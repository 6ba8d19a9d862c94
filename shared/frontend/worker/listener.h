// One worker's listening socket for one address:port (the control thread opened it: see
// shared/net/listen_socket.h; with several event loops each has its own SO_REUSEPORT socket).
// When the server is at max_connections it leaves the next connection unaccepted (libuv then
// stops polling the socket) and accepts it once a slot frees. Closing it first accepts what the
// kernel has queued on it, so a closing listener resets none of those connections (except an
// inherited socket's: its queue stays for the next listener, see `inherited`).
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "shared/net/listen_socket.h"
#include "shared/net/tls_sni.h"

namespace sitehost {

class Connection;
class Worker;

class Listener {
 public:
  // `inherited`: the socket is a dup() of one systemd passed in; the queue is shared with the
  // other loops and outlives this listener (a reload that adds the address again, or the next
  // sitehost, serves what waits there), so close() leaves it alone.
  Listener(Worker& worker, std::string key, uint16_t port, bool inherited = false);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Takes over `fd` (bound and listening) and starts accepting; returns an error message (empty
  // on success; on failure the fd is closed).
  std::string open(int fd);
  // Accepts the waiting connection into `connection`. False when none is waiting or it failed.
  bool accept_pending(Connection& connection);
  uint16_t port() const { return port_; }
  // HTTPS listeners carry the port's certificates (null: plain HTTP). A reload swaps them;
  // open connections keep the ones they started with.
  const std::shared_ptr<const TlsListenerContext>& tls() const { return tls_; }
  void set_tls(std::shared_ptr<const TlsListenerContext> tls) { tls_ = std::move(tls); }
  // Accepts what the kernel queued, then closes the socket; the object must stay alive until
  // closed() is true.
  void close();
  bool closed() const { return closed_; }
  bool pending() const { return pending_; }
  const std::string& key() const { return key_; }

 private:
  static void on_connection(uv_stream_t* stream, int status);
  static void on_close(uv_handle_t* handle);

  void accept_backlog();

  Worker& worker_;
  uint16_t port_;
  std::string key_;
  uv_tcp_t tcp_;
  std::shared_ptr<const TlsListenerContext> tls_;
  bool inherited_;
  bool initialized_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool pending_ = false;  // a connection waits to be accepted
};

}  // namespace sitehost
