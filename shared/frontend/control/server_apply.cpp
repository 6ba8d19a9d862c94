// Server::apply: a config becomes the running one in phases. Everything that can fail comes first
// (logs, certificates, listening sockets, sites, the admin socket) and changes nothing that runs;
// a failure closes what it opened and keeps the running config. Then the commit: the new routing
// table goes to every worker at once, and only once every worker has it are replaced sites
// stopped (no request can reach a stopped site through an old table).
#include <unistd.h>

#include <set>

#include <fmt/format.h>

#include "shared/frontend/control/admin_server.h"
#include "shared/frontend/control/managed_site.h"
#include "shared/frontend/control/server.h"
#include "shared/frontend/worker/listener.h"
#include "shared/frontend/worker/worker.h"
#include "shared/net/listen_socket.h"

namespace sitehost {

struct Server::Plan {
  TlsListenersResult tls;
  // New listening addresses: key → one socket per worker.
  std::map<std::string, std::vector<ListenerSocket>> opened;
  std::set<std::string> wanted;  // every listening address of the new config
  // New addresses served on an inherited socket (socket activation): key → how it is known.
  std::map<std::string, std::string> inherited;
  std::map<std::string, SiteEntry> sites;
  std::shared_ptr<RoutingTable> table = std::make_shared<RoutingTable>();
};

namespace {

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
  const HealthEndpoint& health = config.server.health;  // its port is its own (config_loader)
  if (health.kind == HealthEndpoint::Kind::kAddress) out.emplace(health.ip, health.port);
  return out;
}

}  // namespace

std::string Server::apply(Config config, bool initial) {
  for (const auto& w : config.warnings) log_.warn("{}", w);
  if (!initial && config.server.event_loops != config_.server.event_loops)
    log_.warn("event_loops changed: it takes effect at the next start ({} loop(s) keep running)",
              workers_.size());
  std::string error = prepare_logs(config, initial);
  Plan plan;
  if (error.empty()) {
    // Certificates first: a bad one rejects the whole config (the running one stays).
    plan.tls = build_tls_listeners(config.sites);
    error = plan.tls.error;
  }
  if (error.empty()) error = open_listeners(config, plan);
  if (error.empty()) error = build_sites(config, plan);
  if (error.empty() && admin_) error = admin_->listen(config.server.admin);
  if (!error.empty()) {
    abandon(plan);
    return error;
  }
  warn_unused_inherited(config);
  commit(std::move(config), std::move(plan));
  return {};
}

std::string Server::prepare_logs(const Config& config, bool initial) {
  const ServerConfig& s = config.server;
  if (initial || s.error_log != config_.server.error_log ||
      s.access_log != config_.server.access_log || s.log_level != config_.server.log_level)
    return log_.configure(s.error_log, s.access_log, s.log_level);
  return {};
}

std::string Server::open_listeners(const Config& config, Plan& plan) {
  // One loop binds as before; several share each address through SO_REUSEPORT. An address with
  // an inherited socket (socket activation) is not bound: every loop gets a dup() of that socket
  // (one accept queue, see shared/service/inherited_listeners.h).
  const bool reuseport = workers_.size() > 1;
  for (const auto& [ip, port] : listen_addresses(config)) {
    std::string key = listener_key(ip, port);
    plan.wanted.insert(key);
    if (listeners_.count(key)) continue;
    bool inherited = inherited_.has(ip, port);
    if (inherited) plan.inherited[key] = inherited_.describe_for(ip, port);
    auto& sockets = plan.opened[key];
    for (size_t i = 0; i < workers_.size(); ++i) {
      std::string error;
      int fd = inherited ? inherited_.dup_for(ip, port, &error)
                         : open_listen_socket(ip, port, reuseport, &error);
      if (fd < 0) return error;
      sockets.push_back({key, port, fd, inherited});
    }
  }
  return {};
}

void Server::warn_unused_inherited(const Config& config) {
  if (inherited_.empty()) return;
  auto wanted = listen_addresses(config);
  for (const auto& socket : inherited_.unused({wanted.begin(), wanted.end()}))
    log_.warn("socket activation: {} matches no binding: connections to it wait unanswered",
              socket);
}

