// The admin API and `sitehost ctl` through the real binary: /status, /metrics, /reload, /stop on
// a unix socket and on loopback TCP, the `admin` config key, and the ctl exit codes.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "tests/frontend/frontend_fixture.h"
#include "tests/frontend/metrics_text.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;

// Splits a whole "HTTP/1.1 ..." answer (the admin API closes after it).
std::optional<Response> parse_answer(const std::string& all) {
  size_t end = all.find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  Response r;
  std::istringstream in(all.substr(0, end));
  std::string line;
  std::getline(in, line);
  std::istringstream status_line(line);
  status_line >> r.http_version >> r.status;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    r.headers.emplace_back(line.substr(0, colon),
                           line.substr(line.find_first_not_of(' ', colon + 1)));
  }
  r.body = all.substr(end + 4);
  return r;
}

// One request to the admin API on a unix socket.
std::optional<Response> admin_call(const fs::path& socket_path, const std::string& method,
                                   const std::string& target) {
  return parse_answer(admin_exchange(socket_path, method, target));
}

// The value of the sample `series` (name plus labels, exactly as exposed); -1 when absent.
class Admin : public FrontendTest {
 protected:
  void start_with_socket(std::vector<std::pair<std::string, std::string>> keys = {}) {
    socket_path = dir / "admin.sock";
    keys.emplace_back("admin", toml_string(socket_path.string()));
    start(keys);
    // The HTTP port accepts (kernel backlog) a moment before the admin socket listens.
    ASSERT_TRUE(wait_until([&] { return call("GET", "/").has_value(); })) << server->log();
  }

  std::optional<Response> call(const std::string& method, const std::string& target) {
    return admin_call(socket_path, method, target);
  }

  struct Ctl {
    int code = -1;
    std::string out;
  };
  Ctl ctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{sitehost_binary().string(), "ctl", "-c",
                                  server->config_path().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    fs::path out = dir / ("ctl-" + std::to_string(++ctl_runs) + ".out");
    Process p(argv, out);
    auto status = p.wait_exit(15s);
    Ctl result;
    result.out = p.output();
    result.code = status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
    return result;
  }

  fs::path socket_path;
  int ctl_runs = 0;
};

TEST_F(Admin, StatusDescribesTheServerAndEverySite) {
  start_with_socket();
  ASSERT_EQ(http_request(port, "GET", "/")->status, 200);
  // A loop counts a request when its context returns, a moment after the client has the response;
  // on another loop than the admin API's that is not before this call: wait for the count.
  std::optional<Response> r;
  EXPECT_TRUE(wait_until([&] {
    r = call("GET", "/status");
    return r && r->body.find("\"requests\": 1") != std::string::npos;
  })) << (r ? r->body : server->log());
  ASSERT_TRUE(r) << server->log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Type"), "application/json");
  const std::string& s = r->body;
  EXPECT_NE(s.find("\"pid\": " + std::to_string(server->process().pid())), std::string::npos) << s;
  EXPECT_NE(s.find("\"version\": \""), std::string::npos) << s;
  EXPECT_NE(s.find("\"uptime_seconds\": "), std::string::npos) << s;
  EXPECT_NE(s.find("\"connections\": "), std::string::npos) << s;
  EXPECT_NE(s.find("\"admin\": \"unix:" + socket_path.string() + "\""), std::string::npos) << s;
  for (const char* name : {"hello", "info", "echo", "slow"})
    EXPECT_NE(s.find(std::string("\"name\": \"") + name + "\""), std::string::npos) << s;
  EXPECT_NE(s.find("\"hosting_model\": \"inprocess\""), std::string::npos) << s;
  EXPECT_NE(s.find("\"state\": \"running\""), std::string::npos) << s;
  EXPECT_NE(s.find("\"in_flight\": 0"), std::string::npos) << s;
  EXPECT_NE(s.find("\"requests\": 1"), std::string::npos) << s;  // hello's
  EXPECT_EQ(std::count(s.begin(), s.end(), '{'), std::count(s.begin(), s.end(), '}'));

  // A request in flight and an offline site show.
  Client slow(port, 10s);
  ASSERT_TRUE(slow.send("GET /slow?ms=800 HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(wait_until([&] {
    auto st = call("GET", "/status");
    return st && st->body.find("\"in_flight\": 1") != std::string::npos;
  }));
  ASSERT_TRUE(slow.read_response());
  dir.write("app_offline.htm", "off");
  ASSERT_TRUE(wait_until([&] {
    auto st = call("GET", "/status");
    return st && st->body.find("\"state\": \"offline\"") != std::string::npos;
  })) << server->log();
}

