// Socket activation (sd_listen_fds(3)) through the real binary: sockets systemd passes are used in
// place of binding their addresses. With the real `systemd-socket-activate`, and with sockets
// this test passes itself, which shows what activation is for: a connection queued on the socket
// while no sitehost runs (before the first start, across a restart) is served, not lost.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "tests/support/harness.h"
#include "tests/support/site_config.h"

namespace sitehost::test {
namespace {

constexpr const char* kSocketActivate = "/usr/bin/systemd-socket-activate";
const std::string kGet = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

// A listening TCP socket on 127.0.0.1 (or the dual-stack IPv6 wildcard), as a socket unit makes
// it; `*port` is its port. -1 when the address family is not available.
int listening_socket(uint16_t* port, bool ipv6_wildcard = false) {
  int fd = ::socket(ipv6_wildcard ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (ipv6_wildcard) {
    int off = 0;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
    a6->sin6_family = AF_INET6;
    a6->sin6_addr = in6addr_any;
    len = sizeof *a6;
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
    a4->sin_family = AF_INET;
    a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a4;
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd, 64) != 0) {
    ::close(fd);
    return -1;
  }
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(ipv6_wildcard ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                              : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return fd;
}

class SocketActivation : public ::testing::Test {
 protected:
  ~SocketActivation() override {
    for (int fd : sockets) ::close(fd);
  }
  // A socket this test keeps open for its whole run (as systemd keeps its copy).
  int inherit(uint16_t* port, bool ipv6_wildcard = false) {
    int fd = listening_socket(port, ipv6_wildcard);
    if (fd >= 0) sockets.push_back(fd);
    return fd;
  }
  // One hello site per port, named site0, site1, ...
  std::string sites_on(const std::vector<std::string>& bindings, int event_loops = 2) const {
    ConfigBuilder b(dir, 0);
    b.server("admin", "\"off\"");
    b.server("event_loops", std::to_string(event_loops));
    for (size_t i = 0; i < bindings.size(); ++i) {
      SiteSpec s;
      s.name = "site" + std::to_string(i);
      s.bindings = {bindings[i]};
      s.keys["handler"] = toml_string((apps_dir() / "hello.so").string());
      b.site(s);
    }
    return b.str();
  }
  static std::string http(uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }
  // An inherited socket accepts before sitehost runs: wait for its "started" line instead.
  bool wait_started() const {
    return wait_until([&] { return server->log().find(" started (pid") != std::string::npos; },
                      20s);
  }

  // A fresh connection that sends a request at once (it waits in the kernel until served).
  static std::unique_ptr<Client> queue_request(uint16_t port) {
    auto c = std::make_unique<Client>(port, 30s);
    EXPECT_TRUE(c->connected() && c->send(kGet));
    return c;
  }
  static void expect_served(Client& c) {
    auto r = c.read_response();
    ASSERT_TRUE(r) << "a queued connection was not served";
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "Hello, World!");
  }

  TempDir dir;
  std::vector<int> sockets;
  std::unique_ptr<Sitehost> server;
};

TEST_F(SocketActivation, WithSystemdSocketActivateBothSitesAnswer) {
  if (!std::filesystem::exists(kSocketActivate))
    GTEST_SKIP() << kSocketActivate << " is missing (Debian package systemd; tools/setup)";
  uint16_t one = free_port(), two = free_port(), spare = free_port();
  std::filesystem::path config =
      dir.write("sitehost.toml", with_test_event_loops(sites_on({http(one), http(two)})));
  std::vector<std::string> argv{kSocketActivate,
                                "-l",
                                "127.0.0.1:" + std::to_string(one),
                                "-l",
                                "127.0.0.1:" + std::to_string(two),
                                "-l",
                                "127.0.0.1:" + std::to_string(spare),
                                "--fdname=one:two:spare"};
  // The tool hands its child only the variables it is told to: the sanitizers' settings.
  for (const char* name : {"ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS"})
    if (std::getenv(name)) argv.insert(argv.end(), {"-E", name});
  argv.insert(argv.end(), {sitehost_binary().string(), "-c", config.string()});
  // It execs sitehost (same pid) on the first connection, which then waits in the backlog.
  Process tool(argv, dir / "activate.out");
  std::optional<Response> r1, r2;
  ASSERT_TRUE(wait_until([&] { return (r1 = http_request(one, "GET", "/")).has_value(); }, 30s))
      << tool.output();
  EXPECT_EQ(r1->status, 200);
  r2 = http_request(two, "GET", "/");
  ASSERT_TRUE(r2) << tool.output();
  EXPECT_EQ(r2->status, 200);
  std::string log = tool.output();
  EXPECT_NE(log.find("listening on 127.0.0.1:" + std::to_string(one) +
                     " (inherited from systemd: fd 3 127.0.0.1:" + std::to_string(one) + " (one))"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("socket activation: fd 5 127.0.0.1:" + std::to_string(spare) +
                     " (spare) matches no binding"),
            std::string::npos)
      << log;
  tool.signal(SIGTERM);
  auto exited = tool.wait_exit(20s);
  ASSERT_TRUE(exited && WIFEXITED(*exited)) << tool.output();
  EXPECT_EQ(WEXITSTATUS(*exited), 0) << tool.output();
  EXPECT_EQ(sanitizer_report(tool.output()), "");
}

// What socket activation is for: nothing queued on the socket is lost while no sitehost runs.
TEST_F(SocketActivation, ConnectionsQueuedWhileNoSitehostRunsAreServed) {
  uint16_t port = 0;
  int fd = inherit(&port);
  ASSERT_GE(fd, 0);
  std::string config = sites_on({http(port)});
  auto early = queue_request(port);  // before the first start: in the backlog
  server = std::make_unique<Sitehost>(dir, config, std::map<std::string, std::string>{},
                                      std::vector<int>{fd});
  expect_served(*early);
  early.reset();  // closed by us: no lingering close for the shutdown to wait for
  EXPECT_NE(server->log().find("(inherited from systemd"), std::string::npos) << server->log();

  // A restart: the old process exits, connections queue, the new one serves them.
  ASSERT_EQ(server->stop(), 0) << server->log();
  std::vector<std::unique_ptr<Client>> queued;
  for (int i = 0; i < 3; ++i) queued.push_back(queue_request(port));
  server.reset();
  server = std::make_unique<Sitehost>(dir, config, std::map<std::string, std::string>{},
                                      std::vector<int>{fd});
  for (auto& c : queued) expect_served(*c);
  queued.clear();
  EXPECT_EQ(server->stop(), 0) << server->log();
}

// A reload that drops an inherited address leaves the socket open (connections queue on it), and
// one that adds it back serves them.
TEST_F(SocketActivation, ReloadDroppingAnAddressKeepsItsSocket) {
  uint16_t a = 0, b = 0;
  int fa = inherit(&a), fb = inherit(&b);
  ASSERT_GE(fa, 0);
  ASSERT_GE(fb, 0);
  std::string both = sites_on({http(a), http(b)});
  server = std::make_unique<Sitehost>(dir, both, std::map<std::string, std::string>{},
                                      std::vector<int>{fa, fb});
  ASSERT_TRUE(wait_started()) << server->log();
  auto reloads = [&] {
    std::string log = server->log();
    size_t n = 0;
    for (size_t at = log.find("config reloaded"); at != std::string::npos;
         at = log.find("config reloaded", at + 1))
      ++n;
    return n;
  };
  server->rewrite_config(sites_on({http(b)}));
  server->process().signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return reloads() == 1; }, 20s)) << server->log();
  EXPECT_NE(server->log().find("socket activation: fd 3 127.0.0.1:" + std::to_string(a) +
                               " matches no binding"),
            std::string::npos)
      << server->log();
  auto waiting = queue_request(a);  // still accepted by the kernel: the socket stays open
  server->rewrite_config(both);
  server->process().signal(SIGHUP);
  expect_served(*waiting);
  waiting.reset();
  EXPECT_TRUE(wait_until([&] { return reloads() == 2; }, 20s)) << server->log();
  EXPECT_EQ(server->stop(), 0) << server->log();
}