std::string Server::build_sites(const Config& config, Plan& plan) {
  // Sites: an unchanged site keeps its object (and its children, libraries, connections).
  for (const auto& sc : config.sites) {
    auto old = sites_.find(sc.name);
    SiteEntry entry;
    if (old != sites_.end() && *old->second.config == sc) {
      entry = old->second;
    } else {
      entry.config = std::make_shared<const SiteConfig>(sc);
      auto factory = factories_.find(sc.hosting_model);
      if (factory == factories_.end()) return fmt::format("site {}: no hosting model", sc.name);
      entry.site = std::make_shared<ManagedSite>(
          entry.config, factory->second, site_context_, metrics_->site(sc),
          [this](std::shared_ptr<Site> retired) { stop_site(std::move(retired)); });
    }
    for (const auto& b : sc.bindings)
      plan.table->router.add(
          Route{b, sc.path, entry.site.get(), entry.config.get(), &entry.site->metrics()});
    plan.table->sites.push_back(entry.site);
    plan.table->configs.push_back(entry.config);
    plan.sites.emplace(sc.name, std::move(entry));
  }
  return {};
}

void Server::abandon(Plan& plan) {
  for (auto& [key, sockets] : plan.opened)
    for (auto& s : sockets) ::close(s.fd);
  plan.opened.clear();
}

void Server::commit(Config config, Plan plan) {
  const ServerConfig& s = config.server;
  RoutingTable& table = *plan.table;
  table.server = s;
  table.limits.max_request_line = s.max_request_line;
  table.limits.max_header_bytes = s.max_header_bytes;
  table.limits.max_headers = s.max_headers;
  table.limits.max_body = UINT64_MAX;  // per-site limits are applied after routing
  for (const auto& [key, sockets] : plan.opened) listeners_[key] = sockets.front().port;
  std::vector<std::string> closing;
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (plan.wanted.count(it->first)) {
      ++it;
      continue;
    }
    log_.info("closing listener {}", it->first);
    closing.push_back(it->first);
    it = listeners_.erase(it);
  }
  for (const auto& [key, port] : listeners_) table.ports.insert(port);
  for (const auto& [key, sockets] : plan.opened) {
    uint16_t port = sockets.front().port;
    bool health = s.health.kind == HealthEndpoint::Kind::kAddress && s.health.port == port;
    auto inherited = plan.inherited.find(key);
    log_.info("listening on {}{}{}", key,
              plan.tls.listeners.count(port) ? " (https)"
              : health                       ? " (health)"
                                             : "",
              inherited == plan.inherited.end()
                  ? ""
                  : fmt::format(" (inherited from systemd: {})", inherited->second));
  }
  max_connections_.store(s.max_connections, std::memory_order_relaxed);

  // The sites this config replaces or removes stop once no worker can route to them.
  std::vector<std::shared_ptr<Site>> replaced;
  for (auto& [name, entry] : sites_) {
    auto kept = plan.sites.find(name);
    if (kept == plan.sites.end() || kept->second.site != entry.site) replaced.push_back(entry.site);
  }
  sites_ = std::move(plan.sites);
  config_ = std::move(config);
  // Sites first: a new site's loops learn its app before the table that routes to it.
  for (auto& [name, entry] : sites_) entry.site->start();
  publish(plan, std::move(closing), std::move(replaced));
}

void Server::publish(Plan& plan, std::vector<std::string> closing,
                     std::vector<std::shared_ptr<Site>> replaced) {
  // Every worker installs the table; once all have, the replaced sites stop (no loop can route
  // to them any more).
  struct Shared {
    std::shared_ptr<const RoutingTable> table;
    std::map<std::string, std::vector<ListenerSocket>> opened;
    std::vector<std::string> closing;
    std::map<uint16_t, std::shared_ptr<const TlsListenerContext>> tls;
  };
  health_config_applied();  // before the table: no loop serves a new endpoint with an old answer
  auto shared = std::make_shared<Shared>(
      Shared{plan.table, std::move(plan.opened), std::move(closing), plan.tls.listeners});
  plan.opened.clear();
  broadcast(
      &loops_,
      [this, shared](unsigned i) {
        std::vector<ListenerSocket> open;
        for (auto& [key, sockets] : shared->opened) open.push_back(std::exchange(sockets[i], {}));
        workers_[i]->install(shared->table, std::move(open), shared->closing, shared->tls);
      },
      [this, shared, replaced = std::move(replaced)] {
        for (auto& [key, sockets] : shared->opened)  // those of loops that had stopped
          for (auto& socket : sockets)
            if (socket.fd >= 0) ::close(socket.fd);
        for (auto& site : replaced) stop_site(site);
        health_serving();
      });
}

}  // namespace sitehost
