#include "proxy/child_slot.h"

#include <signal.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>

#include <fmt/format.h>

#include "proxy/proxy_site.h"
#include "shared/log/logger.h"

namespace sitehost::proxy {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kFirstProbeMs = 5;
constexpr uint64_t kMaxProbeMs = 250;

std::string random_token() {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n > 0)
      got += static_cast<size_t>(n);
    else if (errno != EINTR)
      break;
  }
  std::string token;
  token.reserve(32);
  for (unsigned char b : bytes) fmt::format_to(std::back_inserter(token), "{:02x}", b);
  return token;
}

bool is_executable_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

}  // namespace

std::string resolve_program(const SiteConfig& config, std::string* error) {
  const fs::path& configured = config.process_path;
  if (configured.empty()) {
    *error = "process_path is not set";
    return {};
  }
  fs::path program = configured.is_relative() ? config.physical_path / configured : configured;
  if (is_executable_file(program)) return program.string();
  bool bare = configured.is_relative() ? !configured.has_parent_path()
                                       : configured.parent_path() == config.physical_path;
  if (bare) {
    const char* path = std::getenv("PATH");
    std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    while (!dirs.empty()) {
      size_t colon = dirs.find(':');
      std::string_view dir = dirs.substr(0, colon);
      if (!dir.empty()) {
        fs::path candidate = fs::path(dir) / configured.filename();
        if (is_executable_file(candidate)) return candidate.string();
      }
      if (colon == std::string_view::npos) break;
      dirs.remove_prefix(colon + 1);
    }
  }
  std::error_code ec;
  *error = fs::exists(program, ec) ? fmt::format("'{}' is not an executable file", program.string())
                                   : fmt::format("'{}' does not exist", program.string());
  return {};
}

namespace {

const char* signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? abbrev : "?";
}

}  // namespace

ChildSlot::ChildSlot(ProxySite& site, unsigned index, uint64_t id, uint64_t site_generation,
                     Role role)
    : site_(site),
      index_(index),
      id_(id),
      site_generation_(site_generation),
      role_(role),
      output_(site.log(), site.config().name),
      probe_pool_(site.loop(), site.probe_buffers()) {
  probe_timer_.init(site.loop(), [this] { probe(); });
  startup_timer_.init(site.loop(), [this] { on_startup_timeout(); });
  kill_timer_.init(site.loop(), [this] {
    if (!child_) return;
    site_.log()->warn(
        "site '{}': process {} did not exit within shutdown_time_limit ({} ms): "
        "SIGKILL to its process group",
        site_.config().name, child_->pid(), site_.config().shutdown_time_limit.count());
    child_->kill_group();
  });
  drain_timer_.init(site.loop(), [this] { site_.cut_requests_on(id_); });
  probe_pool_.set_on_empty([this] { check_stopped(); });
  auto fixed = site.config().environment.find("ASPNETCORE_PORT");
  if (fixed != site.config().environment.end()) {
    long port = std::strtol(fixed->second.c_str(), nullptr, 10);
    if (port >= 1025 && port <= 48000 && site.config().processes <= 1) {
      port_ = static_cast<uint16_t>(port);
      fixed_port_ = true;
    } else {
      site.log()->warn(
          "site '{}': environment ASPNETCORE_PORT={} ignored (must be 1025-48000, "
          "with processes = 1)",
          site.config().name, fixed->second);
    }
  }
}

ChildSlot::~ChildSlot() = default;  // a child still running is killed by ~ChildProcess

void ChildSlot::want_start(unsigned lane) {
  switch (state_) {
    case State::kReady:  // the lane asked before it heard: answer it again
      site_.publish_ready(id_, generation_, port_, token_, static_cast<int>(lane));
      return;
    case State::kStarting:  // ready or failed goes to every lane
      return;
    case State::kKilling:  // a new start once the killed child is gone
      start_wanted_ = true;
      return;
    case State::kStopping:
    case State::kStopped:
      site_.publish_failed(id_, HttpError{503, 0, "the site is stopping"}, static_cast<int>(lane));
      return;
    case State::kIdle:
      break;
  }
  if (retiring_ || role_ == Role::kCandidate || site_.stopping()) return;  // the lane learns more
  if (held_) {  // the replacement of a fixed-port child: starts once the old one is gone
    start_wanted_ = true;
    return;
  }
  std::string detail;
  if (site_.rapid_fail_blocked(&detail)) {
    site_.publish_failed(id_, HttpError{502, 5, detail + output_excerpt()}, static_cast<int>(lane));
    return;
  }
  begin_start();
}

