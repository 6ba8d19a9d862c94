// Server: start, the event-loop workers, signals, reload entry points and shutdown. Applying a
// config is in server_apply.cpp.
#include "shared/frontend/control/server.h"

#include <sched.h>

#include <csignal>

#include <fmt/format.h>

#include "shared/config/config_loader.h"
#include "shared/frontend/control/admin_server.h"
#include "shared/frontend/control/managed_site.h"
#include "shared/frontend/worker/worker.h"

namespace sitehost {

namespace {

constexpr Duration kStopGrace = std::chrono::seconds(5);  // after shutdown_timeout, for sites

// event_loops = "auto": the CPUs this process may run on.
size_t loops_for(const ServerConfig& s) {
  if (s.event_loops > 0) return s.event_loops;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  int n = CPU_COUNT(&set);
  return n > 0 ? std::min<size_t>(static_cast<size_t>(n), kMaxEventLoops) : 1;
}

}  // namespace

Server::Server(uv_loop_t* loop, Logger& log, std::map<HostingModel, SiteFactory> factories)
    : loop_(loop), log_(log), factories_(std::move(factories)) {
  for (auto& s : signals_) {
    uv_signal_init(loop_, &s);
    s.data = this;
  }
  uv_timer_init(loop_, &shutdown_timer_);
  shutdown_timer_.data = this;
  tasks_ = std::make_unique<TaskQueue>(loop_);
  site_context_.loop = loop_;
  site_context_.log = &log_;
  site_context_.server = &config_.server;
  site_context_.loops = &loops_;
  health_ = std::make_unique<HealthMonitor>(
      loop_, [this] { return health_answer(); },
      [this](std::shared_ptr<const HealthAnswer> answer) {
        for (auto& w : workers_)
          w->post([worker = w.get(), answer] { worker->set_health(answer); });
      });
}

uv_loop_t* Server::Loops::loop(unsigned index) const {
  return server_.workers_[index]->loop();
}

bool Server::Loops::post(unsigned index, std::function<void()> task) {
  return server_.workers_[index]->post(std::move(task));
}

bool Server::Loops::post_control(std::function<void()> task) {
  return server_.tasks_->post(std::move(task));
}

Server::~Server() {
  for (auto& w : workers_) w->join();
}

std::string Server::start(Config config) {
  // Handlers first: once a listener is open a client may already send SIGHUP (whose default
  // action would kill us); the signal is handled when the loop runs.
  uv_signal_start(&signals_[0], &Server::on_signal, SIGTERM);
  uv_signal_start(&signals_[1], &Server::on_signal, SIGINT);
  uv_signal_start(&signals_[2], &Server::on_signal, SIGHUP);
  uv_signal_start(&signals_[3], &Server::on_signal, SIGUSR1);
  start_workers(config);
  if (admin_enabled_ && !admin_) admin_ = std::make_unique<AdminServer>(*this);
  std::string error = apply(std::move(config), true);
  if (!error.empty()) {
    close_own_handles();
    return error;
  }
  return {};
}

void Server::start_workers(const Config& config) {
  size_t count = loops_for(config.server);
  metrics_ = std::make_unique<Metrics>(count);
  site_context_.metrics = metrics_.get();
  // Loop 0 may be the control thread's own loop (sitehost-app: one loop, one thread).
  for (size_t i = 0; i < count; ++i) {
    bool inline_loop = i == 0 && control_serves_loop0_;
    workers_.push_back(std::make_unique<Worker>(*this, static_cast<unsigned>(i),
                                                inline_loop ? loop_ : nullptr));
    if (!inline_loop) workers_.back()->run_thread();
  }
}

int Server::run() {
  uv_run(loop_, UV_RUN_DEFAULT);
  for (auto& w : workers_) w->join();
  return exit_code_;
}

std::string Server::reload(std::string* summary) {
  if (shutting_down_ || stop_requested_) return "shutting down";
  log_.info("reloading {}", config_.file.string());
  LoadResult result = load_config(config_.file);
  std::string error = std::move(result.error);
  size_t count = result.config ? result.config->sites.size() : 0;
  if (result.config) error = apply(std::move(*result.config), false);
  metrics_->reload_done(error.empty());
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
        // Destroyed on a later turn, never inside the site's own call.
        retired_sites_.push_back(std::move(*it));
        stopping_sites_.erase(it);
        tasks_->post([this] { retired_sites_.clear(); });
        break;
      }
    maybe_finish_shutdown();
  });
}

