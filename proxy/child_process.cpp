#include "proxy/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace sitehost::proxy {

namespace {
constexpr size_t kReadBuffer = 16 * 1024;
constexpr size_t kMaxDrain = 1024 * 1024;  // at exit; a grandchild may keep writing

bool executable(const std::string& path) {
  return !path.empty() && ::access(path.c_str(), X_OK) == 0;
}
}  // namespace

std::string find_launcher() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    std::string beside = (self.parent_path() / "sitehost-launch").string();
    if (executable(beside)) return beside;
#ifdef SITEHOST_LAUNCH_RELATIVE
    // The installed layout (bin/sitehost, libexec/sitehost/sitehost-launch), wherever it is.
    std::string installed = (self.parent_path() / SITEHOST_LAUNCH_RELATIVE).lexically_normal();
    if (executable(installed)) return installed;
#endif
  }
#ifdef SITEHOST_LAUNCH_FALLBACK
  if (executable(SITEHOST_LAUNCH_FALLBACK)) return SITEHOST_LAUNCH_FALLBACK;
#endif
  return {};
}

ChildProcess::ChildProcess(uv_loop_t* loop) : loop_(loop) {}

ChildProcess::~ChildProcess() {
  if (running_) kill_group();
}

int ChildProcess::spawn(const ChildSpec& spec, OutputFn on_output, ExitFn on_exit) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -errno;
  int r = pipe_.init([this](uv_pipe_t* p) { return uv_pipe_init(loop_, p, 0); }, this);
  if (r == 0) r = uv_pipe_open(pipe_.get(), fds[0]);
  if (r != 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    pipe_.close();
    return r;
  }
  uv_pipe_t* pipe = pipe_.get();

  std::vector<std::string> argv_storage;
  if (!spec.launcher.empty()) {
    argv_storage.push_back(spec.launcher);
    if (spec.batch_scheduling) argv_storage.push_back("--batch");
    argv_storage.push_back(std::to_string(::getpid()));
  }
  argv_storage.push_back(spec.program);
  for (const auto& a : spec.arguments) argv_storage.push_back(a);
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> env;
  for (const auto& e : spec.environment) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);

  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = fds[1];
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = fds[1];

  uv_process_options_t options{};
  options.exit_cb = &ChildProcess::on_exit_cb;
  options.file = argv[0];
  options.args = argv.data();
  options.env = env.data();
  options.cwd = spec.working_directory.empty() ? nullptr : spec.working_directory.c_str();
  options.flags = UV_PROCESS_DETACHED;  // setsid: own session and process group
  options.stdio_count = 3;
  options.stdio = stdio;

  // uv_spawn initialises the handle even when it fails: it must be closed then (kClose).
  r = process_.init([this, &options](uv_process_t* p) { return uv_spawn(loop_, p, &options); },
                    this, UvHandle<uv_process_t>::OnError::kClose);
  ::close(fds[1]);
  if (r != 0) {
    pipe_.close();
    return r;
  }
  pid_ = process_.get()->pid;
  running_ = true;
  on_output_ = std::move(on_output);
  on_exit_ = std::move(on_exit);
  buffer_ = std::make_unique_for_overwrite<char[]>(kReadBuffer);
  uv_read_start(reinterpret_cast<uv_stream_t*>(pipe), &ChildProcess::on_alloc,
                &ChildProcess::on_read);
  return 0;
}

void ChildProcess::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<ChildProcess*>(handle->data);
  *buf = uv_buf_init(self->buffer_.get(), kReadBuffer);
}

void ChildProcess::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<ChildProcess*>(stream->data);
  if (nread > 0) {
    if (self->on_output_) self->on_output_(std::string_view(buf->base, static_cast<size_t>(nread)));
  } else if (nread < 0) {
    self->pipe_.close();  // EOF: every writer closed its end
  }
}

void ChildProcess::drain() {
  if (!pipe_) return;
  uv_os_fd_t fd;
  if (uv_fileno(pipe_.base(), &fd) != 0) return;
  size_t total = 0;
  while (total < kMaxDrain) {
    ssize_t n = ::read(fd, buffer_.get(), kReadBuffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    total += static_cast<size_t>(n);
    if (on_output_) on_output_(std::string_view(buffer_.get(), static_cast<size_t>(n)));
  }
}

void ChildProcess::on_exit_cb(uv_process_t* process, int64_t exit_status, int term_signal) {
  auto* self = static_cast<ChildProcess*>(process->data);
  self->running_ = false;
  self->drain();
  ::kill(-self->pid_, SIGKILL);  // whatever is left of its process group
  self->pipe_.close();
  self->process_.close();
  ExitFn fn = std::move(self->on_exit_);
  if (fn) fn(exit_status, term_signal);  // may destroy *self
}

void ChildProcess::terminate() {
  if (running_) ::kill(pid_, SIGTERM);
}

void ChildProcess::kill_group() {
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    if (running_) ::kill(pid_, SIGKILL);  // in case it left its group
  }
}

}  // namespace sitehost::proxy
