#include "shared/frontend/control/admin_server.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "shared/frontend/control/server.h"
#include "shared/http/http_chars.h"
#include "shared/log/logger.h"

namespace sitehost {

namespace {

constexpr size_t kMaxHead = 16 * 1024;
constexpr size_t kMaxBody = 64 * 1024;
constexpr size_t kMaxConnections = 32;
constexpr uint64_t kConnectionTimeoutMs = 10000;

union StreamHandle {
  uv_handle_t handle;
  uv_stream_t stream;
  uv_tcp_t tcp;
  uv_pipe_t pipe;
};

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// Creates `dir` (mode 0700) unless it exists; it must then be a directory of ours, not a link.
std::string ensure_private_directory(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fmt::format("cannot create {}: {}", dir.string(), errno_text(errno));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0)
    return fmt::format("cannot access {}: {}", dir.string(), errno_text(errno));
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::getuid())
    return fmt::format("{} is not a directory owned by uid {}", dir.string(), ::getuid());
  return {};
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
  }
  return "Error";
}

// The value of `name` in a query string ("" when absent).
std::string query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name && eq != std::string_view::npos)
      return std::string(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

}  // namespace

std::filesystem::path default_run_directory() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  if (xdg && xdg[0] == '/') return std::filesystem::path(xdg) / "sitehost";
  return fmt::format("/tmp/sitehost-{}", ::getuid());
}

std::filesystem::path default_admin_socket() {
  return default_run_directory() / "sitehost.sock";
}

std::string describe(const AdminEndpoint& e) {
  switch (e.kind) {
    case AdminEndpoint::Kind::kDefaultSocket:
      return "unix:" + default_admin_socket().string();
    case AdminEndpoint::Kind::kSocket:
      return "unix:" + e.path;
    case AdminEndpoint::Kind::kTcp:
      return e.ip.find(':') != std::string::npos ? fmt::format("[{}]:{}", e.ip, e.port)
                                                 : fmt::format("{}:{}", e.ip, e.port);
    case AdminEndpoint::Kind::kOff:
      break;
  }
  return "off";
}

// A listening socket. A unix socket holds its lock file and is unlinked when closed.
struct AdminServer::Socket {
  std::unique_ptr<StreamHandle> handle = std::make_unique<StreamHandle>();
  bool initialized = false;
  std::string path;  // unix socket
  ino_t inode = 0;
  int lock_fd = -1;

  Socket() = default;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() {
    if (initialized) {
      StreamHandle* h = handle.release();
      h->handle.data = nullptr;
      uv_close(&h->handle, [](uv_handle_t* closed) {
        std::unique_ptr<StreamHandle> owned(reinterpret_cast<StreamHandle*>(closed));
      });
    }
    struct stat st {};
    if (!path.empty() && inode != 0 && ::lstat(path.c_str(), &st) == 0 && st.st_ino == inode)
      ::unlink(path.c_str());
    if (lock_fd >= 0) ::close(lock_fd);  // releases the flock
  }
};

// One admin connection. Freed in its handle's close callback (after any write callback).
struct AdminServer::Conn {
  StreamHandle handle{};
  uv_write_t write_req{};
  AdminServer* server = nullptr;
  std::list<std::unique_ptr<Conn>>::iterator self;
  uint64_t opened_ms = 0;
  std::string in;
  std::string out;
  std::string method;
  std::string target;
  size_t head_len = 0;
  size_t body_len = 0;
  bool head_done = false;
  bool responded = false;
  bool closed = false;
  bool stop_after = false;
  char buffer[4096];
};

AdminServer::AdminServer(Server& server) : server_(server) {
  endpoint_.kind = AdminEndpoint::Kind::kOff;
}

AdminServer::~AdminServer() {
  close();
}

