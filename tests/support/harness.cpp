#include "tests/support/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sitehost::test {

namespace fs = std::filesystem;

fs::path sitehost_binary() {
  return SITEHOST_BIN;
}
fs::path sitehost_app_binary() {
  return SITEHOST_APP_BIN;
}
fs::path apps_dir() {
  return SITEHOST_APPS_DIR;
}
fs::path source_dir() {
  return SITEHOST_SOURCE_DIR;
}

bool wait_until(const std::function<bool()>& condition, Ms timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);  // polling interval of an event we cannot subscribe to
  }
  return condition();
}

TempDir::TempDir() {
  std::string templ = (fs::temp_directory_path() / "sitehost-test-XXXXXX").string();
  if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path TempDir::write(const std::string& name, const std::string& content) const {
  fs::path file = path_ / name;
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << content;
  return file;
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

// In the child, before exec: `fds` become 3, 4, ... (without FD_CLOEXEC), announced through
// LISTEN_FDS / LISTEN_PID. Copied above the target range first, so no dup2 overwrites a source.
void pass_listen_fds(const std::vector<int>& fds) {
  if (fds.empty()) return;
  std::vector<int> high;
  for (int fd : fds) high.push_back(::fcntl(fd, F_DUPFD_CLOEXEC, 100));
  for (size_t i = 0; i < high.size(); ++i) ::dup2(high[i], 3 + static_cast<int>(i));
  ::setenv("LISTEN_FDS", std::to_string(fds.size()).c_str(), 1);
  ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
}

}  // namespace

Process::Process(const std::vector<std::string>& argv, const fs::path& output_file,
                 const std::map<std::string, std::string>& extra_env,
                 const std::vector<int>& listen_fds)
    : output_file_(output_file) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test binary
    if (::getppid() != parent) ::_exit(127);
    int out = ::open(output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    for (const auto& [k, v] : extra_env) ::setenv(k.c_str(), v.c_str(), 1);
    pass_listen_fds(listen_fds);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);
}

Process::~Process() {
  if (pid_ > 0 && !reaped_) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  } else if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);  // leftovers of the group (children of a dead sitehost)
  }
}

void Process::signal(int sig) const {
  if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
}

std::optional<int> Process::wait_exit(Ms timeout) {
  if (reaped_) return status_;
  bool done = wait_until(
      [&] {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
          reaped_ = true;
          status_ = status;
        }
        return reaped_;
      },
      timeout);
  if (!done) return std::nullopt;
  return status_;
}

bool Process::running() {
  return !wait_exit(0ms).has_value();
}

std::string Process::output() const {
  return read_file(output_file_);
}

std::string test_event_loops() {
  const char* n = std::getenv("SITEHOST_TEST_EVENT_LOOPS");
  return n ? n : "";
}

std::string with_test_event_loops(const std::string& config_toml) {
  std::string loops = test_event_loops();
  if (loops.empty() || config_toml.find("event_loops") != std::string::npos) return config_toml;
  std::string line = "event_loops = " + loops + "\n";
  for (size_t at = config_toml.find("[server]"); at != std::string::npos;
       at = config_toml.find("[server]", at + 1)) {
    if (at > 0 && config_toml[at - 1] != '\n') continue;  // "[[server]]" or inside a value
    size_t end = config_toml.find('\n', at);
    if (end == std::string::npos) return config_toml + "\n" + line;
    return config_toml.substr(0, end + 1) + line + config_toml.substr(end + 1);
  }
  return "[server]\n" + line + "\n" + config_toml;
}

Sitehost::Sitehost(const TempDir& dir, const std::string& config_toml,
                   const std::vector<std::string>& extra_args)
    : config_path_(dir.write("sitehost.toml", with_test_event_loops(config_toml))) {
  std::vector<std::string> argv{sitehost_binary().string(), "-c", config_path_.string()};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_.emplace(argv, dir.path() / "sitehost.out");
}