TEST_F(Admin, MetricsMoveWithRequests) {
  start_with_socket();
  const std::string ok2xx =
      "sitehost_requests_total{site=\"hello\",model=\"inprocess\",status_class=\"2xx\"}";
  const std::string unrouted4xx =
      "sitehost_requests_total{site=\"-\",model=\"-\",status_class=\"4xx\"}";
  auto before = call("GET", "/metrics");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, 200);
  EXPECT_NE(before->header("Content-Type")->find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_EQ(metric(before->body, ok2xx), 0);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(http_request(port, "GET", "/")->status, 200);
  ASSERT_EQ(http_request(port, "GET", "/", {}, "nobody.example")->status, 200);  // IP binding
  Client bad(port);
  ASSERT_TRUE(bad.send("GET / HTTP/1.1\r\n\r\n"));  // no Host: 400 before routing
  ASSERT_TRUE(bad.read_response());
  // Counted when each context returns (on whichever loop served it): wait for the counts.
  std::optional<Response> after;
  EXPECT_TRUE(wait_until([&] {
    after = call("GET", "/metrics");
    return after && metric(after->body, ok2xx) == 4 && metric(after->body, unrouted4xx) == 1;
  })) << (after ? after->body : server->log());
  ASSERT_TRUE(after);
  const std::string& m = after->body;
  EXPECT_EQ(metric(m, ok2xx), 4) << m;
  EXPECT_EQ(metric(m, unrouted4xx), 1) << m;
  EXPECT_EQ(metric(m, "sitehost_request_duration_seconds_count{site=\"hello\"}"), 4) << m;
  EXPECT_EQ(metric(m, "sitehost_request_duration_seconds_bucket{site=\"hello\",le=\"+Inf\"}"), 4);
  EXPECT_GT(metric(m, "sitehost_bytes_received_total"), 100);
  EXPECT_GT(metric(m, "sitehost_bytes_sent_total"),
            metric(before->body, "sitehost_bytes_sent_total"));
  EXPECT_GE(metric(m, "sitehost_connections_active"), 0);
  EXPECT_EQ(metric(m, "sitehost_requests_in_flight{site=\"hello\"}"), 0);
  EXPECT_EQ(metric(m, "sitehost_reloads_total{result=\"ok\"}"), 0);
  EXPECT_EQ(metric(m, "sitehost_hot_swaps_total{site=\"hello\",result=\"ok\"}"), 0);
  EXPECT_EQ(metric(m, "sitehost_child_starts_total{site=\"hello\"}"), 0);
  EXPECT_EQ(metric(m, "sitehost_child_crashes_total{site=\"hello\"}"), 0);
  EXPECT_NE(m.find("# TYPE sitehost_request_duration_seconds histogram"), std::string::npos);

  // Open connections count; reloads count by result.
  Client held(port);
  ASSERT_TRUE(held.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(held.read_response());
  EXPECT_GE(metric(call("GET", "/metrics")->body, "sitehost_connections_active"), 1);
  ASSERT_EQ(call("POST", "/reload")->status, 200);
  server->rewrite_config(config + "\nbogus = 1\n");
  ASSERT_EQ(call("POST", "/reload")->status, 400);
  auto reloads = call("GET", "/metrics");
  EXPECT_EQ(metric(reloads->body, "sitehost_reloads_total{result=\"ok\"}"), 1);
  EXPECT_EQ(metric(reloads->body, "sitehost_reloads_total{result=\"failed\"}"), 1);
  // app_offline 503s are counted apart as well.
  dir.write("app_offline.htm", "off");
  ASSERT_TRUE(wait_until([&] { return http_request(port, "GET", "/")->status == 503; }));
  auto off = call("GET", "/metrics");
  EXPECT_GE(metric(off->body, "sitehost_offline_responses_total{site=\"hello\"}"), 1);
  EXPECT_EQ(metric(off->body, "sitehost_site_offline{site=\"hello\"}"), 1);
}

TEST_F(Admin, UnknownPathsAndWrongMethods) {
  start_with_socket();
  EXPECT_EQ(call("GET", "/nope")->status, 404);
  auto r = call("GET", "/reload");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->header("Allow"), "POST");
  EXPECT_EQ(call("POST", "/status")->status, 405);
  EXPECT_EQ(call("POST", "/reload?site=nosuch")->status, 404);
  EXPECT_EQ(call("GET", "/")->status, 200);
}

