// Integration-test harness: real sitehost processes, real loopback sockets, bounded waits.
// Every process a test starts is tracked by PID and killed (group) when its owner goes away.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sitehost::test {

using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;

// Paths baked in by CMake.
std::filesystem::path sitehost_binary();
std::filesystem::path sitehost_app_binary();  // the Kestrel-like runner
std::filesystem::path apps_dir();             // built sample apps (tests/apps)
std::filesystem::path source_dir();

// A free TCP port on 127.0.0.1, below the ephemeral range and reserved for this test process
// (free_port.cpp).
uint16_t free_port();

// SITEHOST_TEST_EVENT_LOOPS=N (docs/testing.md): the `event_loops` of every server a test starts
// when the test does not set it itself; empty when the variable is unset or empty.
std::string test_event_loops();
// `config_toml` with `event_loops = N` added to its [server] table (a [server] table is added when
// it has none) when SITEHOST_TEST_EVENT_LOOPS is set and the text does not mention event_loops;
// otherwise the text unchanged. Sitehost applies it to every config it writes, so tests that
// write their TOML by hand honour the variable too.
std::string with_test_event_loops(const std::string& config_toml);

// Polls `condition` every few ms until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& condition, Ms timeout = 5s);

// A fresh folder under /tmp, removed with its contents when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  // Writes `content` to path()/name (folders created) and returns the full path.
  std::filesystem::path write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& file);

// A child process started with fork/exec in its own process group, stdout+stderr to a file.
// `listen_fds`: socket activation as systemd does it (sd_listen_fds(3)): these descriptors of the
// test become 3, 4, ... in the child, with LISTEN_FDS and LISTEN_PID (the child's pid) set.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::filesystem::path& output_file,
          const std::map<std::string, std::string>& extra_env = {},
          const std::vector<int>& listen_fds = {});
  ~Process();  // SIGKILLs the group if still running, and reaps
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Waits for exit; returns the wait status (as waitpid's) or nullopt on timeout.
  std::optional<int> wait_exit(Ms timeout);
  bool running();
  std::string output() const;  // what it wrote so far

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::filesystem::path output_file_;
};

// The first sanitizer report in a process's output (ASan, LeakSanitizer, UBSan's "runtime
// error:", ThreadSanitizer), from the start of its line to the end of the output; empty if none.
std::string sanitizer_report(const std::string& output);

// The real sitehost binary on a config file written into `dir`.
class Sitehost {
 public:
  // Writes config text to dir/sitehost.toml and starts `sitehost -c` on it. Does not wait.
  Sitehost(const TempDir& dir, const std::string& config_toml,
           const std::vector<std::string>& extra_args = {});
  // The same, with variables added to its environment and sockets passed as systemd's socket
  // activation passes them (Process's `listen_fds`).
  Sitehost(const TempDir& dir, const std::string& config_toml,
           const std::map<std::string, std::string>& env, const std::vector<int>& listen_fds = {});
  // Fails the running test (ADD_FAILURE) when the server's output (its stderr, where its error
  // log goes by default, and so its children's output too) holds a sanitizer report: a race or
  // memory error in a server a test started fails that test even when the test never looks at
  // the exit code. Needs the output file, so `dir` must outlive this object.
  ~Sitehost();
  Sitehost(const Sitehost&) = delete;
  Sitehost& operator=(const Sitehost&) = delete;
  // Waits until 127.0.0.1:port accepts connections (or the process died / timeout).
  bool wait_listening(uint16_t port, Ms timeout = 10s);
  // SIGTERM and wait for the exit; returns the exit code (-1 on timeout/killed by signal).
  int stop(Ms timeout = 15s);
  Process& process() { return *process_; }
  std::string log() const { return process_->output(); }
  const std::filesystem::path& config_path() const { return config_path_; }
  // Rewrites the config file (for SIGHUP reload tests).
  void rewrite_config(const std::string& config_toml) const;

 private:
  std::filesystem::path config_path_;
  std::optional<Process> process_;
};

struct Response {
  int status = 0;
  std::string reason;
  std::string http_version;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<std::string> header(const std::string& name) const;  // case-insensitive
};

// A blocking loopback client with a deadline on every operation. Plain TCP; TlsClient
// (tls_client.h) speaks TLS through the same interface by overriding the I/O steps.
class Client {
 public:
  explicit Client(uint16_t port, Ms timeout = 5s);
  virtual ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Sends every byte (false on error or timeout).
  bool send(const std::string& bytes);
  // From now on, while send() waits for room in the socket, whatever the server sends meanwhile
  // is read into pending(), so a server that answers while the request is still arriving (an
  // echo, an early 413) cannot deadlock a client that sends first and reads after. Off by
  // default: a test that reads the socket itself on another thread must not turn it on.
  void read_while_sending() { read_while_sending_ = true; }
  void shutdown_write();
  // Reads one response (status line, headers, body by Content-Length / chunked / until close).
  // `head_request`: the response has no body. nullopt on timeout or malformed framing.
  std::optional<Response> read_response(bool head_request = false);
  // Reads until pending() holds at least `n` bytes; false on EOF/error/timeout before that.
  bool read_at_least(size_t n);
  // Reads everything until the peer closes (or timeout); returns what arrived.
  std::string read_until_close();
  // True when the peer closed the connection within `timeout` (after draining any data).
  bool closed_within(Ms timeout);
  std::string& pending() { return buffer_; }

 protected:
  // One step of I/O: n > 0 bytes moved; n == 0 the peer closed (reads only); n < 0 an error,
  // unless `wait` names the poll events to wait for before trying again.
  struct Io {
    ssize_t n = -1;
    short wait = 0;
  };
  virtual Io read_some(char* buf, size_t len);
  virtual Io write_some(const char* buf, size_t len);
  virtual void close_write();
  void disconnect();  // closes the socket: connected() is false from now on
  Ms timeout() const { return timeout_; }

 private:
  bool fill();  // reads more into buffer_; false on EOF/error/timeout
  int fd_ = -1;
  Ms timeout_;
  std::string buffer_;
  bool eof_ = false;
  bool read_while_sending_ = false;
};

// Runs a program to completion (bounded), stdout + stderr into `output_file`. The exit code, or
// -1 when it was killed by a signal or did not finish within `timeout` (then it is killed).
struct ProgramResult {
  int exit_code = -1;
  std::string output;
};
ProgramResult run_program(const std::vector<std::string>& argv,
                          const std::filesystem::path& output_file, Ms timeout = 20s);

// One request to the admin API on a unix socket: the whole raw answer (the API closes after
// it), "" when the socket does not answer. Every wait is bounded (5 s).
std::string admin_exchange(const std::filesystem::path& socket_path, const std::string& method,
                           const std::string& target);

// One request on a fresh connection: "GET path" with Host and Connection: close.
std::optional<Response> http_request(uint16_t port, const std::string& method,
                                     const std::string& path, const std::string& body = {},
                                     const std::string& host = "localhost",
                                     const std::vector<std::string>& extra_headers = {});

}  // namespace sitehost::test