void ChildSlot::start() {
  if (state_ != State::kIdle || held_) return;
  std::string detail;
  if (site_.rapid_fail_blocked(&detail)) return;
  begin_start();
}

void ChildSlot::start_candidate() {
  if (state_ != State::kIdle) return;
  begin_start();
}

void ChildSlot::release_hold() {
  if (!held_) return;
  held_ = false;
  if (state_ == State::kIdle && !site_.stopping()) begin_start();
}

void ChildSlot::begin_start() {
  if (started_once_ && role_ == Role::kServing) site_.note_restart();
  started_once_ = true;
  start_wanted_ = false;
  attempt_ = 0;
  output_.clear_tail();
  start_time_ = site_.now();
  state_ = State::kStarting;
  startup_timer_.start(static_cast<uint64_t>(site_.config().startup_time_limit.count()));
  spawn_attempt();
}

void ChildSlot::spawn_attempt() {
  const SiteConfig& config = site_.config();
  ++attempt_;
  ++generation_;
  std::string error;
  program_ = resolve_program(config, &error);
  if (program_.empty()) {
    fail_start(fmt::format("cannot start the application: {}", error));
    return;
  }
  std::error_code ec;
  if (!fs::is_directory(config.physical_path, ec)) {
    fail_start(fmt::format("cannot start the application: physical_path '{}' is not a folder",
                           config.physical_path.string()));
    return;
  }
  if (!fixed_port_) port_ = site_.ports().allocate();
  if (port_ == 0) {
    fail_start("cannot start the application: no free loopback port");
    return;
  }
  token_ = random_token();

  ChildSpec spec;
  spec.program = program_;
  spec.arguments = config.arguments;
  spec.working_directory = config.physical_path.string();
  spec.launcher = site_.launcher();
  spec.batch_scheduling = config.batch_scheduling;
  spec.environment = site_.base_environment();
  spec.environment.push_back(fmt::format("ASPNETCORE_PORT={}", port_));
  spec.environment.push_back("ASPNETCORE_TOKEN=" + token_);
  spec.environment.push_back("ASPNETCORE_APPL_PATH=" + config.path);
  spec.environment.push_back("ASPNETCORE_IIS_PHYSICAL_PATH=" + config.physical_path.string());
  if (!config.environment.count("ASPNETCORE_URLS"))  // child_environment.h: why
    spec.environment.push_back(fmt::format("ASPNETCORE_URLS=http://127.0.0.1:{}", port_));

  child_ = std::make_unique<ChildProcess>(site_.loop());
  int r = child_->spawn(
      spec, [this](std::string_view data) { output_.append(data); },
      [this](int64_t exit_status, int term_signal) { on_child_exit(exit_status, term_signal); });
  if (r != 0) {
    child_.reset();
    fail_start(fmt::format("cannot start '{}': {}", program_, uv_strerror(r)));
    return;
  }
  if (SiteMetrics* metrics = site_.metrics()) {
    metrics->child_starts.fetch_add(1, std::memory_order_relaxed);
  }
  fs::path prefix = config.stdout_log_file.empty() ? config.physical_path / "logs" / "stdout"
                                                   : config.stdout_log_file;
  std::string file_error =
      output_.begin(child_->pid(), config.stdout_log_enabled ? &prefix : nullptr);
  if (!file_error.empty()) site_.log()->error("site '{}': {}", config.name, file_error);
  probe_pool_.set_target(port_, generation_);
  site_.log()->info(
      "site '{}': started '{}' as pid {} on 127.0.0.1:{} (generation {}, process {}, attempt {})",
      config.name, program_, child_->pid(), port_, site_generation_, index_ + 1, attempt_);
  probe_delay_ = kFirstProbeMs;
  schedule_probe();
}

void ChildSlot::schedule_probe() {
  probe_timer_.start(probe_delay_);
  probe_delay_ = std::min(probe_delay_ * 2, kMaxProbeMs);
}

void ChildSlot::probe() {
  if (state_ != State::kStarting || !child_ || !child_->running() || probe_) return;
  int error = 0;
  probe_ = probe_pool_.open(*this, &error);
  if (!probe_) schedule_probe();
}