TEST_F(Admin, LoopbackTcpAddress) {
  uint16_t admin_port = free_port();
  start({{"admin", toml_string("127.0.0.1:" + std::to_string(admin_port))}});
  ASSERT_TRUE(wait_until([&] { return Client(admin_port, 200ms).connected(); })) << server->log();
  Client c(admin_port);
  ASSERT_TRUE(c.connected()) << server->log();
  ASSERT_TRUE(c.send("GET /status HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"sites\""), std::string::npos);
  EXPECT_EQ(r->header("Connection"), "close");
  auto st = ctl({"status"});
  EXPECT_EQ(st.code, 0) << st.out;
  EXPECT_NE(st.out.find("\"admin\": \"127.0.0.1:" + std::to_string(admin_port) + "\""),
            std::string::npos)
      << st.out;
}

TEST_F(Admin, AdminMustBeLoopbackOrASocket) {
  for (const char* value : {"0.0.0.0:9000", "10.1.2.3:80", "[::]:9000", "example.com:80"}) {
    ConfigBuilder b(dir, 8080);
    b.server("admin", toml_string(value));
    b.inproc_app("hello", "hello");
    auto file = dir.write("bad.toml", b.str());
    Process p({sitehost_binary().string(), "--check", "-c", file.string()}, dir / "check.out");
    auto status = p.wait_exit(10s);
    ASSERT_TRUE(status);
    EXPECT_EQ(WEXITSTATUS(*status), 1) << value;
    std::string out = p.output();
    EXPECT_NE(out.find("bad.toml:2: server.admin:"), std::string::npos) << out;
    fs::remove(dir / "check.out");
  }
}

TEST_F(Admin, OffMeansNoSocket) {
  start({{"admin", "\"off\""}});
  auto r = ctl({"status"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("admin API is off"), std::string::npos) << r.out;
}

TEST_F(Admin, ASecondServerCannotTakeALiveSocketButReplacesAStaleOne) {
  start_with_socket();
  // Another sitehost configured with the same socket refuses to start.
  TempDir other;
  ConfigBuilder b(other, free_port());
  b.server("admin", toml_string(socket_path.string()));
  b.inproc_app("hello", "hello");
  Sitehost second(other, b.str());
  auto status = second.process().wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 1);
  EXPECT_NE(second.log().find("in use by another sitehost (pid " +
                              std::to_string(server->process().pid()) + ")"),
            std::string::npos)
      << second.log();
  EXPECT_EQ(call("GET", "/status")->status, 200) << "the live socket was taken over";

  // Killed hard, the first leaves its socket file behind; the next one replaces it.
  server->process().signal(SIGKILL);
  server->process().wait_exit(5s);
  ASSERT_TRUE(fs::exists(socket_path));
  Sitehost third(dir, config);
  ASSERT_TRUE(third.wait_listening(port)) << third.log();
  ASSERT_TRUE(wait_until([&] {
    auto r = call("GET", "/status");
    return r && r->body.find(std::to_string(third.process().pid())) != std::string::npos;
  })) << third.log();
  EXPECT_EQ(third.stop(), 0);
  EXPECT_FALSE(fs::exists(socket_path)) << "socket left behind after a clean stop";
}

