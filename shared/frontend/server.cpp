#include "shared/frontend/server.h"

#include <csignal>
#include <ctime>
#include <set>

#include <fmt/format.h>

#include "shared/config/config_loader.h"
#include "shared/frontend/admin_server.h"
#include "shared/frontend/app_offline.h"
#include "shared/frontend/connection.h"
#include "shared/frontend/listener.h"

namespace sitehost {

namespace {

constexpr Duration kLingerTime = std::chrono::seconds(2);
constexpr Duration kStopGrace = std::chrono::seconds(5);  // after shutdown_timeout, for sites

// Read buffer: room for the largest allowed head plus a slice of body.
size_t buffer_size_for(const ServerConfig& s) {
  return std::max<size_t>(size_t{s.max_request_line} + s.max_header_bytes + 2048, 32 * 1024);
}

// Which addresses to listen on: per port, the IP-literal bindings' own addresses when every
// binding on that port names an IP, else the wildcard (name-based and `*` bindings need it).
std::set<std::pair<std::string, uint16_t>> listen_addresses(const Config& config) {
  std::map<uint16_t, std::set<std::string>> ips;
  std::set<uint16_t> wildcard;
  bool any_v6 = false;
  for (const auto& site : config.sites)
    for (const auto& b : site.bindings) {
      if (b.host_is_ip) {
        ips[b.port].insert(b.host);
        any_v6 = any_v6 || b.host.find(':') != std::string::npos;
      } else {
        wildcard.insert(b.port);
      }
    }
  std::set<std::pair<std::string, uint16_t>> out;
  for (uint16_t port : wildcard) out.emplace(any_v6 ? "::" : "0.0.0.0", port);
  for (const auto& [port, set] : ips)
    if (!wildcard.count(port))
      for (const auto& ip : set) out.emplace(ip, port);
  return out;
}

}  // namespace

Server::Server(uv_loop_t* loop, Logger& log, std::map<HostingModel, SiteFactory> factories)
    : loop_(loop), log_(log), factories_(std::move(factories)) {
  uv_idle_init(loop_, &idle_);
  idle_.data = this;
  for (auto& s : signals_) {
    uv_signal_init(loop_, &s);
    s.data = this;
  }
  uv_timer_init(loop_, &shutdown_timer_);
  shutdown_timer_.data = this;
  deadlines_[kHeaderDeadline] =
      std::make_unique<DeadlineQueue>(loop_, Duration(30000), &Connection::on_deadline_expired,
                                      reinterpret_cast<void*>(intptr_t{kHeaderDeadline}));
  deadlines_[kKeepaliveDeadline] =
      std::make_unique<DeadlineQueue>(loop_, Duration(75000), &Connection::on_deadline_expired,
                                      reinterpret_cast<void*>(intptr_t{kKeepaliveDeadline}));
  deadlines_[kLingerDeadline] =
      std::make_unique<DeadlineQueue>(loop_, kLingerTime, &Connection::on_deadline_expired,
                                      reinterpret_cast<void*>(intptr_t{kLingerDeadline}));
  site_context_.loop = loop_;
  site_context_.log = &log_;
  site_context_.server = &config_.server;
  site_context_.metrics = &metrics_;
}

Server::~Server() = default;

std::string Server::start(Config config) {
  if (admin_enabled_ && !admin_) admin_ = std::make_unique<AdminServer>(*this);
  // Handlers first: once a listener is open a client may already send SIGHUP (whose default
  // action would kill us); the signal is handled when the loop runs.
  uv_signal_start(&signals_[0], &Server::on_signal, SIGTERM);
  uv_signal_start(&signals_[1], &Server::on_signal, SIGINT);
  uv_signal_start(&signals_[2], &Server::on_signal, SIGHUP);
  uv_signal_start(&signals_[3], &Server::on_signal, SIGUSR1);
  std::string error = apply(std::move(config), true);
  if (!error.empty()) {
    close_own_handles();
    return error;
  }
  return {};
}

int Server::run() {
  uv_run(loop_, UV_RUN_DEFAULT);
  return exit_code_;
}

std::string Server::open_listeners(const Config& config,
                                   std::map<std::string, std::unique_ptr<Listener>>& opened) {
  for (const auto& [ip, port] : listen_addresses(config)) {
    std::string key = listener_key(ip, port);
    if (listeners_.count(key)) continue;
    auto listener = std::make_unique<Listener>(*this, ip, port);
    std::string error = listener->open();
    if (!error.empty()) {
      listener->close();
      closing_listeners_.push_back(std::move(listener));
      return error;
    }
    opened.emplace(key, std::move(listener));
  }
  return {};
}

std::string Server::apply(Config config, bool initial) {
  for (const auto& w : config.warnings) log_.warn("{}", w);

  const ServerConfig& s = config.server;
  if (initial || s.error_log != config_.server.error_log ||
      s.access_log != config_.server.access_log || s.log_level != config_.server.log_level) {
    std::string error = log_.configure(s.error_log, s.access_log, s.log_level);
    if (!error.empty()) return error;
  }

  // Certificates first: a bad one rejects the whole config (the running one stays).
  TlsListenersResult tls = build_tls_listeners(config.sites);
  if (!tls.error.empty()) return tls.error;

  std::map<std::string, std::unique_ptr<Listener>> opened;
  std::string error = open_listeners(config, opened);
  if (!error.empty()) {
    for (auto& [key, l] : opened) {
      l->close();
      closing_listeners_.push_back(std::move(l));
    }
    return error;
  }

  // Sites: an unchanged site keeps its object (and its children, libraries, connections).
  std::map<std::string, SiteEntry> sites;
  auto router = std::make_unique<Router>();
  for (const auto& sc : config.sites) {
    auto old = sites_.find(sc.name);
    SiteEntry entry;
    if (old != sites_.end() && *old->second.config == sc) {
      entry = old->second;
    } else {
      entry.config = std::make_shared<const SiteConfig>(sc);
      auto factory = factories_.find(sc.hosting_model);
      if (factory == factories_.end()) {
        error = fmt::format("site {}: no hosting model", sc.name);
        break;
      }
      entry.site = std::make_shared<ManagedSite>(
          entry.config, factory->second, site_context_, metrics_.site(sc),
          [this](std::shared_ptr<Site> retired) { stop_site(std::move(retired)); });
    }
    for (const auto& b : sc.bindings)
      router->add(Route{b, sc.path, entry.site, entry.config, &entry.site->metrics()});
    sites.emplace(sc.name, std::move(entry));
  }
  if (error.empty() && admin_) error = admin_->listen(s.admin);
  if (!error.empty()) {
    for (auto& [key, l] : opened) {
      l->close();
      closing_listeners_.push_back(std::move(l));
    }
    return error;
  }

  // Commit: from here on nothing fails.
  for (auto& [name, entry] : sites_) {
    auto kept = sites.find(name);
    if (kept == sites.end() || kept->second.site != entry.site) stop_site(entry.site);
  }
  std::set<std::string> wanted;
  for (const auto& [ip, port] : listen_addresses(config)) wanted.insert(listener_key(ip, port));
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    log_.info("closing listener {}", it->first);
    it->second->close();
    closing_listeners_.push_back(std::move(it->second));
    it = listeners_.erase(it);
  }
  for (auto& [key, l] : opened) {
    log_.info("listening on {}{}", key, tls.listeners.count(l->port()) ? " (https)" : "");
    listeners_.emplace(key, std::move(l));
  }
  // New certificates apply to new connections; open ones keep theirs.
  for (auto& [key, l] : listeners_) {
    auto it = tls.listeners.find(l->port());
    l->set_tls(it == tls.listeners.end() ? nullptr : it->second);
  }
  // Connections that came in on a port no longer listened on finish their exchange and close.
  std::set<uint16_t> ports;
  for (const auto& [key, l] : listeners_) ports.insert(l->port());
  std::vector<Connection*> orphans;
  for (auto& c : connections_)
    if (!ports.count(c->local_port_)) orphans.push_back(c.get());
  for (Connection* c : orphans) c->drain();
  sites_ = std::move(sites);
  router_ = std::move(router);
  if (!buffers_ || buffers_->buffer_size() != buffer_size_for(s))
    buffers_ = std::make_unique<BufferPool>(buffer_size_for(s), 256);
  limits_.max_request_line = s.max_request_line;
  limits_.max_header_bytes = s.max_header_bytes;
  limits_.max_headers = s.max_headers;
  limits_.max_body = UINT64_MAX;  // per-site limits are applied after routing
  deadlines_[kHeaderDeadline]->set_timeout(s.header_timeout);
  deadlines_[kKeepaliveDeadline]->set_timeout(s.keepalive_timeout);
  config_ = std::move(config);
  for (auto& [name, entry] : sites_) entry.site->start();
  accept_paused();
  return {};
}

