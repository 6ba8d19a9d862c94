#include "shared/frontend/worker/worker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <set>

#include "shared/frontend/control/server.h"
#include "shared/frontend/worker/connection.h"
#include "shared/frontend/worker/listener.h"

namespace sitehost {

namespace {

constexpr Duration kLingerTime = std::chrono::seconds(2);

// Read buffer: room for the largest allowed head plus a slice of body.
size_t buffer_size_for(const ServerConfig& s) {
  return std::max<size_t>(size_t{s.max_request_line} + s.max_header_bytes + 2048, 32 * 1024);
}

}  // namespace

Worker::Worker(Server& server, unsigned index, uv_loop_t* loop)
    : server_(server),
      index_(index),
      log_(server.log()),
      metrics_(server.metrics()),
      counters_(server.metrics().loop(index)) {
  if (!loop) {
    own_loop_ = std::make_unique<uv_loop_t>();
    uv_loop_init(own_loop_.get());
    loop = own_loop_.get();
  }
  loop_ = loop;
  tasks_ = std::make_unique<TaskQueue>(loop_);
  uv_idle_init(loop_, &idle_);
  idle_.data = this;
  const intptr_t kinds[] = {kHeaderDeadline, kKeepaliveDeadline, kLingerDeadline, kSendDeadline,
                            kBodyDeadline};
  const Duration initial[] = {Duration(30000), Duration(75000), kLingerTime, Duration(60000),
                              Duration(60000)};
  for (intptr_t kind : kinds)
    deadlines_[kind] = std::make_unique<DeadlineQueue>(
        loop_, initial[kind], &Connection::on_deadline_expired, reinterpret_cast<void*>(kind));
  // An empty table until the first install (no request can arrive before it: no listener).
  table_ = std::make_unique<Pinned>();
  table_->table = std::make_shared<const RoutingTable>();
}

Worker::~Worker() {
  if (own_loop_) {
    // The loop ended (close_handles, join): run the close callbacks still owed, then free it.
    uv_run(own_loop_.get(), UV_RUN_NOWAIT);
    uv_loop_close(own_loop_.get());
  }
}

void Worker::run_thread() {
  thread_ = std::thread([this] {
    uv_run(loop_, UV_RUN_DEFAULT);
    // Close callbacks of the last handles.
    uv_run(loop_, UV_RUN_NOWAIT);
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::install(std::shared_ptr<const RoutingTable> table, std::vector<ListenerSocket> open,
                     std::vector<std::string> close,
                     std::map<uint16_t, std::shared_ptr<const TlsListenerContext>> tls) {
  if (handles_closed_) {
    for (auto& s : open) ::close(s.fd);
    return;
  }
  for (const std::string& key : close) close_listener(key);
  for (auto& s : open) {
    auto listener = std::make_unique<Listener>(*this, s.key, s.port, s.inherited);
    std::string error = listener->open(s.fd);
    if (!error.empty()) {
      log_.error("{}", error);  // the socket was bound and listening: not expected
      listener->close();
      closing_listeners_.push_back(std::move(listener));
      continue;
    }
    listeners_[s.key] = std::move(listener);
  }
  // New certificates apply to new connections; open ones keep theirs.
  for (auto& [key, l] : listeners_) {
    auto it = tls.find(l->port());
    l->set_tls(it == tls.end() ? nullptr : it->second);
  }
  const ServerConfig& s = table->server;
  if (!buffers_ || buffers_->buffer_size() != buffer_size_for(s))
    buffers_ = std::make_unique<BufferPool>(buffer_size_for(s), 256);
  deadlines_[kHeaderDeadline]->set_timeout(s.header_timeout);
  deadlines_[kKeepaliveDeadline]->set_timeout(s.keepalive_timeout);
  deadlines_[kSendDeadline]->set_timeout(s.send_timeout);
  deadlines_[kBodyDeadline]->set_timeout(s.body_timeout);
  // Connections that came in on a port no longer listened on finish their exchange and close.
  // HTTP/2 connections all get a GOAWAY (docs/http2.md): their clients' next requests open a
  // new connection, which negotiates with the new config.
  std::vector<Connection*> orphans;
  for (auto& c : connections_)
    if (!table->ports.count(c->local_port_) || c->speaks_http2()) orphans.push_back(c.get());
  for (Connection* c : orphans) c->drain();
  std::unique_ptr<Pinned> old = std::exchange(table_, std::make_unique<Pinned>());
  table_->table = std::move(table);
  if (old->users > 0) old_tables_.push_back(std::move(old));
  accept_paused();
}

void Worker::close_listener(const std::string& key) {
  auto it = listeners_.find(key);
  if (it == listeners_.end()) return;
  it->second->close();
  closing_listeners_.push_back(std::move(it->second));
  listeners_.erase(it);
}

void Worker::begin_routed(RequestContext& ctx, const Route& route) {
  ++table_->users;
  ctx.pinned_table = table_.get();
  ctx.site = route.site;
  ctx.site_config = route.config;
  ctx.metrics = route.metrics;
  ctx.metrics->loop(index_).in_flight.add();
}

void Worker::unpin(Pinned* pinned) {
  if (--pinned->users > 0 || pinned == table_.get()) return;
  std::erase_if(old_tables_,
                [pinned](const std::unique_ptr<Pinned>& p) { return p.get() == pinned; });
}

void Worker::return_context(std::unique_ptr<RequestContext> ctx) {
  if (ctx->metrics) ctx->metrics->loop(index_).in_flight.sub();
  if (auto* pinned = static_cast<Pinned*>(std::exchange(ctx->pinned_table, nullptr))) unpin(pinned);
  ctx->reset();
  contexts_.release(std::move(ctx));
}

void Worker::return_buffer(std::unique_ptr<char[]> buffer, uint32_t size) {
  if (buffers_ && buffers_->buffer_size() == size) buffers_->release(std::move(buffer));
}

Connection& Worker::add_connection(uint16_t port, std::shared_ptr<const TlsListenerContext> tls) {
  auto connection = std::make_unique<Connection>(*this, port, std::move(tls));
  Connection& c = *connection;
  connections_.push_front(std::move(connection));
  c.self = connections_.begin();
  counters_.connections.add();
  return c;
}

void Worker::on_listener_ready(Listener* listener) {
  if (shutting_down_ || !server_.reserve_connection()) return;  // stays pending
  listener->accept_pending(add_connection(listener->port(), listener->tls()));
}

void Worker::accept_now(Listener* listener) {
  server_.force_reserve_connection();
  Connection& c = add_connection(listener->port(), listener->tls());
  if (listener->accept_pending(c) && shutting_down_) c.drain();
}

void Worker::adopt(int fd, uint16_t port, const std::shared_ptr<const TlsListenerContext>& tls) {
  server_.force_reserve_connection();
  Connection& c = add_connection(port, tls);
  if (c.adopt(fd) && shutting_down_) c.drain();
}

void Worker::accept_paused() {
  for (auto& [key, listener] : listeners_)
    while (listener->pending() && !shutting_down_ && !handles_closed_) {
      size_t before = connections_.size();
      on_listener_ready(listener.get());
      if (connections_.size() == before) break;  // at max_connections
    }
}

void Worker::connection_closed(Connection* c) {
  for (auto& d : deferred_)
    if (d == c) d = nullptr;
  graveyard_.push_back(std::move(*c->self));
  connections_.erase(c->self);
  counters_.connections.sub();
  uv_idle_start(&idle_, &Worker::on_idle);
  server_.release_connection();
  accept_paused();
  maybe_idle();
}

void Worker::defer(Connection* c) {
  if (c->deferred_pending || c->dead()) return;
  c->deferred_pending = true;
  if (c->in_read_callback) return;  // Connection::on_read runs it before it returns
  deferred_.push_back(c);
  uv_idle_start(&idle_, &Worker::on_idle);
}

void Worker::on_idle(uv_idle_t* handle) {
  auto* self = static_cast<Worker*>(handle->data);
  std::vector<Connection*>& batch = self->deferred_batch_;  // keeps its capacity
  batch.swap(self->deferred_);
  for (size_t i = 0; i < batch.size(); ++i) {
    Connection* c = batch[i];
    if (!c) continue;
    // A connection destroyed by an earlier entry of this batch is nulled in deferred_ only.
    bool closed_meanwhile = false;
    for (auto* g = self->graveyard_.data(); g != self->graveyard_.data() + self->graveyard_.size();
         ++g)
      if (g->get() == c) closed_meanwhile = true;
    // Not pending any more: it ran from its read callback already (Connection::on_read).
    if (closed_meanwhile || !c->deferred_pending) continue;
    c->deferred_pending = false;
    c->run_deferred();
  }
  batch.clear();
  self->graveyard_.clear();
  if (self->deferred_.empty()) uv_idle_stop(handle);
}

std::string_view Worker::date_header() {
  time_t now = time(nullptr);
  if (static_cast<uint64_t>(now) != date_second_) {
    date_second_ = static_cast<uint64_t>(now);
    tm utc{};
    gmtime_r(&now, &utc);
    char buf[64];
    size_t n = std::strftime(buf, sizeof buf, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &utc);
    date_.assign(buf, n);
  }
  return date_;
}

void Worker::begin_shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  std::vector<std::string> keys;
  for (auto& [key, l] : listeners_) keys.push_back(key);
  for (const auto& key : keys) close_listener(key);
  std::vector<Connection*> all;
  for (auto& c : connections_) all.push_back(c.get());
  for (Connection* c : all) c->drain();
  maybe_idle();
}

void Worker::close_connections_now() {
  std::vector<Connection*> open;
  for (auto& c : connections_) open.push_back(c.get());
  for (Connection* c : open) c->close_now();
}

void Worker::maybe_idle() {
  if (!shutting_down_ || idle_reported_ || !connections_.empty()) return;
  idle_reported_ = true;
  server_.worker_idle(index_);
}

void Worker::close_handles() {
  if (handles_closed_) return;
  handles_closed_ = true;
  for (auto& [key, l] : listeners_) {
    l->close();
    closing_listeners_.push_back(std::move(l));
  }
  listeners_.clear();
  auto close = [](auto* h) {
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(h)))
      uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
  };
  close(&idle_);
  for (auto& d : deadlines_) d->close();
  tasks_->close();
}

}  // namespace sitehost
