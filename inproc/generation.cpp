#include "inproc/generation.h"

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "inproc/shadow_copy.h"
#include "shared/log/logger.h"

namespace sitehost::inproc {

namespace {
constexpr size_t kStartupLogLimit = 16 * 1024;
constexpr size_t kInitErrorSize = 4096;
// A start that requests wait for re-checks an incomplete library this long before failing.
constexpr auto kIncompleteWait = std::chrono::seconds(1);
constexpr auto kIncompleteRecheck = std::chrono::milliseconds(100);

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size())
    text.replace(at, from.size(), to);
  return text;
}

}  // namespace

Generation::Generation(const SiteConfig& config, Logger& log, uint64_t number,
                       const sitehost_server_t* server, std::filesystem::path shadow_file,
                       size_t loops)
    : log_(log),
      number_(number),
      site_name_(config.name),
      handler_(config.handler),
      planned_shadow_(std::move(shadow_file)),
      identity_(identify_file(config.handler)),
      in_flight_(std::make_unique<Slot[]>(loops == 0 ? 1 : loops)),
      loops_(loops == 0 ? 1 : loops) {
  build_site_info(config, server);
}

size_t Generation::in_flight() const {
  int64_t sum = 0;
  for (size_t i = 0; i < loops_; ++i) sum += in_flight_[i].value.load(std::memory_order_acquire);
  return sum > 0 ? static_cast<size_t>(sum) : 0;
}

Generation::~Generation() {
  // Normally shutdown() ran already; a site destroyed without stopping still cleans up.
  library_.close();
  remove_shadow_file(shadow_);
}

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

StartupResult Generation::start(const std::shared_ptr<StderrCapture::Session>& capture,
                                const StartOptions& options) {
  StartupResult result;
  if (options.sweep_stale) remove_stale_shadow_files(planned_shadow_.parent_path());

  // 1. The shadow copy, once the deployed file is complete.
  const auto give_up = std::chrono::steady_clock::now() + kIncompleteWait;
  ShadowCopy copy;
  for (;;) {
    copy = make_shadow_copy(handler_, planned_shadow_, options.trusted_root);
    if (copy.outcome != ShadowCopy::Outcome::kIncomplete || options.replacement ||
        std::chrono::steady_clock::now() >= give_up)
      break;
    std::this_thread::sleep_for(kIncompleteRecheck);
  }
  result.identity = copy.identity;
  if (copy.outcome == ShadowCopy::Outcome::kFailed) {
    result.substatus = copy.substatus;
    result.message = std::move(copy.message);
    return result;
  }
  if (copy.outcome == ShadowCopy::Outcome::kIncomplete) {
    if (options.replacement) {
      result.incomplete = true;
      return result;
    }
    result.substatus = 33;
    result.message = fmt::format(
        "{} is incomplete: its ELF headers describe more bytes than the file holds, or it kept "
        "changing while it was copied (is a deploy still writing it?)",
        handler_.string());
    return result;
  }

  // 2. Load the copy. Errors name the deployed file, which is what the user knows.
  StderrCapture::process().open(capture);
  std::filesystem::path file = planned_shadow_;
  std::filesystem::path spare;  // a first copy kept while a second one is made (see below)
  auto fail = [&](int substatus, std::string message) {
    StderrCapture::process().close(capture);
    result.library.close();
    remove_shadow_file(file);
    remove_shadow_file(spare);
    result.substatus = substatus;
    result.message = replace_all(std::move(message), file.string(), handler_.string());
    return std::move(result);
  };
  for (int attempt = 0;; ++attempt) {
    LoadError error;
    if (!load_handler(file, result.library, result.entry, error))
      return fail(error.substatus, std::move(error.message));
    if (result.library.mapped_path() == file.string()) break;
    // The linker handed back an object it already had: an older generation it could not unload
    // (a NODELETE library) whose inode the copy happened to reuse. A second copy, made while the
    // first still holds that inode, gets another one.
    result.library.close();
    if (attempt == 1)
      return fail(33, fmt::format("{}: the dynamic linker returned an already loaded library "
                                  "instead of the new copy",
                                  file.string()));
    spare = file;
    file = planned_shadow_.string() + ".1";
    ShadowCopy again = make_shadow_copy(handler_, file, options.trusted_root);
    if (again.outcome != ShadowCopy::Outcome::kCopied)
      return fail(again.substatus ? again.substatus : 33,
                  again.message.empty()
                      ? fmt::format("{} changed while it was being loaded", handler_.string())
                      : std::move(again.message));
  }
  remove_shadow_file(spare);
  spare.clear();

  // 3. init.
  char message[kInitErrorSize] = {};
  int rc = result.entry.init(&info_, &result.app, message, sizeof message);
  if (rc != 0) {
    message[sizeof message - 1] = '\0';
    return fail(30, fmt::format("{}: sitehost_handler_init failed (returned {}): {}",
                                handler_.string(), rc, message[0] ? message : "(no message)"));
  }
  StderrCapture::process().close(capture);
  result.shadow = file;
  result.ok = true;
  return result;
}

void Generation::remove_planned_shadow_files() const {
  remove_shadow_file(planned_shadow_);
  remove_shadow_file(planned_shadow_.string() + ".1");
}

void Generation::discard(StartupResult& result) {
  if (result.ok && result.entry.shutdown) result.entry.shutdown(result.app);
  result.library.close();
  remove_shadow_file(result.shadow);
  result.shadow.clear();
}

void Generation::adopt(StartupResult result, const std::string& captured_stderr) {
  {
    std::lock_guard lock(log_mutex_);
    starting_ = false;
  }
  identity_ = result.identity;
  if (result.ok) {
    shadow_ = std::move(result.shadow);
    library_ = std::move(result.library);
    entry_ = result.entry;
    app_ = result.app;
    serial_ = !result.entry.concurrent;
    state_.store(State::kReady, std::memory_order_release);  // publishes the fields above
    return;
  }
  substatus_ = result.substatus;
  detail_ = describe_failure(std::move(result.message), captured_stderr);
  state_.store(State::kFailed, std::memory_order_release);
}

void Generation::fail(int substatus, std::string detail) {
  {
    std::lock_guard lock(log_mutex_);
    starting_ = false;
  }
  substatus_ = substatus;
  detail_ = std::move(detail);
  state_.store(State::kFailed, std::memory_order_release);
}

void Generation::shutdown() {
  if (state() == State::kReady && entry_.shutdown) entry_.shutdown(app_);
  app_ = nullptr;
  library_.close();
  remove_shadow_file(shadow_);
  shadow_.clear();
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