std::string AdminServer::open(const AdminEndpoint& e, std::unique_ptr<Socket>& out) {
  auto socket = std::make_unique<Socket>();
  uv_loop_t* loop = server_.loop();
  auto* stream = &socket->handle->stream;
  const std::string where = describe(e);
  int r = 0;
  if (e.kind == AdminEndpoint::Kind::kTcp) {
    sockaddr_storage addr{};
    r = e.ip.find(':') != std::string::npos
            ? uv_ip6_addr(e.ip.c_str(), e.port, reinterpret_cast<sockaddr_in6*>(&addr))
            : uv_ip4_addr(e.ip.c_str(), e.port, reinterpret_cast<sockaddr_in*>(&addr));
    if (r != 0) return fmt::format("admin {}: {}", where, uv_strerror(r));
    uv_tcp_init(loop, &socket->handle->tcp);
    socket->initialized = true;
    r = uv_tcp_bind(&socket->handle->tcp, reinterpret_cast<sockaddr*>(&addr), 0);
  } else {
    std::string path = e.path;
    if (e.kind == AdminEndpoint::Kind::kDefaultSocket) {
      std::string error = ensure_private_directory(default_run_directory());
      if (!error.empty()) return fmt::format("admin {}: {}", where, error);
      path = default_admin_socket().string();
    }
    // The lock file says who owns the socket path: a live sitehost holds it.
    std::string lock_path = path + ".lock";
    socket->lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (socket->lock_fd < 0)
      return fmt::format("admin {}: cannot open {}: {}", where, lock_path, errno_text(errno));
    if (::flock(socket->lock_fd, LOCK_EX | LOCK_NB) != 0) {
      char pid[32] = {};
      ssize_t n = ::pread(socket->lock_fd, pid, sizeof pid - 1, 0);
      std::string owner =
          n > 0 ? fmt::format(" (pid {})", std::string_view(pid, static_cast<size_t>(n)))
                : std::string();
      return fmt::format("admin {}: in use by another sitehost{}", where, owner);
    }
    std::string me = std::to_string(::getpid());
    if (::ftruncate(socket->lock_fd, 0) != 0 ||
        ::pwrite(socket->lock_fd, me.data(), me.size(), 0) < 0) {
      // Only the message of a second sitehost suffers; the lock itself holds.
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode))
        return fmt::format("admin {}: the path exists and is not a socket", where);
      ::unlink(path.c_str());  // stale: its owner is gone (we hold the lock)
    }
    uv_pipe_init(loop, &socket->handle->pipe, 0);
    socket->initialized = true;
    r = uv_pipe_bind(&socket->handle->pipe, path.c_str());
    if (r == 0) {
      ::chmod(path.c_str(), 0600);
      if (::lstat(path.c_str(), &st) == 0) socket->inode = st.st_ino;
      socket->path = path;
    }
  }
  if (r == 0) r = uv_listen(stream, 64, &AdminServer::on_connection);
  if (r != 0) return fmt::format("admin {}: {}", where, uv_strerror(r));
  stream->data = this;
  out = std::move(socket);
  return {};
}

std::string AdminServer::listen(const AdminEndpoint& endpoint) {
  if (endpoint == endpoint_ && (socket_ || endpoint.kind == AdminEndpoint::Kind::kOff)) return {};
  Logger& log = server_.log();
  if (endpoint.kind == AdminEndpoint::Kind::kOff) {
    if (socket_) log.info("admin API off");
    socket_.reset();
    endpoint_ = endpoint;
    return {};
  }
  std::unique_ptr<Socket> socket;
  std::string error = open(endpoint, socket);
  if (!error.empty()) {
    if (endpoint.kind != AdminEndpoint::Kind::kDefaultSocket) return error;
    log.warn("{}; the admin API is off (set [server] admin to use another address)", error);
    socket_.reset();
    endpoint_ = endpoint;
    return {};
  }
  socket_ = std::move(socket);  // the previous one (if any) closes here
  endpoint_ = endpoint;
  log.info("admin API on {}", describe(endpoint));
  return {};
}

void AdminServer::stop_listening() {
  socket_.reset();
}

void AdminServer::close() {
  socket_.reset();
  while (!conns_.empty()) close_conn(*conns_.front());
  sweep_.close();
}

void AdminServer::on_connection(uv_stream_t* stream, int status) {
  auto* self = static_cast<AdminServer*>(stream->data);
  if (!self) return;
  if (status < 0) {
    self->server_.log().warn("admin accept: {}", uv_strerror(status));
    return;
  }
  auto conn = std::make_unique<Conn>();
  Conn& c = *conn;
  c.server = self;
  c.opened_ms = uv_now(self->server_.loop());
  if (stream->type == UV_NAMED_PIPE)
    uv_pipe_init(self->server_.loop(), &c.handle.pipe, 0);
  else
    uv_tcp_init(self->server_.loop(), &c.handle.tcp);
  c.handle.handle.data = &c;
  self->conns_.push_front(std::move(conn));
  c.self = self->conns_.begin();
  if (uv_accept(stream, &c.handle.stream) != 0 || self->conns_.size() > kMaxConnections) {
    self->close_conn(c);
    return;
  }
  if (!self->sweep_) {
    self->sweep_.init([self](uv_timer_t* t) { return uv_timer_init(self->server_.loop(), t); },
                      self);
    uv_timer_start(self->sweep_.get(), &AdminServer::on_sweep, 1000, 1000);
    uv_unref(reinterpret_cast<uv_handle_t*>(self->sweep_.get()));
  }
  uv_read_start(&c.handle.stream, &AdminServer::on_alloc, &AdminServer::on_read);
}

void AdminServer::on_sweep(uv_timer_t* timer) {
  auto* self = static_cast<AdminServer*>(timer->data);
  if (!self) return;
  uint64_t now = uv_now(self->server_.loop());
  for (auto it = self->conns_.begin(); it != self->conns_.end();) {
    Conn& c = **it++;  // close_conn erases c
    if (!c.responded && now - c.opened_ms >= kConnectionTimeoutMs) self->close_conn(c);
  }
}

void AdminServer::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* c = static_cast<Conn*>(handle->data);
  *buf = uv_buf_init(c->buffer, sizeof c->buffer);
}