// The probe connection is closed once it connected: it belongs to the control loop, and requests
// run on the lanes' loops with connections of their own.
void ChildSlot::on_upstream_connect(UpstreamConnection& connection, int status) {
  if (&connection != probe_) {
    connection.close();
    return;
  }
  probe_ = nullptr;
  connection.close();
  if (status == 0 && state_ == State::kStarting && connection.generation() == generation_) {
    on_ready();
    return;
  }
  if (state_ == State::kStarting) schedule_probe();
}

void ChildSlot::on_upstream_data(UpstreamConnection& connection, Block* block, size_t) {
  block->release();
  connection.close();
}

void ChildSlot::on_upstream_end(UpstreamConnection& connection, int) {
  connection.close();
}

void ChildSlot::on_ready() {
  startup_timer_.stop();
  probe_timer_.stop();
  state_ = State::kReady;
  site_.log()->info("site '{}': pid {} accepts connections on 127.0.0.1:{} after {} ms",
                    site_.config().name, child_->pid(), port_, site_.now() - start_time_);
  published_generation_ = generation_;
  site_.publish_ready(id_, generation_, port_, token_);
  if (role_ == Role::kCandidate) site_.candidate_changed();
}

std::string ChildSlot::exit_text(int64_t exit_status, int term_signal) const {
  if (term_signal != 0)
    return fmt::format("was killed by signal {} (SIG{})", term_signal, signal_name(term_signal));
  return fmt::format("exited with code {}", exit_status);
}

std::string ChildSlot::output_excerpt() const {
  std::string tail = output_.tail();
  if (tail.empty()) return "\nThe process wrote nothing to stdout/stderr.";
  return "\nLast output of the process:\n" + tail;
}

// Tells the lanes that the child they know as ready is gone (`how`: "exited with code 1", "was
// stopped"), with the 502.5 text for requests that were on it.
void ChildSlot::publish_gone(pid_t pid, std::string_view how) {
  if (published_generation_ == 0) return;
  std::string crash =
      fmt::format("the application process (pid {}) {} while handling the request", pid, how);
  crash += output_excerpt();
  site_.publish_gone(id_, published_generation_, crash);
  published_generation_ = 0;
}

void ChildSlot::on_child_exit(int64_t exit_status, int term_signal) {
  std::unique_ptr<ChildProcess> dead = std::move(child_);
  output_.end();
  last_exit_ = exit_text(exit_status, term_signal);
  pid_t pid = dead->pid();
  publish_gone(pid, last_exit_);
  handle_exit(pid);
}

void ChildSlot::handle_exit(pid_t pid) {
  probe_timer_.stop();
  if (probe_) {
    probe_->close();
    probe_ = nullptr;
  }
  probe_pool_.close_idle();
  switch (state_) {
    case State::kStarting:
      exit_while_starting(pid);
      return;
    case State::kReady:
      exit_while_ready(pid);
      return;
    case State::kKilling:
      state_ = State::kIdle;
      if (role_ == Role::kCandidate || retiring_) {
        if (retiring_) maybe_drained();
        return;  // a candidate's failure was reported by fail_start
      }
      if (start_wanted_) start_or_refuse();
      return;
    case State::kStopping:
      kill_timer_.stop();
      site_.log()->info("site '{}': the application process (pid {}) {}", site_.config().name, pid,
                        last_exit_);
      state_ = State::kStopped;
      check_stopped();
      return;
    case State::kIdle:
    case State::kStopped:
      return;
  }
}

// Lanes wait for a start (start_wanted_): a new start, or their 502.5 under rapid-fail protection.
void ChildSlot::start_or_refuse() {
  std::string detail;
  if (site_.rapid_fail_blocked(&detail))
    site_.publish_failed(id_, HttpError{502, 5, detail + output_excerpt()});
  else
    begin_start();
}

void ChildSlot::exit_while_starting(pid_t pid) {
  const SiteConfig& config = site_.config();
  std::string detail = fmt::format(
      "the application process '{}' (pid {}) {} before it "
      "accepted connections on 127.0.0.1:{} (attempt {} of {})",
      program_, pid, last_exit_, port_, attempt_, kStartAttempts);
  site_.record_failure(detail);
  site_.log()->error("site '{}': {}", config.name, detail);
  std::string blocked;
  if (attempt_ < kStartAttempts && !site_.stopping() && !site_.rapid_fail_blocked(&blocked)) {
    spawn_attempt();  // a new port, in case that was the problem
    return;
  }
  startup_timer_.stop();
  state_ = State::kIdle;
  site_.publish_failed(id_, HttpError{502, 5, detail + output_excerpt()});
  if (role_ == Role::kCandidate) note_candidate_failure(detail);
  if (retiring_) maybe_drained();
}

