#include "tests/operate/haproxy.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

#include "shared/util/unique_fd.h"
#include "tests/operate/find_program.h"

namespace sitehost::test {

namespace fs = std::filesystem;

fs::path haproxy_binary() {
  return find_program("haproxy", "/usr/sbin:/sbin");
}

// The config of docs/scale-out.md with test timings. The zero-failure roll relies on the health
// check alone (option httpchk + http-check expect status 200, inter 100ms fall 1): an instance is
// taken out within ~100 ms of its health turning 503, far inside its drain_delay, and put back
// (rise 1) once a started instance answers 200. No retries (retries, retry-on, option
// redispatch): they would hide a drain that is too short (with drain_delay 0 and retry-on,
// failures showed in one run of three; without, in every run), so the test leaves them out to
// prove the drain alone suffices. docs/scale-out.md recommends them in production as a net.
std::string HaProxy::config(const fs::path& stats_socket, uint16_t port,
                            const std::vector<Backend>& servers) {
  std::string cfg =
      "global\n"
      "  stats socket " +
      stats_socket.string() +
      " mode 600 level admin\n"
      "  nbthread 1\n"
      "defaults\n"
      "  mode http\n"
      "  timeout connect 1s\n"
      "  timeout client 10s\n"
      "  timeout server 10s\n"
      "frontend web\n"
      "  bind 127.0.0.1:" +
      std::to_string(port) +
      "\n"
      "  default_backend sitehost\n"
      "backend sitehost\n"
      "  balance roundrobin\n"
      "  option httpchk GET /\n"
      "  http-check expect status 200\n"
      "  default-server inter 100ms fall 1 rise 1\n";
  for (const auto& s : servers)
    cfg += "  server " + s.name + " 127.0.0.1:" + std::to_string(s.port) + " check port " +
           std::to_string(s.health) + "\n";
  return cfg;
}

namespace {

std::vector<std::string> start_haproxy(const TempDir& dir, uint16_t port,
                                       const std::vector<Backend>& servers) {
  fs::path cfg = dir.write("haproxy.cfg", HaProxy::config(dir / "haproxy.sock", port, servers));
  return {haproxy_binary().string(), "-db", "-f", cfg.string()};  // -db: foreground
}

// One command on the stats socket; the whole answer (HAProxy closes after it), "" on failure.
std::string stats_command(const fs::path& socket_path, const std::string& command) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  if (fd.get() < 0 || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return {};
  std::string line = command + "\n";
  if (::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) != ssize_t(line.size())) return {};
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) return {};
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0) return out;
    out.append(buf, size_t(n));
  }
}

std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  for (std::string f; std::getline(in, f, ',');) fields.push_back(f);
  return fields;
}

}  // namespace

HaProxy::HaProxy(const TempDir& dir, uint16_t port, const std::vector<Backend>& servers)
    : stats_socket_(dir / "haproxy.sock"),
      process_(start_haproxy(dir, port, servers), dir / "haproxy.out") {}

std::optional<std::string> HaProxy::server_status(const std::string& server) const {
  std::stringstream csv(stats_command(stats_socket_, "show stat"));
  std::string header;
  if (!std::getline(csv, header) || header.rfind("# ", 0) != 0) return std::nullopt;
  auto names = csv_fields(header.substr(2));
  size_t status = 0;
  while (status < names.size() && names[status] != "status") ++status;
  for (std::string line; std::getline(csv, line);) {
    auto f = csv_fields(line);
    if (f.size() > status && f[0] == "sitehost" && f[1] == server) return f[status];
  }
  return std::nullopt;
}

bool HaProxy::wait_status(const std::string& server, const std::string& status, Ms timeout) const {
  return wait_until([&] { return server_status(server) == status; }, timeout);
}

}  // namespace sitehost::test