// systemd's plain ListenStream=PORT is a dual-stack IPv6 wildcard: it serves a `*` binding.
TEST_F(SocketActivation, DualStackWildcardServesTheWildcardBinding) {
  uint16_t port = 0;
  int fd = inherit(&port, /*ipv6_wildcard=*/true);
  if (fd < 0) GTEST_SKIP() << "no IPv6 on this machine: cannot make a dual-stack socket";
  server = std::make_unique<Sitehost>(dir, sites_on({"http://*:" + std::to_string(port)}),
                                      std::map<std::string, std::string>{}, std::vector<int>{fd});
  auto c = queue_request(port);
  expect_served(*c);
  EXPECT_NE(server->log().find("listening on 0.0.0.0:" + std::to_string(port) +
                               " (inherited from systemd: fd 3 [::]:" + std::to_string(port)),
            std::string::npos)
      << server->log();
}

TEST_F(SocketActivation, ADescriptorThatIsNoListeningSocketIsAClearError) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  sockets.insert(sockets.end(), {pipe_fds[0], pipe_fds[1]});
  server = std::make_unique<Sitehost>(dir, sites_on({http(free_port())}),
                                      std::map<std::string, std::string>{{"LISTEN_FDNAMES", "web"}},
                                      std::vector<int>{pipe_fds[0]});
  auto exited = server->process().wait_exit(20s);
  ASSERT_TRUE(exited && WIFEXITED(*exited)) << server->log();
  EXPECT_EQ(WEXITSTATUS(*exited), 1);
  EXPECT_NE(server->log().find("sitehost: socket activation: fd 3 (web) is not a listening TCP "
                               "socket"),
            std::string::npos)
      << server->log();
}

}  // namespace
}  // namespace sitehost::test
