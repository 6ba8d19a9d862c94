#include "shared/frontend/control/ctl.h"
#include "shared/util/unique_fd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "shared/config/config_loader.h"
#include "shared/config/values.h"
#include "shared/frontend/control/admin_server.h"
#include "shared/service/journal_stream.h"

namespace sitehost {

namespace {

constexpr const char* kCtlUsage =
    "Usage: sitehost ctl [-c FILE] COMMAND\n"
    "\n"
    "  status          print the server's status (JSON)\n"
    "  reload          re-read the configuration and apply it\n"
    "  reload SITE     reload one site\n"
    "  stop            stop gracefully\n"
    "  metrics         print the metrics (Prometheus text)\n"
    "\n"
    "  -c, --config FILE   the configuration file, read only to find [server] admin\n";

constexpr int kTimeoutMs = 60000;

using Fd = UniqueFd;

// A failure on stderr, exit code 1. Under systemd (ExecReload=: stderr is the journal stream)
// each line gets the error priority, so `journalctl -p err` shows why a reload failed.
int fail(std::string_view text) {
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  const char* stream = std::getenv("JOURNAL_STREAM");
  std::string out = service::is_journal_stream(stream ? stream : "", STDERR_FILENO)
                        ? service::journal_lines(LogLevel::kError, text)
                        : std::string(text) + "\n";
  std::fwrite(out.data(), 1, out.size(), stderr);
  return 1;
}

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// The admin address from the config: the validated config when it loads, else just the
// [server] admin string of a file that parses as TOML (a config the server would reject still
// names its socket, so `ctl reload` gets the server's file:line:key answer), else the default
// socket. A file that is not TOML at all is an error with its line: guessing the default socket
// would report "cannot connect" instead of the typo (seen under systemd: `systemctl reload`
// after a bad edit).
std::optional<AdminEndpoint> find_endpoint(const std::filesystem::path& file, bool explicit_file,
                                           std::string& error) {
  LoadResult loaded = load_config(file);
  if (loaded.config) return loaded.config->server.admin;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    if (explicit_file) {
      error = loaded.error;
      return std::nullopt;
    }
    return AdminEndpoint{};  // no config: the default socket
  }
  std::optional<std::string> text;
  bool is_toml = false;
#if TOML_EXCEPTIONS
  try {
    toml::table root = toml::parse_file(file.string());
    is_toml = true;
    text = root["server"]["admin"].value<std::string>();
  } catch (const toml::parse_error&) {
  }
#else
  toml::parse_result parsed = toml::parse_file(file.string());
  is_toml = bool(parsed);
  if (parsed) text = parsed.table()["server"]["admin"].value<std::string>();
#endif
  if (!is_toml) {
    error = loaded.error;
    return std::nullopt;
  }
  if (!text) return AdminEndpoint{};
  std::filesystem::path dir = std::filesystem::absolute(file, ec).parent_path();
  std::string why;
  auto endpoint = config_detail::parse_admin(*text, dir, why);
  if (!endpoint) {
    error = loaded.error;
    return std::nullopt;
  }
  return endpoint;
}

// Connects to the admin endpoint; returns the socket or -1 with `error` set.
int connect_to(const AdminEndpoint& e, std::string& error) {
  int fd = -1;
  int rc = -1;
  if (e.kind == AdminEndpoint::Kind::kTcp) {
    sockaddr_storage addr{};
    socklen_t len = 0;
    if (e.ip.find(':') != std::string::npos) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(e.port);
      inet_pton(AF_INET6, e.ip.c_str(), &a->sin6_addr);
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      a->sin_family = AF_INET;
      a->sin_port = htons(e.port);
      inet_pton(AF_INET, e.ip.c_str(), &a->sin_addr);
      len = sizeof *a;
    }
    fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
  } else {
    std::string path =
        e.kind == AdminEndpoint::Kind::kSocket ? e.path : default_admin_socket().string();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }
  if (fd < 0 || rc != 0) {
    error = fmt::format("cannot connect to the admin API at {}: {} (is sitehost running?)",
                        describe(e), errno_text(errno));
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

bool wait_for(int fd, short events) {
  pollfd p{fd, events, 0};
  int r;
  do {
    r = ::poll(&p, 1, kTimeoutMs);
  } while (r < 0 && errno == EINTR);
  return r > 0;
}

// Sends one request and reads the whole answer (the server closes after it).
bool exchange(int fd, const std::string& request, std::string& answer, std::string& error) {
  for (size_t off = 0; off < request.size();) {
    ssize_t n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = fmt::format("sending the request: {}", errno_text(errno));
      return false;
    }
    off += static_cast<size_t>(n);
  }
  char buffer[16384];
  for (;;) {
    if (!wait_for(fd, POLLIN)) {
      error = "no answer from the admin API";
      return false;
    }
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = fmt::format("reading the answer: {}", errno_text(errno));
      return false;
    }
    if (n == 0) return true;
    answer.append(buffer, static_cast<size_t>(n));
  }
}

}  // namespace