std::string Server::reload(std::string* summary) {
  if (shutting_down_) return "shutting down";
  log_.info("reloading {}", config_.file.string());
  LoadResult result = load_config(config_.file);
  std::string error = std::move(result.error);
  size_t count = result.config ? result.config->sites.size() : 0;
  if (result.config) error = apply(std::move(*result.config), false);
  metrics_.reload_done(error.empty());
  if (!error.empty()) {
    log_.error("reload failed, keeping the running config: {}", error);
    return error;
  }
  log_.info("config reloaded: {} site(s)", count);
  if (summary) *summary = fmt::format("config reloaded: {} site(s)", count);
  return {};
}

bool Server::reload_site(std::string_view name, std::string& message) {
  auto it = sites_.find(std::string(name));
  if (it == sites_.end() || shutting_down_) return false;
  message = it->second.site->reload_app();
  log_.info("{}", message);
  return true;
}

void Server::stop_site(std::shared_ptr<Site> site) {
  stopping_sites_.push_back(site);
  Site* raw = site.get();
  raw->stop([this, raw] {
    for (auto it = stopping_sites_.begin(); it != stopping_sites_.end(); ++it)
      if (it->get() == raw) {
        // Destroyed from the idle pass, never inside the site's own call.
        retired_sites_.push_back(std::move(*it));
        stopping_sites_.erase(it);
        uv_idle_start(&idle_, &Server::on_idle);
        break;
      }
    maybe_finish_shutdown();
  });
}