void ChildSlot::exit_while_ready(pid_t pid) {
  const SiteConfig& config = site_.config();
  if (SiteMetrics* metrics = site_.metrics())
    metrics->child_crashes.fetch_add(1, std::memory_order_relaxed);
  std::string detail =
      fmt::format("the application process (pid {}) {} after it started", pid, last_exit_);
  site_.record_failure(detail);
  state_ = State::kIdle;
  if (role_ == Role::kCandidate) {  // before the switch: the recycle fails
    note_candidate_failure(detail);
    return;
  }
  if (retiring_) {  // replaced: not restarted; the lanes hand what waits for it to the new ones
    site_.log()->error("site '{}': the replaced application process (pid {}) {}.{}", config.name,
                       pid, last_exit_, output_excerpt());
    maybe_drained();
    return;
  }
  // Lanes with requests that found it dead ask for a restart (want_start). A preload site is
  // restarted at once (within rapid_fails_per_minute): it is meant to run, and the health
  // endpoint counts it, so a balancer that stopped sending requests would never restart it.
  site_.log()->error("site '{}': the application process (pid {}) {}; it is restarted {}.{}",
                     config.name, pid, last_exit_, config.preload ? "now" : "by the next request",
                     output_excerpt());
  if (config.preload && !site_.stopping()) start();
}

void ChildSlot::on_startup_timeout() {
  if (state_ != State::kStarting) return;
  fail_start(
      fmt::format("the application process '{}' (pid {}) did not accept connections on "
                  "127.0.0.1:{} within startup_time_limit ({} ms); it was killed",
                  program_, pid(), port_, site_.config().startup_time_limit.count()));
}

void ChildSlot::fail_start(const std::string& detail) {
  startup_timer_.stop();
  probe_timer_.stop();
  if (probe_) {
    probe_->close();
    probe_ = nullptr;
  }
  probe_pool_.close_idle();
  site_.record_failure(detail);
  site_.log()->error("site '{}': {}", site_.config().name, detail);
  if (child_ && child_->running()) {
    state_ = State::kKilling;  // requests arriving now wait for the exit, then a new start
    child_->kill_group();
  } else {
    state_ = State::kIdle;
  }
  site_.publish_failed(id_, HttpError{502, 5, detail + output_excerpt()});
  if (role_ == Role::kCandidate) note_candidate_failure(detail);
}

void ChildSlot::note_candidate_failure(const std::string& detail) {
  if (!failure_.empty()) return;
  failure_ = detail;
  failure_output_ = output_excerpt();
  site_.candidate_changed();
}

void ChildSlot::retire(size_t lanes) {
  retiring_ = true;
  lanes_busy_ = lanes;
  drain_timer_.start(static_cast<uint64_t>(site_.config().shutdown_time_limit.count()));
  maybe_drained();
}

void ChildSlot::lane_drained() {
  if (lanes_busy_ > 0) --lanes_busy_;
  maybe_drained();
}

void ChildSlot::maybe_drained() {
  if (!retiring_ || lanes_busy_ != 0 || stop_requested_) return;
  ProxySite& site = site_;
  stop([&site] { site.slot_stopped(); });
}

void ChildSlot::stop(std::function<void()> done) {
  stop_requested_ = true;
  drain_timer_.stop();
  stop_done_ = std::move(done);
  probe_timer_.stop();
  startup_timer_.stop();
  if (probe_) {
    probe_->close();
    probe_ = nullptr;
  }
  probe_pool_.close_idle();
  if (child_ && child_->running()) {
    state_ = State::kStopping;
    publish_gone(child_->pid(), "was stopped");
    site_.log()->info("site '{}': stopping the application process (pid {}): SIGTERM",
                      site_.config().name, child_->pid());
    child_->terminate();
    kill_timer_.start(static_cast<uint64_t>(site_.config().shutdown_time_limit.count()));
  } else {
    state_ = State::kStopped;
  }
  check_stopped();
}

void ChildSlot::check_stopped() {
  if (state_ != State::kStopped || probe_pool_.live() != 0 || !stop_done_) return;
  auto done = std::move(stop_done_);
  stop_done_ = nullptr;
  finished_ = true;
  done();
}

}  // namespace sitehost::proxy
