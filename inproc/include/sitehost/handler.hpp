// sitehost/handler.hpp: an optional header-only C++17 wrapper over sitehost/handler.h.
//
// Nothing here crosses the ABI: it is inline sugar (string_view instead of sitehost_str_t) plus
// SITEHOST_HANDLER_APP(App), which defines the four entry points for a class:
//
//   class App {
//    public:
//     explicit App(const sitehost_site_info_t& info);  // init; throw std::exception to fail it
//     void handle(sitehost::handler::Request req);      // one request (see handler.h's rules)
//     ~App();                                            // shutdown: stop the app's threads
//   };
//   SITEHOST_HANDLER_APP(App)
//
// Exceptions never cross into the server: init turns them into its error message; one escaping
// handle() gets the request answered 500 (when the head was not sent) and finished, so handle()
// must not throw after it finished the request (or handed it to another thread).
#pragma once

#include <sitehost/handler.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string_view>

namespace sitehost::handler {

inline std::string_view view(sitehost_str_t s) {
  return {s.data, s.len};
}

// A non-owning handle on one request; cheap to copy.
class Request {
 public:
  explicit Request(sitehost_request_t* req) : req_(req) {}
  sitehost_request_t* get() const { return req_; }

  std::string_view method() const { return view(req_->server->request_method(req_)); }
  std::string_view target() const { return view(req_->server->request_target(req_)); }
  std::string_view path_base() const { return view(req_->server->request_path_base(req_)); }
  std::string_view path() const { return view(req_->server->request_path(req_)); }
  std::string_view query() const { return view(req_->server->request_query(req_)); }
  std::string_view protocol() const { return view(req_->server->request_protocol(req_)); }
  std::optional<std::string_view> header(std::string_view name) const {
    sitehost_str_t value{};
    if (!req_->server->request_header(req_, name.data(), name.size(), &value)) return {};
    return view(value);
  }
  // Calls f(name, value) for every header in arrival order.
  template <class F>
  void for_each_header(F&& f) const {
    sitehost_str_t name{}, value{};
    for (size_t i = 0; req_->server->request_header_at(req_, i, &name, &value); ++i)
      f(view(name), view(value));
  }
  const sockaddr* remote_addr() const { return req_->server->request_remote_addr(req_); }
  const sockaddr* local_addr() const { return req_->server->request_local_addr(req_); }
  bool tls() const { return req_->server->request_is_tls(req_) != 0; }
  // DER bytes of the verified TLS client certificate; empty when none (or an older server).
  std::string_view client_certificate() const {
    return view(sitehost_request_client_certificate(req_));
  }
  // Whether the request offers a protocol upgrade (e.g. a WebSocket handshake; ABI 1.2).
  bool is_upgrade() const { return sitehost_request_is_upgrade(req_) != 0; }
  // Which protocol the upgrade asks for (the Upgrade header), empty when none.
  std::string_view upgrade_protocol() const {
    return is_upgrade() ? header("Upgrade").value_or(std::string_view()) : std::string_view();
  }
  std::optional<uint64_t> content_length() const {
    int64_t n = req_->server->request_content_length(req_);
    if (n < 0) return {};
    return static_cast<uint64_t>(n);
  }

  int read_start(sitehost_read_cb cb) const { return req_->server->request_read_start(req_, cb); }
  int read_stop() const { return req_->server->request_read_stop(req_); }
  ssize_t read(char* buf, size_t len) const { return req_->server->request_read(req_, buf, len); }

  int set_status(int status, std::string_view reason = {}) const {
    return req_->server->response_set_status(req_, status, reason.data(), reason.size());
  }
  int add_header(std::string_view name, std::string_view value) const {
    return req_->server->response_add_header(req_, name.data(), name.size(), value.data(),
                                             value.size());
  }
  int write(std::string_view data, unsigned flags = SITEHOST_WRITE_COPY,
            sitehost_write_cb cb = nullptr, void* arg = nullptr) const {
    return req_->server->response_write(req_, data.data(), data.size(), flags, cb, arg);
  }
  int write_sync(std::string_view data) const {
    return req_->server->response_write_sync(req_, data.data(), data.size());
  }
  // Accepts the upgrade: sends the 101 with the headers added so far; reads and writes then carry
  // raw bytes and finish() closes the connection (see sitehost_response_upgrade).
  int upgrade() const { return sitehost_response_upgrade(req_); }
  int finish() const { return req_->server->response_finish(req_); }
  int abort() const { return req_->server->response_abort(req_); }
  int on_abort(sitehost_abort_cb cb) const { return req_->server->request_on_abort(req_, cb); }
  bool aborted() const { return req_->server->request_is_aborted(req_) != 0; }

 private:
  sitehost_request_t* req_;
};

// The site an app instance serves.
class Site {
 public:
  explicit Site(sitehost_site_t* site) : site_(site) {}
  void log(int level, std::string_view message) const {
    site_->server->site_log(site_, level, message.data(), message.size());
  }
  std::optional<std::string_view> env(const sitehost_site_info_t& info,
                                      std::string_view name) const {
    for (size_t i = 0; i < info.environment_count; ++i)
      if (view(info.environment[i].name) == name) return view(info.environment[i].value);
    return {};
  }

 private:
  sitehost_site_t* site_;
};

namespace detail {

inline void copy_error(const char* message, char* error, size_t error_size) {
  if (error_size == 0) return;
  size_t n = 0;
  while (message[n] != '\0' && n + 1 < error_size) {
    error[n] = message[n];
    ++n;
  }
  error[n] = '\0';
}

template <class App>
int init(const sitehost_site_info_t* info, void** app, char* error, size_t error_size) {
  try {
    *app = std::make_unique<App>(*info).release();  // owned by the library until shutdown()
    return 0;
  } catch (const std::exception& e) {
    copy_error(e.what(), error, error_size);
  } catch (...) {
    copy_error("unknown exception", error, error_size);
  }
  return 1;
}

template <class App>
void request(void* app, sitehost_request_t* req) {
  try {
    static_cast<App*>(app)->handle(Request(req));
  } catch (...) {
    Request r(req);
    if (r.set_status(500) == SITEHOST_OK) r.write("Internal Server Error\n");
    r.finish();
  }
}

template <class App>
void shutdown(void* app) {
  std::unique_ptr<App> owned(static_cast<App*>(app));
}

}  // namespace detail
}  // namespace sitehost::handler

#define SITEHOST_HANDLER_APP(App)                                                      \
  SITEHOST_HANDLER_DEFINE_ABI_VERSION()                                                \
  int sitehost_handler_init(const sitehost_site_info_t* info, void** app, char* error, \
                            size_t error_size) {                                       \
    return ::sitehost::handler::detail::init<App>(info, app, error, error_size);       \
  }                                                                                    \
  void sitehost_handler_request(void* app, sitehost_request_t* req) {                  \
    ::sitehost::handler::detail::request<App>(app, req);                               \
  }                                                                                    \
  void sitehost_handler_shutdown(void* app) {                                          \
    ::sitehost::handler::detail::shutdown<App>(app);                                   \
  }
