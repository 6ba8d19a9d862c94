// One event loop of the front end: its thread, its listening sockets, the connections it
// accepted and the pools they draw from. Nothing on the request path leaves the loop: a
// connection is accepted, parsed, routed and answered by the worker that accepted it.
//
// Threads and ownership. The Server (control thread) creates every Worker and destroys it after
// its thread has ended. Everything in a Worker belongs to its loop's thread, except:
//   - post() and the counters (metrics().loop(index())), which any thread may use;
//   - run_thread() / join(), called by the control thread.
// The control thread changes a worker only through post(): install a routing table, open or
// close listeners, drain, stop.
#pragma once

#include <uv.h>

#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "shared/frontend/control/metrics.h"
#include "shared/frontend/worker/health_answer.h"
#include "shared/frontend/worker/request_context.h"
#include "shared/frontend/worker/routing_table.h"
#include "shared/http/chunk_size_line.h"
#include "shared/log/logger.h"
#include "shared/net/buffer_pool.h"
#include "shared/net/deadline_queue.h"
#include "shared/net/tls_sni.h"
#include "shared/thread/task_queue.h"

namespace sitehost {

class Connection;
class Listener;
class Server;

struct WriteRequest {
  uv_write_t req;
  Connection* connection = nullptr;
  WriteDone done;
  size_t bytes = 0;
  char chunk_header[http::kChunkSizeLineMax];
  std::string cipher;  // TLS records of this write (capacity kept across reuse)
};

// kSendDeadline: response bytes wait and nothing moved for send_timeout (a client that does
// not read, an HTTP/2 window left at zero). kBodyDeadline: the site reads the request body and
// no byte of it came for body_timeout (a slow-POST client).
enum DeadlineKind {
  kHeaderDeadline = 0,
  kKeepaliveDeadline = 1,
  kLingerDeadline = 2,
  kSendDeadline = 3,
  kBodyDeadline = 4,
  kDeadlineKinds = 5
};

// A listening socket the control thread opened for one worker (listen_socket.h).
struct ListenerSocket {
  std::string key;  // "ip:port"
  uint16_t port = 0;
  int fd = -1;
  // A dup() of a socket systemd passed in (socket activation): its accept queue outlives this
  // loop's listener, so closing the listener leaves the queue to whoever listens next.
  bool inherited = false;
};

class Worker {
 public:
  // `loop`: the loop to run on; null = a loop of its own, run by run_thread().
  Worker(Server& server, unsigned index, uv_loop_t* loop);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // --- control thread ---------------------------------------------------------------------
  // Starts the thread that runs this worker's own loop (not for a worker on the control loop).
  void run_thread();
  void join();
  // Any thread: runs `task` on this worker's loop (false once the worker has stopped).
  bool post(std::function<void()> task) { return tasks_->post(std::move(task)); }

  // --- this worker's thread (through post) ------------------------------------------------
  // The new routing table (start, reload): listeners in `open` start accepting, those named in
  // `close` close (after accepting what their backlog holds), TLS contexts are swapped,
  // connections on ports no longer listened on finish their exchange and close.
  void install(std::shared_ptr<const RoutingTable> table, std::vector<ListenerSocket> open,
               std::vector<std::string> close,
               std::map<uint16_t, std::shared_ptr<const TlsListenerContext>> tls);
  // Graceful stop: listeners close, idle connections close, busy ones close after their
  // response; the server hears (Server::worker_idle) once no connection is left.
  void begin_shutdown();
  // shutdown_timeout passed: cut the connections still open.
  void close_connections_now();
  // The last step: closes the worker's own handles so its loop ends.
  void close_handles();
  // A connection slot freed somewhere (max_connections): accept what waits here.
  void accept_paused();
  // The health endpoint's answer from now on (the control thread publishes it when it changes).
  void set_health(std::shared_ptr<const HealthAnswer> answer) { health_ = std::move(answer); }

  // --- for connections and listeners (this worker's thread) ------------------------------
  unsigned index() const { return index_; }
  uv_loop_t* loop() const { return loop_; }
  Logger& log() { return log_; }
  const ServerConfig& config() const { return table_->table->server; }
  const http::Limits& limits() const { return table_->table->limits; }
  const Router& router() const { return table_->table->router; }
  const HealthAnswer& health() const { return *health_; }
  bool shutting_down() const { return shutting_down_; }
  Metrics& metrics() { return metrics_; }
  LoopMetrics& counters() { return counters_; }
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
  // callback, so one buffer serves every connection of the loop.
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
  // An exchange was routed by the current table: `ctx` takes the route's site, config and
  // counters, the table stays until the context comes back (return_context), and the site's
  // in_flight counts the exchange over the same span: both ends in one place.
  void begin_routed(RequestContext& ctx, const Route& route);
  std::string_view date_header();  // "Date: ...\r\n", cached per second
  void defer(Connection* c);
  void connection_closed(Connection* c);
  void on_listener_ready(Listener* listener);
  // A closing listener's queued connections (over max_connections if need be: refusing them
  // now would reset connections the kernel took): the one libuv holds, and accept4'ed fds.
  void accept_now(Listener* listener);
  void adopt(int fd, uint16_t port, const std::shared_ptr<const TlsListenerContext>& tls);

 private:
  // The routing table in use, with the exchanges routed by it; a replaced table lives until the
  // last of them ends.
  struct Pinned {
    std::shared_ptr<const RoutingTable> table;
    size_t users = 0;
  };
  void unpin(Pinned* pinned);
  Connection& add_connection(uint16_t port, std::shared_ptr<const TlsListenerContext> tls);
  void close_listener(const std::string& key);
  void maybe_idle();
  static void on_idle(uv_idle_t* handle);

  Server& server_;
  const unsigned index_;
  Logger& log_;
  Metrics& metrics_;
  LoopMetrics& counters_;
  std::unique_ptr<uv_loop_t> own_loop_;  // null when running on the control loop
  uv_loop_t* loop_;
  std::thread thread_;
  std::unique_ptr<TaskQueue> tasks_;
  std::unique_ptr<Pinned> table_;
  std::shared_ptr<const HealthAnswer> health_ = std::make_shared<const HealthAnswer>();
  std::vector<std::unique_ptr<Pinned>> old_tables_;
  std::unique_ptr<BufferPool> buffers_;
  Completions completions_scratch_;
  std::unique_ptr<char[]> tls_read_buffer_ = std::make_unique<char[]>(kTlsReadBufferSize);
  ObjectPool<RequestContext> contexts_{1024};
  ObjectPool<WriteRequest> writes_{4096};
  std::unique_ptr<DeadlineQueue> deadlines_[kDeadlineKinds];
  std::map<std::string, std::unique_ptr<Listener>> listeners_;  // by "ip:port"
  std::vector<std::unique_ptr<Listener>> closing_listeners_;
  std::list<std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> deferred_;
  std::vector<Connection*> deferred_batch_;             // the one on_idle runs (not reentrant)
  std::vector<std::unique_ptr<Connection>> graveyard_;  // closed, destroyed on the idle pass
  uv_idle_t idle_;
  bool shutting_down_ = false;
  bool idle_reported_ = false;
  bool handles_closed_ = false;
  uint64_t date_second_ = 0;
  std::string date_;
};

}  // namespace sitehost