Sitehost::Sitehost(const TempDir& dir, const std::string& config_toml,
                   const std::map<std::string, std::string>& env,
                   const std::vector<int>& listen_fds)
    : config_path_(dir.write("sitehost.toml", with_test_event_loops(config_toml))) {
  process_.emplace(
      std::vector<std::string>{sitehost_binary().string(), "-c", config_path_.string()},
      dir.path() / "sitehost.out", env, listen_fds);
}

std::string sanitizer_report(const std::string& output) {
  size_t first = std::string::npos;
  for (const char* marker :
       {"AddressSanitizer", "LeakSanitizer", "ThreadSanitizer", "runtime error:"}) {
    first = std::min(first, output.find(marker));
  }
  if (first == std::string::npos) return {};
  size_t line = output.rfind('\n', first);
  return output.substr(line == std::string::npos ? 0 : line + 1);
}

Sitehost::~Sitehost() {
  std::string report = sanitizer_report(log());
  if (!report.empty()) {
    ADD_FAILURE() << "sanitizer report in the output of sitehost -c " << config_path_.string()
                  << ":\n"
                  << report;
  }
}

bool Sitehost::wait_listening(uint16_t port, Ms timeout) {
  return wait_until(
             [&] {
               if (!process_->running()) return true;  // died: stop waiting, report below
               Client c(port, 200ms);
               return c.connected();
             },
             timeout) &&
         process_->running();
}

int Sitehost::stop(Ms timeout) {
  process_->signal(SIGTERM);
  auto status = process_->wait_exit(timeout);
  if (!status || !WIFEXITED(*status)) return -1;
  return WEXITSTATUS(*status);
}

void Sitehost::rewrite_config(const std::string& config_toml) const {
  fs::path tmp = config_path_;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << with_test_event_loops(config_toml);
  }
  fs::rename(tmp, config_path_);
}

static std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<std::string> Response::header(const std::string& name) const {
  std::string want = lower(name);
  for (const auto& [k, v] : headers)
    if (lower(k) == want) return v;
  return std::nullopt;
}

