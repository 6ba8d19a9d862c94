#include "inproc/generation.h"

#include <fmt/format.h>

#include "shared/log/logger.h"

namespace sitehost::inproc {

namespace {
constexpr size_t kStartupLogLimit = 16 * 1024;
constexpr size_t kInitErrorSize = 4096;
}  // namespace

Generation::Generation(const SiteConfig& config, Logger& log, uint64_t number,
                       const sitehost_server_t* server)
    : log_(log),
      number_(number),
      site_name_(config.name),
      handler_(config.handler),
      identity_(identify_file(config.handler)) {
  build_site_info(config, server);
}

Generation::~Generation() = default;  // library_ dlcloses if still loaded

Generation* Generation::from(sitehost_site_t* site) {
  return reinterpret_cast<SiteHandle*>(site)->owner;
}

void Generation::build_site_info(const SiteConfig& config, const sitehost_server_t* server) {
  name_ = config.name;
  path_base_ = config.path == "/" ? std::string() : config.path;
  physical_path_ = config.physical_path.string();
  handler_path_ = config.handler.string();
  for (const auto& [k, v] : config.environment) env_strings_.emplace_back(k, v);  // map: sorted
  env_.reserve(env_strings_.size());
  for (const auto& [k, v] : env_strings_)
    env_.push_back(sitehost_env_t{{k.data(), k.size()}, {v.data(), v.size()}});

  site_handle_.abi.server = server;
  site_handle_.abi.data = nullptr;
  site_handle_.owner = this;

  info_.abi_version = SITEHOST_HANDLER_ABI_VERSION;
  info_.size = sizeof(sitehost_site_info_t);
  info_.server = server;
  info_.site = &site_handle_.abi;
  info_.name = {name_.data(), name_.size()};
  info_.path_base = {path_base_.data(), path_base_.size()};
  info_.physical_path = {physical_path_.data(), physical_path_.size()};
  info_.handler_path = {handler_path_.data(), handler_path_.size()};
  info_.environment = env_.data();
  info_.environment_count = env_.size();
  info_.allow_synchronous_io = config.allow_synchronous_io ? 1 : 0;
  info_.max_request_body_size = config.max_request_body_size;
}

StartupResult Generation::start(const std::shared_ptr<StderrCapture::Session>& capture) {
  StartupResult result;
  StderrCapture::process().open(capture);
  LoadError error;
  if (!load_handler(handler_, result.library, result.entry, error)) {
    StderrCapture::process().close(capture);
    result.substatus = error.substatus;
    result.message = std::move(error.message);
    return result;
  }
  char message[kInitErrorSize] = {};
  int rc = result.entry.init(&info_, &result.app, message, sizeof message);
  StderrCapture::process().close(capture);
  if (rc != 0) {
    message[sizeof message - 1] = '\0';
    result.substatus = 30;
    result.message = fmt::format("{}: sitehost_handler_init failed (returned {}): {}",
                                 handler_.string(), rc, message[0] ? message : "(no message)");
    result.library.close();  // the app did not start: nothing to shut down
    return result;
  }
  result.ok = true;
  return result;
}

void Generation::discard(StartupResult& result) {
  if (result.ok && result.entry.shutdown) result.entry.shutdown(result.app);
  result.library.close();
}

void Generation::adopt(StartupResult result, const std::string& captured_stderr) {
  {
    std::lock_guard lock(log_mutex_);
    starting_ = false;
  }
  if (result.ok) {
    library_ = std::move(result.library);
    entry_ = result.entry;
    app_ = result.app;
    state_ = State::kReady;
    return;
  }
  substatus_ = result.substatus;
  detail_ = describe_failure(std::move(result.message), captured_stderr);
  state_ = State::kFailed;
}

void Generation::fail(int substatus, std::string detail) {
  {
    std::lock_guard lock(log_mutex_);
    starting_ = false;
  }
  substatus_ = substatus;
  detail_ = std::move(detail);
  state_ = State::kFailed;
}

void Generation::shutdown() {
  if (state_ == State::kReady && entry_.shutdown) entry_.shutdown(app_);
  app_ = nullptr;
  library_.close();
}

void Generation::log_from_app(int level, std::string_view message) {
  LogLevel l = level <= SITEHOST_LOG_DEBUG  ? LogLevel::kDebug
               : level == SITEHOST_LOG_INFO ? LogLevel::kInfo
               : level == SITEHOST_LOG_WARN ? LogLevel::kWarn
                                            : LogLevel::kError;
  {
    std::lock_guard lock(log_mutex_);
    if (starting_ && startup_log_.size() < kStartupLogLimit) {
      startup_log_.append(message.substr(0, kStartupLogLimit - startup_log_.size()));
      startup_log_.push_back('\n');
    }
  }
  log_.log(l, "site {}: app: {}", site_name_, message);
}

std::string Generation::describe_failure(std::string message,
                                         const std::string& captured_stderr) const {
  std::string logged;
  {
    std::lock_guard lock(log_mutex_);
    // When the error log is stderr the app's lines are in the capture already.
    for (size_t at = 0; at < startup_log_.size();) {
      size_t end = startup_log_.find('\n', at);
      if (end == std::string::npos) end = startup_log_.size();
      std::string_view line(startup_log_.data() + at, end - at);
      if (!line.empty() && captured_stderr.find(line) == std::string::npos) {
        logged.append(line);
        logged.push_back('\n');
      }
      at = end + 1;
    }
  }
  if (!captured_stderr.empty())
    message += fmt::format("\n\nstderr while starting (the whole process's):\n{}", captured_stderr);
  if (!logged.empty()) message += fmt::format("\n\nlogged by the app while starting:\n{}", logged);
  return message;
}

}  // namespace sitehost::inproc