bool Server::reserve_connection() {
  uint32_t open = open_connections_.load(std::memory_order_relaxed);
  do {
    if (open >= max_connections_.load(std::memory_order_relaxed)) return false;
  } while (!open_connections_.compare_exchange_weak(open, open + 1, std::memory_order_relaxed));
  return true;
}

void Server::release_connection() {
  uint32_t before = open_connections_.fetch_sub(1, std::memory_order_relaxed);
  // The server was full: every loop may hold a connection it left waiting.
  if (before >= max_connections_.load(std::memory_order_relaxed))
    for (auto& w : workers_) {
      Worker* worker = w.get();
      worker->post([worker] { worker->accept_paused(); });
    }
}

void Server::worker_idle(unsigned) {
  tasks_->post([this] {
    ++idle_workers_;
    maybe_finish_shutdown();
  });
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
  if (shutting_down_ || hold_for_drain()) return;
  shutting_down_ = true;
  log_.info("shutting down: {} connection(s) open, waiting up to {} ms", metrics_->connections(),
            config_.server.shutdown_timeout.count());
  listeners_.clear();
  if (admin_) admin_->stop_listening();
  for (auto& w : workers_) {
    Worker* worker = w.get();
    if (!worker->post([worker] { worker->begin_shutdown(); })) ++idle_workers_;
  }
  for (auto& [name, entry] : sites_) stop_site(entry.site);
  sites_.clear();
  uv_timer_start(
      &shutdown_timer_, [](uv_timer_t* t) { static_cast<Server*>(t->data)->on_shutdown_timer(); },
      static_cast<uint64_t>(config_.server.shutdown_timeout.count()), 0);
  maybe_finish_shutdown();
}

void Server::on_shutdown_timer() {
  if (!shutdown_forced_) {
    shutdown_forced_ = true;
    log_.warn("shutdown_timeout reached: closing {} connection(s)", metrics_->connections());
    for (auto& w : workers_) {
      Worker* worker = w.get();
      worker->post([worker] { worker->close_connections_now(); });
    }
    uv_timer_start(&shutdown_timer_, shutdown_timer_.timer_cb,
                   static_cast<uint64_t>(kStopGrace.count()), 0);
    return;
  }
  log_.error("sites did not stop in time; exiting anyway");
  close_own_handles(/*stop_loops=*/true);
  uv_stop(loop_);
}

void Server::maybe_finish_shutdown() {
  if (!shutting_down_ || handles_closed_) return;
  if (idle_workers_ < workers_.size() || !stopping_sites_.empty()) return;
  log_.info("stopped");
  close_own_handles();
}

void Server::close_own_handles(bool stop_loops) {
  if (handles_closed_) return;
  handles_closed_ = true;
  if (admin_) admin_->close();
  // The workers close theirs on their own threads; their loops then end (or are stopped, when
  // connections that sites still hold would keep them running).
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->post([worker, stop_loops] {
      worker->close_handles();
      if (stop_loops) uv_stop(worker->loop());
    });
  }
  auto close = [](auto* h) {
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(h)))
      uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
  };
  close(&shutdown_timer_);
  for (auto& s : signals_) close(&s);
  health_->close();
  drain_timer_.close();
  // Last: the workers' posts above run first (the inline worker's queue is on this loop too).
  tasks_->post([this] { tasks_->close(); });
}

}  // namespace sitehost