int run_ctl(int argc, char** argv, const char* default_config) {
  std::filesystem::path config = default_config;
  bool explicit_config = false;
  std::vector<std::string_view> words;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kCtlUsage, stdout);
      return 0;
    }
    if ((arg == "-c" || arg == "--config") && i + 1 < argc) {
      config = argv[++i];
      explicit_config = true;
    } else if (arg.starts_with("--config=")) {
      config = std::string(arg.substr(9));
      explicit_config = true;
    } else if (arg.starts_with("-")) {
      std::fprintf(stderr, "sitehost ctl: unknown option '%s'\n\n%s", argv[i], kCtlUsage);
      return 2;
    } else {
      words.push_back(arg);
    }
  }
  std::string method;
  std::string target;
  if (words.size() == 1 && words[0] == "status") {
    method = "GET";
    target = "/status";
  } else if (words.size() == 1 && words[0] == "metrics") {
    method = "GET";
    target = "/metrics";
  } else if (words.size() == 1 && words[0] == "stop") {
    method = "POST";
    target = "/stop";
  } else if (!words.empty() && words.size() <= 2 && words[0] == "reload") {
    method = "POST";
    target = "/reload";
    if (words.size() == 2) {
      if (!config_detail::valid_site_name(words[1])) {
        std::fprintf(stderr, "sitehost ctl: invalid site name '%.*s'\n",
                     static_cast<int>(words[1].size()), words[1].data());
        return 2;
      }
      target += fmt::format("?site={}", words[1]);
    }
  } else {
    std::fputs(kCtlUsage, stderr);
    return 2;
  }

  std::string error;
  auto endpoint = find_endpoint(config, explicit_config, error);
  if (!endpoint) return fail("sitehost ctl: " + error);
  if (endpoint->kind == AdminEndpoint::Kind::kOff) {
    return fail(fmt::format("sitehost ctl: the admin API is off ([server] admin = \"off\" in {})",
                            config.string()));
  }
  int raw = connect_to(*endpoint, error);
  if (raw < 0) return fail("sitehost ctl: " + error);
  Fd fd(raw);
  std::string request = fmt::format(
      "{} {} HTTP/1.1\r\nHost: sitehost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", method,
      target);
  std::string answer;
  if (!exchange(fd.get(), request, answer, error)) return fail("sitehost ctl: " + error);
  size_t head_end = answer.find("\r\n\r\n");
  int status = 0;
  if (head_end == std::string::npos || std::sscanf(answer.c_str(), "HTTP/1.%*d %d", &status) != 1) {
    return fail("sitehost ctl: malformed answer from the admin API");
  }
  std::string_view body = std::string_view(answer).substr(head_end + 4);
  bool ok = status >= 200 && status < 300;
  if (!ok) return fail(body);
  std::fwrite(body.data(), 1, body.size(), stdout);
  return 0;
}

}  // namespace sitehost