TEST_F(Admin, CtlStatusReloadAndStop) {
  start_with_socket();
  auto st = ctl({"status"});
  EXPECT_EQ(st.code, 0) << st.out;
  EXPECT_NE(st.out.find("\"name\": \"hello\""), std::string::npos) << st.out;

  auto ok = ctl({"reload"});
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(ok.out.find("config reloaded: 4 site(s)"), std::string::npos) << ok.out;

  auto one = ctl({"reload", "hello"});
  EXPECT_EQ(one.code, 0) << one.out;
  EXPECT_NE(one.out.find("site hello:"), std::string::npos) << one.out;
  EXPECT_EQ(http_request(port, "GET", "/")->body, "Hello, World!");
  auto none = ctl({"reload", "nosuch"});
  EXPECT_EQ(none.code, 1) << none.out;
  EXPECT_NE(none.out.find("no site named \"nosuch\""), std::string::npos) << none.out;

  // An invalid config: the server's file:line:key error, exit 1, nothing changed.
  ConfigBuilder b(dir, port);
  b.server("admin", toml_string(socket_path.string()));
  b.server("header_timeout", "\"soon\"");
  b.inproc_app("info", "info");
  server->rewrite_config(b.str());
  auto bad = ctl({"reload"});
  EXPECT_EQ(bad.code, 1) << bad.out;
  EXPECT_NE(bad.out.find("sitehost.toml:3: server.header_timeout:"), std::string::npos) << bad.out;
  EXPECT_EQ(http_request(port, "GET", "/")->body, "Hello, World!");
  // Not TOML at all (a bad edit): ctl names the file and line, not a default socket it guessed.
  server->rewrite_config(config + "\nthis is = = not toml [\n");
  auto garbage = ctl({"reload"});
  EXPECT_EQ(garbage.code, 1) << garbage.out;
  EXPECT_NE(garbage.out.find("sitehost.toml:"), std::string::npos) << garbage.out;
  EXPECT_NE(garbage.out.find("syntax error"), std::string::npos) << garbage.out;
  EXPECT_EQ(garbage.out.find("cannot connect"), std::string::npos) << garbage.out;
  EXPECT_EQ(http_request(port, "GET", "/")->body, "Hello, World!");

  server->rewrite_config(config);
  auto stop = ctl({"stop"});
  EXPECT_EQ(stop.code, 0) << stop.out;
  auto exited = server->process().wait_exit(10s);
  ASSERT_TRUE(exited) << server->log();
  EXPECT_TRUE(WIFEXITED(*exited));
  EXPECT_EQ(WEXITSTATUS(*exited), 0);
  EXPECT_FALSE(fs::exists(socket_path));
}

TEST_F(Admin, CtlWithoutARunningServerFails) {
  ConfigBuilder b(dir, free_port());
  b.server("admin", toml_string((dir / "nobody.sock").string()));
  b.inproc_app("hello", "hello");
  auto file = dir.write("cfg.toml", b.str());
  Process p({sitehost_binary().string(), "ctl", "-c", file.string(), "status"}, dir / "ctl.out");
  auto status = p.wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 1);
  EXPECT_NE(p.output().find("cannot connect"), std::string::npos) << p.output();
  Process usage({sitehost_binary().string(), "ctl", "frobnicate"}, dir / "usage.out");
  status = usage.wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 2);
}

}  // namespace
}  // namespace sitehost::test
