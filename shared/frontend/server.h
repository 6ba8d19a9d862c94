// The server: owns the loop's listeners, connections, sites and the pools they share; applies a
// config at start and on SIGHUP; stops gracefully on SIGTERM/SIGINT; reopens logs on SIGUSR1.
#pragma once

#include <uv.h>

#include <chrono>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "shared/config/config.h"
#include "shared/frontend/metrics.h"
#include "shared/frontend/request_context.h"
#include "shared/frontend/router.h"
#include "shared/http/chunk_size_line.h"
#include "shared/log/logger.h"
#include "shared/net/buffer_pool.h"
#include "shared/net/deadline_queue.h"
#include "shared/site/site.h"

namespace sitehost {

class AdminServer;
class Connection;
class Listener;
class ManagedSite;

struct WriteRequest {
  uv_write_t req;
  Connection* connection = nullptr;
  WriteDone done;
  size_t bytes = 0;
  char chunk_header[http::kChunkSizeLineMax];
  std::string cipher;  // TLS records of this write (capacity kept across reuse)
};

enum DeadlineKind { kHeaderDeadline = 0, kKeepaliveDeadline = 1, kLingerDeadline = 2 };

class Server {
 public:
  Server(uv_loop_t* loop, Logger& log, std::map<HostingModel, SiteFactory> factories);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens listeners and builds sites. Returns an error message (empty on success).
  std::string start(Config config);
  // Runs the loop until the server has stopped. Returns the exit code.
  int run();

  // Re-reads the config file; keeps the old config on any error (logged with file:line).
  // Returns that error, or "" with `summary` (when given) saying what was applied.
  std::string reload(std::string* summary = nullptr);
  // Reloads one site (`ctl reload SITE`); false when there is no such site.
  bool reload_site(std::string_view name, std::string& message);
  void begin_shutdown();

  // The sitehost binary serves the admin API (`[server] admin`); call before start().
  void enable_admin() { admin_enabled_ = true; }
  Metrics& metrics() { return metrics_; }
  // The admin API's documents (admin_status.cpp).
  std::string status_json() const;
  std::string metrics_text() const;

  // --- for connections ---
  uv_loop_t* loop() const { return loop_; }
  Logger& log() { return log_; }
  const ServerConfig& config() const { return config_.server; }
  const http::Limits& limits() const { return limits_; }
  bool shutting_down() const { return shutting_down_; }
  BufferPool& buffers() { return *buffers_; }
  std::unique_ptr<RequestContext> take_context() { return contexts_.acquire(); }
  void return_context(std::unique_ptr<RequestContext> ctx);
  void return_buffer(std::unique_ptr<char[]> buffer, uint32_t size);
  std::unique_ptr<WriteRequest> take_write() {
    auto w = writes_.acquire();
    w->done = {};  // pooled: clear what the previous write left
    w->bytes = 0;
    return w;
  }
  void return_write(std::unique_ptr<WriteRequest> w) { writes_.release(std::move(w)); }
  DeadlineQueue& deadlines(int kind) { return *deadlines_[kind]; }
  // Where TLS connections read ciphertext: it is handed to the session within the read
  // callback, so one buffer serves every connection.
  char* tls_read_buffer() { return tls_read_buffer_.get(); }
  static constexpr size_t kTlsReadBufferSize = 64 * 1024;
  // A list for a connection to run its owed completions from (taken, then given back), so the
  // per-request lists keep their capacity and completing allocates nothing. Nested runs take
  // an empty list and merely allocate.
  using Completions = std::vector<std::pair<WriteDone, int>>;
  Completions take_completions() { return std::move(completions_scratch_); }
  void give_back_completions(Completions list) {
    list.clear();
    completions_scratch_ = std::move(list);
  }
  const Router& router() const { return *router_; }
  std::string_view date_header();  // "Date: ...\r\n", cached per second
  void defer(Connection* c);
  void connection_closed(Connection* c);
  void on_listener_ready(Listener* listener);

 private:
  struct SiteEntry {
    std::shared_ptr<const SiteConfig> config;
    std::shared_ptr<ManagedSite> site;  // app_offline.h: wraps the hosting model's Site
  };
  std::string apply(Config config, bool initial);
  std::string open_listeners(const Config& config,
                             std::map<std::string, std::unique_ptr<Listener>>& opened);
  void stop_site(std::shared_ptr<Site> site);
  void accept_paused();
  void maybe_finish_shutdown();
  void close_own_handles();
  static void on_signal(uv_signal_t* handle, int signum);
  static void on_idle(uv_idle_t* handle);

  uv_loop_t* loop_;
  Logger& log_;
  std::map<HostingModel, SiteFactory> factories_;
  Metrics metrics_;  // before everything that counts into it
  std::unique_ptr<AdminServer> admin_;
  bool admin_enabled_ = false;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  Config config_;
  http::Limits limits_;
  std::unique_ptr<BufferPool> buffers_;
  Completions completions_scratch_;
  std::unique_ptr<char[]> tls_read_buffer_ = std::make_unique<char[]>(kTlsReadBufferSize);
  ObjectPool<RequestContext> contexts_{1024};
  ObjectPool<WriteRequest> writes_{4096};
  std::unique_ptr<DeadlineQueue> deadlines_[3];
  std::unique_ptr<Router> router_;
  std::map<std::string, SiteEntry> sites_;                      // by name
  std::map<std::string, std::unique_ptr<Listener>> listeners_;  // by "ip:port"
  std::vector<std::unique_ptr<Listener>> closing_listeners_;
  std::vector<std::shared_ptr<Site>> stopping_sites_;
  std::list<std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> deferred_;
  std::vector<Connection*> deferred_batch_;             // the one on_idle runs (not reentrant)
  std::vector<std::unique_ptr<Connection>> graveyard_;  // closed, destroyed on the idle pass
  std::vector<std::shared_ptr<Site>> retired_sites_;    // stopped, destroyed on the idle pass
  uv_idle_t idle_;
  uv_signal_t signals_[4];
  uv_timer_t shutdown_timer_;
  bool shutting_down_ = false;
  bool shutdown_forced_ = false;
  bool handles_closed_ = false;
  int exit_code_ = 0;
  uint64_t date_second_ = 0;
  std::string date_;
  SiteContext site_context_;
};

}  // namespace sitehost
