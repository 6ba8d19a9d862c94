// One listening socket (address:port). When the server is at max_connections it leaves the next
// connection unaccepted (libuv then stops polling the socket) and accepts it once a slot frees.
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "shared/net/tls_sni.h"

namespace sitehost {

class Connection;
class Server;

class Listener {
 public:
  Listener(Server& server, std::string ip, uint16_t port);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Binds and listens; returns an error message (empty on success).
  std::string open();
  // Accepts the waiting connection into `connection`. False when none is waiting or it failed.
  bool accept_pending(Connection& connection);
  uint16_t port() const { return port_; }
  // HTTPS listeners carry the port's certificates (null: plain HTTP). A reload swaps them;
  // open connections keep the ones they started with.
  const std::shared_ptr<const TlsListenerContext>& tls() const { return tls_; }
  void set_tls(std::shared_ptr<const TlsListenerContext> tls) { tls_ = std::move(tls); }
  // Closes the socket; the object must stay alive until closed() is true.
  void close();
  bool closed() const { return closed_; }
  bool pending() const { return pending_; }
  const std::string& key() const { return key_; }

 private:
  static void on_connection(uv_stream_t* stream, int status);
  static void on_close(uv_handle_t* handle);

  Server& server_;
  std::string ip_;
  uint16_t port_;
  std::string key_;
  uv_tcp_t tcp_;
  std::shared_ptr<const TlsListenerContext> tls_;
  bool initialized_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool pending_ = false;  // a connection waits to be accepted
};

// "127.0.0.1:8080" / "[::1]:8080".
std::string listener_key(const std::string& ip, uint16_t port);

}  // namespace sitehost