void Server::on_listener_ready(Listener* listener) {
  if (shutting_down_ || connections_.size() >= config_.server.max_connections) return;
  auto connection = std::make_unique<Connection>(*this, listener->port(), listener->tls());
  Connection& c = *connection;
  connections_.push_front(std::move(connection));
  c.self = connections_.begin();
  listener->accept_pending(c);
}

void Server::accept_paused() {
  for (auto& [key, listener] : listeners_)
    while (listener->pending() && !shutting_down_ &&
           connections_.size() < config_.server.max_connections)
      on_listener_ready(listener.get());
}

void Server::connection_closed(Connection* c) {
  for (auto& d : deferred_)
    if (d == c) d = nullptr;
  graveyard_.push_back(std::move(*c->self));
  connections_.erase(c->self);
  uv_idle_start(&idle_, &Server::on_idle);
  accept_paused();
  maybe_finish_shutdown();
}

void Server::defer(Connection* c) {
  if (c->deferred_pending || c->dead()) return;
  c->deferred_pending = true;
  if (c->in_read_callback) return;  // Connection::on_read runs it before it returns
  deferred_.push_back(c);
  uv_idle_start(&idle_, &Server::on_idle);
}

void Server::on_idle(uv_idle_t* handle) {
  auto* self = static_cast<Server*>(handle->data);
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
  self->retired_sites_.clear();
  if (self->deferred_.empty()) uv_idle_stop(handle);
}

void Server::return_context(std::unique_ptr<RequestContext> ctx) {
  ctx->reset();
  contexts_.release(std::move(ctx));
}

void Server::return_buffer(std::unique_ptr<char[]> buffer, uint32_t size) {
  if (buffers_ && buffers_->buffer_size() == size) buffers_->release(std::move(buffer));
}

std::string_view Server::date_header() {
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

void Server::on_signal(uv_signal_t* handle, int signum) {
  auto* self = static_cast<Server*>(handle->data);
  switch (signum) {
    case SIGHUP:
      self->reload();
      break;
    case SIGUSR1: {
      std::string error = self->log_.reopen();
      if (error.empty())
        self->log_.info("log files reopened");
      else
        self->log_.error("reopening log files failed: {}", error);
      break;
    }
    default:
      self->begin_shutdown();
  }
}

void Server::begin_shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  log_.info("shutting down: {} connection(s) open, waiting up to {} ms", connections_.size(),
            config_.server.shutdown_timeout.count());
  for (auto& [key, l] : listeners_) {
    l->close();
    closing_listeners_.push_back(std::move(l));
  }
  listeners_.clear();
  if (admin_) admin_->stop_listening();
  std::vector<Connection*> all;
  for (auto& c : connections_) all.push_back(c.get());
  for (Connection* c : all) c->drain();
  for (auto& [name, entry] : sites_) stop_site(entry.site);
  sites_.clear();
  router_ = std::make_unique<Router>();
  uv_timer_start(
      &shutdown_timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<Server*>(t->data);
        if (!self->shutdown_forced_) {
          self->shutdown_forced_ = true;
          self->log_.warn("shutdown_timeout reached: closing {} connection(s)",
                          self->connections_.size());
          std::vector<Connection*> open;
          for (auto& c : self->connections_) open.push_back(c.get());
          for (Connection* c : open) c->close_now();
          uv_timer_start(t, t->timer_cb, static_cast<uint64_t>(kStopGrace.count()), 0);
          return;
        }
        self->log_.error("sites did not stop in time; exiting anyway");
        self->close_own_handles();
        uv_stop(self->loop_);
      },
      static_cast<uint64_t>(config_.server.shutdown_timeout.count()), 0);
  maybe_finish_shutdown();
}

void Server::maybe_finish_shutdown() {
  if (!shutting_down_ || handles_closed_) return;
  if (!connections_.empty() || !stopping_sites_.empty()) return;
  log_.info("stopped");
  close_own_handles();
}

void Server::close_own_handles() {
  if (handles_closed_) return;
  handles_closed_ = true;
  for (auto& [key, l] : listeners_) {
    l->close();
    closing_listeners_.push_back(std::move(l));
  }
  listeners_.clear();
  if (admin_) admin_->close();
  auto close = [](auto* h) {
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(h)))
      uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
  };
  close(&idle_);
  close(&shutdown_timer_);
  for (auto& s : signals_) close(&s);
  for (auto& d : deadlines_) d->close();
}

}  // namespace sitehost