void AdminServer::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<Conn*>(stream->data);
  if (c->closed) return;
  if (nread < 0) {
    c->server->close_conn(*c);
    return;
  }
  if (nread == 0) return;
  c->in.append(buf->base, static_cast<size_t>(nread));
  c->server->process(*c);
}

void AdminServer::process(Conn& c) {
  if (c.responded) return;
  if (!c.head_done) {
    size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (c.in.size() > kMaxHead) respond(c, Reply(431, "request head too large\n"));
      return;
    }
    c.head_done = true;
    c.head_len = end + 4;
    std::string_view head(c.in.data(), end);
    size_t eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    size_t sp1 = line.find(' ');
    size_t sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1 ||
        !line.substr(sp2 + 1).starts_with("HTTP/1.")) {
      respond(c, Reply(400, "malformed request line\n"));
      return;
    }
    c.method.assign(line.substr(0, sp1));
    c.target.assign(line.substr(sp1 + 1, sp2 - sp1 - 1));
    std::string_view rest =
        eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
    while (!rest.empty()) {
      size_t next = rest.find("\r\n");
      std::string_view field = rest.substr(0, next);
      rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 2);
      size_t colon = field.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view name = field.substr(0, colon);
      std::string_view value = field.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      if (http::iequals(name, "Transfer-Encoding")) {
        respond(c, Reply(400, "send a Content-Length body\n"));
        return;
      }
      if (http::iequals(name, "Content-Length")) {
        size_t n = 0;
        for (char ch : value) {
          if (ch < '0' || ch > '9' || n > kMaxBody) {
            respond(c, Reply(413, "request body too large\n"));
            return;
          }
          n = n * 10 + static_cast<size_t>(ch - '0');
        }
        if (n > kMaxBody) {
          respond(c, Reply(413, "request body too large\n"));
          return;
        }
        c.body_len = n;
      }
    }
  }
  if (c.in.size() < c.head_len + c.body_len) return;  // the (ignored) body is still coming
  uv_read_stop(&c.handle.stream);
  respond(c, route(c.method, c.target));
}

AdminServer::Reply AdminServer::route(std::string_view method, std::string_view target) {
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  const bool get = method == "GET" || method == "HEAD";
  const bool post = method == "POST";
  if (path == "/status") {
    if (!get) return Reply::method_not_allowed("GET, HEAD");
    return Reply(200, server_.status_json(), "application/json");
  }
  if (path == "/metrics") {
    if (!get) return Reply::method_not_allowed("GET, HEAD");
    return Reply(200, server_.metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
  }
  if (path == "/reload") {
    if (!post) return Reply::method_not_allowed("POST");
    std::string site = query_value(query, "site");
    if (!site.empty()) {
      std::string message;
      if (!server_.reload_site(site, message))
        return Reply(404, fmt::format("no site named \"{}\"\n", site));
      return Reply(200, message + "\n");
    }
    std::string summary;
    std::string error = server_.reload(&summary);
    if (!error.empty()) return Reply(400, fmt::format("reload failed: {}\n", error));
    return Reply(200, summary + "\n");
  }
  if (path == "/stop") {
    if (!post) return Reply::method_not_allowed("POST");
    Reply reply(200, "stopping\n");
    reply.stop_after = true;
    return reply;
  }
  if (path == "/") {
    if (!get) return Reply::method_not_allowed("GET, HEAD");
    return Reply(
        200,
        "sitehost admin API: GET /status, GET /metrics, POST /reload[?site=NAME], POST /stop\n");
  }
  return Reply(404, "not found; try GET /\n");
}

void AdminServer::respond(Conn& c, Reply reply) {
  c.responded = true;
  uv_read_stop(&c.handle.stream);
  c.stop_after = reply.stop_after;
  const bool head = c.method == "HEAD";
  c.out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Cache-Control: "
      "no-store\r\nConnection: close\r\n\r\n",
      reply.status, reason(reply.status), reply.content_type, reply.body.size(),
      reply.allow.empty() ? std::string() : fmt::format("Allow: {}\r\n", reply.allow));
  if (!head) c.out += reply.body;
  uv_buf_t buf = uv_buf_init(c.out.data(), static_cast<unsigned>(c.out.size()));
  c.write_req.data = &c;
  if (uv_write(&c.write_req, &c.handle.stream, &buf, 1, &AdminServer::on_write) != 0) close_conn(c);
}

void AdminServer::on_write(uv_write_t* req, int) {
  auto* c = static_cast<Conn*>(req->data);
  if (c->closed) return;
  AdminServer* self = c->server;
  bool stop = c->stop_after;
  self->close_conn(*c);
  if (stop) {
    self->server_.log().info("stop requested through the admin API");
    self->server_.begin_shutdown();
  }
}

void AdminServer::close_conn(Conn& c) {
  if (c.closed) return;
  c.closed = true;
  Conn* raw = c.self->release();  // freed by the close callback
  conns_.erase(c.self);
  uv_close(&raw->handle.handle,
           [](uv_handle_t* h) { std::unique_ptr<Conn> owned(static_cast<Conn*>(h->data)); });
}

}  // namespace sitehost