Client::Client(uint16_t port, Ms timeout) : timeout_(timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  int r = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (r != 0 && errno == EINPROGRESS) {
    pollfd p{fd_, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, static_cast<int>(timeout_.count())) == 1 &&
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
      r = 0;
  }
  if (r != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

Client::Io Client::read_some(char* buf, size_t len) {
  ssize_t n = ::recv(fd_, buf, len, 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return {-1, POLLIN};
  return {n, 0};
}

Client::Io Client::write_some(const char* buf, size_t len) {
  ssize_t n = ::send(fd_, buf, len, MSG_NOSIGNAL);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return {-1, POLLOUT};
  return {n, 0};
}

void Client::close_write() {
  ::shutdown(fd_, SHUT_WR);
}

void Client::disconnect() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool Client::send(const std::string& bytes) {
  if (fd_ < 0) return false;
  size_t off = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  while (off < bytes.size()) {
    Io io = write_some(bytes.data() + off, bytes.size() - off);
    if (io.n > 0) {
      off += static_cast<size_t>(io.n);
      continue;
    }
    if (!io.wait) return false;
    auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    // Read what the server sends meanwhile, so an answer that starts before the request is
    // complete (an echo) does not fill both directions' buffers and deadlock.
    const bool read = read_while_sending_ && !eof_;
    pollfd p{fd_, static_cast<short>(io.wait | (read ? POLLIN : 0)), 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) == 1 && read && (p.revents & POLLIN)) {
      char buf[65536];
      Io r = read_some(buf, sizeof buf);
      if (r.n > 0)
        buffer_.append(buf, static_cast<size_t>(r.n));
      else if (!r.wait)
        eof_ = true;
    }
  }
  return true;
}

void Client::shutdown_write() {
  if (fd_ >= 0) close_write();
}

bool Client::fill() {
  if (eof_ || fd_ < 0) return false;
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  char buf[65536];
  for (;;) {
    Io io = read_some(buf, sizeof buf);
    if (io.n > 0) {
      buffer_.append(buf, static_cast<size_t>(io.n));
      return true;
    }
    if (io.n == 0 || !io.wait) {
      eof_ = true;
      return false;
    }
    auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, io.wait, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
}

std::optional<Response> Client::read_response(bool head_request) {
  size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
    if (!fill()) return std::nullopt;
  std::string head = buffer_.substr(0, end);
  buffer_.erase(0, end + 4);
  Response r;
  std::istringstream in(head);
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  {
    std::istringstream sl(line);
    sl >> r.http_version >> r.status;
    std::getline(sl, r.reason);
    if (!r.reason.empty() && r.reason.front() == ' ') r.reason.erase(0, 1);
  }
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    r.headers.emplace_back(line.substr(0, colon), value);
  }
  if (head_request || r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200))
    return r;
  auto te = r.header("Transfer-Encoding");
  if (te && lower(*te).find("chunked") != std::string::npos) {
    for (;;) {
      size_t eol;
      while ((eol = buffer_.find("\r\n")) == std::string::npos)
        if (!fill()) return std::nullopt;
      size_t size = std::stoul(buffer_.substr(0, eol), nullptr, 16);
      buffer_.erase(0, eol + 2);
      if (size == 0) {
        while ((eol = buffer_.find("\r\n")) == std::string::npos)
          if (!fill()) return std::nullopt;
        // trailers are skipped up to the empty line
        while (eol != 0) {
          buffer_.erase(0, eol + 2);
          while ((eol = buffer_.find("\r\n")) == std::string::npos)
            if (!fill()) return std::nullopt;
        }
        buffer_.erase(0, 2);
        return r;
      }
      while (buffer_.size() < size + 2)
        if (!fill()) return std::nullopt;
      r.body.append(buffer_, 0, size);
      buffer_.erase(0, size + 2);
    }
  }
  if (auto cl = r.header("Content-Length")) {
    size_t want = std::stoul(*cl);
    while (buffer_.size() < want)
      if (!fill()) return std::nullopt;
    r.body = buffer_.substr(0, want);
    buffer_.erase(0, want);
    return r;
  }
  while (fill()) {
  }
  if (!eof_) return std::nullopt;
  r.body = std::move(buffer_);
  buffer_.clear();
  return r;
}

bool Client::read_at_least(size_t n) {
  while (buffer_.size() < n)
    if (!fill()) return false;
  return true;
}

std::string Client::read_until_close() {
  while (fill()) {
  }
  std::string all = std::move(buffer_);
  buffer_.clear();
  return all;
}

bool Client::closed_within(Ms timeout) {
  Ms saved = timeout_;
  timeout_ = timeout;
  while (fill()) {
  }
  timeout_ = saved;
  return eof_;
}

ProgramResult run_program(const std::vector<std::string>& argv, const fs::path& output_file,
                          Ms timeout) {
  ProgramResult r;
  {
    Process p(argv, output_file);
    auto status = p.wait_exit(timeout);
    if (status && WIFEXITED(*status)) r.exit_code = WEXITSTATUS(*status);
  }
  r.output = read_file(output_file);
  return r;
}

std::optional<Response> http_request(uint16_t port, const std::string& method,
                                     const std::string& path, const std::string& body,
                                     const std::string& host,
                                     const std::vector<std::string>& extra_headers) {
  Client c(port);
  if (!c.connected()) return std::nullopt;
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\n";
  for (const auto& h : extra_headers) req += h + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "Connection: close\r\n\r\n" + body;
  if (!c.send(req)) return std::nullopt;
  return c.read_response(method == "HEAD");
}

std::string admin_exchange(const std::filesystem::path& socket_path, const std::string& method,
                           const std::string& target) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  std::string all;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: admin\r\n\r\n";
    ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    char buf[65536];
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) break;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      all.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return all;
}

}  // namespace sitehost::test
