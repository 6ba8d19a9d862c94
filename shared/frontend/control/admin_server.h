// The admin API: a small HTTP/1.1 server on a unix socket (default) or a loopback TCP port,
// separate from the client-facing front end. One request per connection (answered with
// `Connection: close`):
//   GET  /status             JSON: the server and every site (Server::status_json)
//   GET  /metrics            Prometheus text (Server::metrics_text)
//   POST /reload[?site=NAME] re-read and apply the config (or reload one site): 200, or 400 with
//                            the config error (FILE:LINE: KEY: MESSAGE)
//   POST /stop               graceful stop (answered first)
// A unix socket is claimed with a lock file next to it (`PATH.lock`, flock), so a second sitehost
// cannot steal a live socket and a stale one left by a crash is replaced.
#pragma once

#include <uv.h>

#include <cstdint>
#include <filesystem>
#include <list>
#include <memory>
#include <string>
#include <string_view>

#include "shared/config/config.h"
#include "shared/net/uv_handle.h"

namespace sitehost {

class Server;

// The run directory: $XDG_RUNTIME_DIR/sitehost, else /tmp/sitehost-<uid>.
std::filesystem::path default_run_directory();
// <run dir>/sitehost.sock: the admin socket when `admin` is not set.
std::filesystem::path default_admin_socket();
// "unix:/run/user/1000/sitehost/sitehost.sock", "127.0.0.1:9000", "[::1]:9000" or "off".
std::string describe(const AdminEndpoint& endpoint);

class AdminServer {
 public:
  explicit AdminServer(Server& server);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Listens on `endpoint` (nothing to do when it is the current one); the previous socket is
  // closed once the new one listens. Returns an error and keeps the previous socket on failure,
  // except for the default socket: that failure is logged as a warning and the API is off.
  std::string listen(const AdminEndpoint& endpoint);
  // Stops accepting (shutdown began); requests being answered finish.
  void stop_listening();
  // Closes everything now (the server's last step).
  void close();

 private:
  struct Socket;
  struct Conn;
  struct Reply {
    Reply(int code, std::string text, std::string type = "text/plain; charset=utf-8")
        : status(code), content_type(std::move(type)), body(std::move(text)) {}
    static Reply method_not_allowed(std::string methods) {
      Reply r(405, "use " + methods + "\n");
      r.allow = std::move(methods);
      return r;
    }
    int status;
    std::string content_type;
    std::string body;
    std::string allow;        // for 405
    bool stop_after = false;  // POST /stop: begin the shutdown once the reply is written
  };

  std::string open(const AdminEndpoint& endpoint, std::unique_ptr<Socket>& out);
  static void on_connection(uv_stream_t* stream, int status);
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);
  static void on_sweep(uv_timer_t* timer);
  void process(Conn& conn);
  Reply route(std::string_view method, std::string_view target);
  void respond(Conn& conn, Reply reply);
  void close_conn(Conn& conn);

  Server& server_;
  AdminEndpoint endpoint_;
  bool listening_ = false;
  std::unique_ptr<Socket> socket_;
  std::list<std::unique_ptr<Conn>> conns_;
  UvHandle<uv_timer_t> sweep_;
};

}  // namespace sitehost
