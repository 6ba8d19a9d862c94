// The front end on several event loops (`[server] event_loops`, docs/testing.md): connections
// spread over the loops and every counter adds up, event_loops = "auto" and bad values, a reload
// and a graceful stop under load, the in_flight gauge after redirect_to_https, max_connections
// for the whole server. Only answers of the front end itself are used (404 for a path no site
// serves, the 308 of redirect_to_https), so these tests do not depend on the hosting models
// serving several loops: the in-process hello sites they configure never get a request.
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <mutex>
#include <regex>
#include <thread>

#include "tests/frontend/metrics_text.h"
#include "tests/support/event_loops.h"
#include "tests/support/harness.h"
#include "tests/support/load.h"
#include "tests/support/site_config.h"
#include "tests/support/tls_client.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;

// A path no site serves: the front end answers 404 and keeps the connection open.
const std::string kUnrouted = "GET /nowhere HTTP/1.1\r\nHost: localhost\r\n\r\n";
const std::string kUnroutedClose =
    "GET /nowhere HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
const std::string kUnrouted4xx =
    "sitehost_requests_total{site=\"-\",model=\"-\",status_class=\"4xx\"}";

// One request to the admin API on a unix socket (it answers and closes): the body of a 200.
std::optional<std::string> admin_get(const fs::path& socket_path, const std::string& target) {
  std::string all = admin_exchange(socket_path, "GET", target);
  size_t end = all.find("\r\n\r\n");
  if (all.rfind("HTTP/1.1 200", 0) != 0 || end == std::string::npos) return std::nullopt;
  return all.substr(end + 4);
}

// The first `"key": N` of a JSON text; -1000000 when absent.
long json_number(const std::string& text, const std::string& key) {
  std::regex re("\"" + key + "\": (-?\\d+)");
  std::smatch m;
  return std::regex_search(text, m, re) ? std::stol(m[1]) : -1000000;
}

class EventLoops : public ::testing::Test {
 protected:
  // [server] event_loops = `loops` (a TOML literal), the admin API on a unix socket, and an
  // in-process hello site at /app on 127.0.0.1:port (every other path is the front end's 404).
  ConfigBuilder base(const std::string& loops = "2") {
    ConfigBuilder b(dir, port);
    b.server("event_loops", loops);
    b.server("admin", toml_string(admin_socket.string()));
    b.inproc_app("hello", "hello", "/app");
    return b;
  }
  void start(const std::string& toml) {
    server.emplace(dir, toml);
    ASSERT_TRUE(server->wait_listening(port)) << server->log();
    // The HTTP port accepts (kernel backlog) a moment before the admin socket listens.
    ASSERT_TRUE(wait_until([&] { return admin_get(admin_socket, "/status").has_value(); }))
        << server->log();
  }
  std::string status() const { return admin_get(admin_socket, "/status").value_or(""); }
  std::string metrics() const { return admin_get(admin_socket, "/metrics").value_or(""); }
  std::string log() const { return server ? server->log() : std::string(); }

  void TearDown() override {
    if (server && server->process().running()) {
      EXPECT_EQ(server->stop(), 0) << server->log();
    }
    server.reset();  // fails the test on a sanitizer report in the log
  }

  TempDir dir;
  uint16_t port = free_port();
  fs::path admin_socket = dir / "admin.sock";
  std::optional<Sitehost> server;
};

TEST_F(EventLoops, ConnectionsSpreadOverTwoLoopsAndNoCountIsLost) {
  ASSERT_NO_FATAL_FAILURE(start(base().str()));
  constexpr int kConnections = 60;
  constexpr int kRounds = 5;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(std::make_unique<Client>(port));
    ASSERT_TRUE(clients.back()->connected()) << i << log();
  }
  // Every connection has a request in flight at once, kRounds times over.
  for (int round = 0; round < kRounds; ++round) {
    for (auto& c : clients) ASSERT_TRUE(c->send(kUnrouted));
    for (auto& c : clients) {
      auto r = c->read_response();
      ASSERT_TRUE(r) << "round " << round << log();
      ASSERT_EQ(r->status, 404);
    }
  }
  const long sent = kConnections * kRounds;

  std::string s;
  auto total = [&] {
    s = status();
    long sum = 0;
    for (const LoopStats& l : loops_of(s)) sum += l.requests;
    return sum;
  };
  // A loop counts a request when its response is written: the last ones may lag the client.
  EXPECT_TRUE(wait_until([&] { return total() >= sent; })) << s;
  EXPECT_EQ(total(), sent) << s;
  EXPECT_EQ(json_number(s, "event_loops"), 2) << s;
  std::vector<LoopStats> loops = loops_of(s);
  ASSERT_EQ(loops.size(), 2u) << s;
  long open = 0;
  for (size_t i = 0; i < loops.size(); ++i) {
    EXPECT_EQ(loops[i].index, static_cast<long>(i)) << s;
    EXPECT_GT(loops[i].requests, 0) << "loop " << i << " served nothing (SO_REUSEPORT)\n" << s;
    EXPECT_GT(loops[i].connections, 0) << s;
    open += loops[i].connections;
  }
  EXPECT_EQ(open, kConnections) << s;
  EXPECT_EQ(json_number(s, "connections"), kConnections) << s;

  std::string m = metrics();
  EXPECT_EQ(metric(m, kUnrouted4xx), sent) << m;
  EXPECT_EQ(metric(m, "sitehost_request_duration_seconds_count{site=\"-\"}"), sent) << m;
  EXPECT_EQ(metric(m, "sitehost_connections_active"), kConnections) << m;

  clients.clear();
  EXPECT_TRUE(wait_until([&] { return json_number(status(), "connections") == 0; })) << status();
}

TEST_F(EventLoops, AutoIsTheCpusThisProcessMayRunOn) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
  const long cpus = CPU_COUNT(&set);  // sitehost inherits the test's affinity
  ASSERT_NO_FATAL_FAILURE(start(base("\"auto\"").str()));
  std::string s = status();
  EXPECT_EQ(json_number(s, "event_loops"), cpus) << s;
  EXPECT_EQ(loops_of(s).size(), static_cast<size_t>(cpus)) << s;
  EXPECT_NE(log().find(", " + std::to_string(cpus) + " event loop(s))"), std::string::npos)
      << log();
  auto r = http_request(port, "GET", "/nowhere");
  ASSERT_TRUE(r) << log();
  EXPECT_EQ(r->status, 404);
}

TEST_F(EventLoops, ABadValueIsAConfigErrorNamingFileLineAndKey) {
  struct Case {
    std::string value;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"0", "must be between 1 and 1024, got 0"},
      {"\"many\"", "must be \"auto\" or a number from 1 to 1024, got \"many\""},
      {"2000", "must be between 1 and 1024, got 2000"},
  };
  for (const Case& c : cases) {
    // Line 2: the first key of [server].
    fs::path file = dir.write("bad.toml", base(c.value).str());
    ProgramResult run =
        run_program({sitehost_binary().string(), "-c", file.string()}, dir / "bad.out", 20s);
    EXPECT_EQ(run.exit_code, 1) << c.value << ": " << run.output;
    std::string expected = file.string() + ":2: server.event_loops: " + c.message;
    EXPECT_NE(run.output.find(expected), std::string::npos)
        << "expected \"" << expected << "\" in:\n"
        << run.output;
  }
}

// Sends one request on a fresh connection and reads the whole answer until the server closes.
// "refused" when it could not connect; otherwise "" for a complete 404, else what went wrong.
std::string one_exchange(uint16_t port, const std::string& request, bool* connected) {
  Client c(port, 5s);
  *connected = c.connected();
  if (!c.connected()) return "refused";
  if (!c.send(request)) return "send failed";
  auto r = c.read_response();
  if (!r) return "no complete response (" + std::to_string(c.pending().size()) + " bytes)";
  return r->status == 404 ? "" : "status " + std::to_string(r->status);
}

TEST_F(EventLoops, ReloadUnderLoadKeepsAListenerAddsOneAndRemovesOne) {
  const uint16_t removed = free_port(), added = free_port();
  auto config = [&](uint16_t other) {
    ConfigBuilder b = base();
    b.server("log_level", "\"warn\"");  // not one line per 404
    SiteSpec s;
    s.name = "other";
    s.bindings = {"http://127.0.0.1:" + std::to_string(other)};
    s.path = "/other";
    s.keys["handler"] = toml_string((apps_dir() / "hello.so").string());
    return b.site(s).str();
  };
  ASSERT_NO_FATAL_FAILURE(start(config(removed)));
  ASSERT_TRUE(Client(removed).connected()) << log();

  // Keep-alive connections and a stream of new connections on the kept listener.
  KeepAliveLoad keep_alive(
      [&] { return std::make_unique<Client>(port); }, kUnrouted,
      [](const Response& r) { return r.status == 404 ? "" : "status " + std::to_string(r.status); },
      8);
  std::atomic<bool> stop{false};
  std::atomic<long> fresh{0};
  std::mutex mutex;
  std::vector<std::string> fresh_failures;
  std::vector<std::thread> openers;
  for (int t = 0; t < 4; ++t) {
    openers.emplace_back([&] {
      for (int i = 0; i < 5000 && !stop; ++i) {  // bounded
        bool connected = false;
        std::string why = one_exchange(port, kUnroutedClose, &connected);
        ++fresh;
        if (!why.empty()) {
          std::lock_guard lock(mutex);
          fresh_failures.push_back(why);
        }
      }
    });
  }
  auto progress = [&](long keep_alive_sent, long fresh_sent) {
    return wait_until([&] { return keep_alive.sent() >= keep_alive_sent && fresh >= fresh_sent; },
                      30s);
  };
  ASSERT_TRUE(progress(200, 50)) << log();

  // SIGHUP with the second listener replaced, several times while the load runs.
  for (int i = 0; i < 3; ++i) {
    const std::string before = log();
    server->rewrite_config(config(i % 2 == 0 ? added : removed));
    server->process().signal(SIGHUP);
    // log_level = "warn": a reload logs nothing at info; it is done when the listeners moved.
    uint16_t gone = i % 2 == 0 ? removed : added, now = i % 2 == 0 ? added : removed;
    EXPECT_TRUE(wait_until([&] { return Client(now, 200ms).connected(); }, 10s))
        << "listener " << now << " not open after reload " << i << "\n"
        << log();
    EXPECT_TRUE(wait_until([&] { return !Client(gone, 200ms).connected(); }, 10s))
        << "listener " << gone << " still accepts after reload " << i << "\n"
        << log();
    long k = keep_alive.sent(), f = fresh;
    ASSERT_TRUE(progress(k + 100, f + 20)) << log();
  }
  stop = true;
  for (auto& t : openers) t.join();
  keep_alive.stop();

  EXPECT_EQ(keep_alive.failed(), 0) << keep_alive.errors() << log();
  EXPECT_TRUE(fresh_failures.empty())
      << fresh_failures.size() << " of " << fresh
      << " new connections failed, first: " << fresh_failures.front() << "\n"
      << log();
  // After the third reload `added` serves and `removed` is closed.
  auto r = http_request(added, "GET", "/nowhere");
  ASSERT_TRUE(r) << log();
  EXPECT_EQ(r->status, 404);
  EXPECT_FALSE(Client(removed, 300ms).connected());
  std::string s = status();
  for (const LoopStats& l : loops_of(s)) EXPECT_GT(l.requests, 0) << s;
}

TEST_F(EventLoops, GracefulStopUnderLoadAnswersEveryAcceptedRequest) {
  ConfigBuilder b = base();
  b.server("log_level", "\"warn\"");
  ASSERT_NO_FATAL_FAILURE(start(b.str()));

  // Threads that open a connection per request until the server is gone (or a bound).
  std::atomic<long> answered{0}, refused{0};
  std::mutex mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> openers;
  for (int t = 0; t < 6; ++t) {
    openers.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {  // bounded
        bool connected = false;
        std::string why = one_exchange(port, kUnroutedClose, &connected);
        if (!connected) {
          // Refused: the listeners are closed. Done once a few in a row are.
          if (++refused > 20) return;
          continue;
        }
        if (why.empty()) {
          ++answered;
          continue;
        }
        std::lock_guard lock(mutex);
        failures.push_back(why);
      }
    });
  }
  // Keep-alive connections, each with a request on its way when SIGTERM arrives.
  constexpr int kKeepAlive = 16;
  std::vector<std::unique_ptr<Client>> keep;
  for (int i = 0; i < kKeepAlive; ++i) {
    keep.push_back(std::make_unique<Client>(port));
    ASSERT_TRUE(keep.back()->connected());
    ASSERT_TRUE(keep.back()->send(kUnrouted));
    ASSERT_EQ(keep.back()->read_response()->status, 404);
  }
  ASSERT_TRUE(wait_until([&] { return answered >= 100; }, 30s)) << log();
  for (auto& c : keep) ASSERT_TRUE(c->send(kUnrouted));
  server->process().signal(SIGTERM);
  auto exit = server->process().wait_exit(30s);
  refused = 1000;  // whatever still runs, stop
  for (auto& t : openers) t.join();
  ASSERT_TRUE(exit) << "sitehost did not stop within 30 s\n" << log();
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << "wait status " << *exit << log();
  EXPECT_TRUE(failures.empty()) << failures.size() << " requests that got a connection failed, "
                                << "first: " << failures.front() << "\n"
                                << log();
  // A request already sent on a keep-alive connection gets its answer (the last one, with
  // Connection: close), or the server closed the connection before reading it: never a reset
  // or a cut response.
  for (size_t i = 0; i < keep.size(); ++i) {
    auto r = keep[i]->read_response();
    if (r) {
      EXPECT_EQ(r->status, 404);
    } else {
      EXPECT_TRUE(keep[i]->pending().empty())
          << "keep-alive connection " << i << " got a cut response: " << keep[i]->pending();
    }
  }
  EXPECT_GT(answered, 100);
}

TEST_F(EventLoops, RedirectToHttpsLeavesNothingInFlight) {
  std::string error;
  auto cert = make_self_signed_certificate(dir.path(), "localhost", "localhost", &error);
  ASSERT_TRUE(cert) << error;
  const uint16_t https = free_port();
  ConfigBuilder b(dir, port);
  b.server("event_loops", "2");
  b.server("admin", toml_string(admin_socket.string()));
  SiteSpec s;
  s.name = "secure";
  s.bindings = {"http://127.0.0.1:" + std::to_string(port),
                "https://127.0.0.1:" + std::to_string(https)};
  s.keys["handler"] = toml_string((apps_dir() / "hello.so").string());
  s.keys["certificate"] = toml_string(cert->certificate.string());
  s.keys["private_key"] = toml_string(cert->private_key.string());
  s.keys["redirect_to_https"] = "true";
  ASSERT_NO_FATAL_FAILURE(start(b.site(s).str()));

  for (int i = 0; i < 3; ++i) {
    auto r = http_request(port, "GET", "/x?" + std::to_string(i));
    ASSERT_TRUE(r) << log();
    EXPECT_EQ(r->status, 308);
  }
  // A loop counts the request done (and in_flight down) when its context returns, which may be a
  // moment after the client read the 308: wait for the counts, then for 0 in flight. With the
  // bug this fixed, in_flight went -1 per redirect and never came back to 0.
  const std::string redirects =
      "sitehost_requests_total{site=\"secure\",model=\"inprocess\",status_class=\"3xx\"}";
  std::string st, m;
  EXPECT_TRUE(wait_until([&] {
    st = status();
    std::string site = st.substr(std::min(st.size(), st.find("\"sites\"")));
    return json_number(site, "requests") == 3 && json_number(site, "in_flight") == 0;
  })) << st;
  EXPECT_EQ(json_number(st, "in_flight"), 0) << st;
  EXPECT_TRUE(wait_until([&] {
    m = metrics();
    return metric(m, redirects) == 3 &&
           metric(m, "sitehost_requests_in_flight{site=\"secure\"}") == 0;
  })) << m;
  EXPECT_EQ(metric(m, "sitehost_requests_in_flight{site=\"secure\"}"), 0) << m;
}

TEST_F(EventLoops, MaxConnectionsIsForTheWholeServer) {
  ConfigBuilder b = base();
  b.server("max_connections", "4");
  ASSERT_NO_FATAL_FAILURE(start(b.str()));
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(std::make_unique<Client>(port));
    ASSERT_TRUE(idle.back()->connected());
    ASSERT_TRUE(idle.back()->send(kUnrouted));  // answered: the server accepted it
    auto r = idle.back()->read_response();
    ASSERT_TRUE(r) << i << log();
    EXPECT_EQ(r->status, 404);
  }
  std::string s = status();
  ASSERT_EQ(json_number(s, "connections"), 4) << s;

  Client fifth(port, 10s);
  ASSERT_TRUE(fifth.connected()) << "the kernel's backlog takes it";
  ASSERT_TRUE(fifth.send(kUnrouted));
  // Nothing to wait for but time: no answer while four connections are open, on either loop.
  pollfd p{fifth.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 700), 0) << "a fifth connection was served\n" << status();
  EXPECT_EQ(json_number(status(), "connections"), 4);

  idle.erase(idle.begin());  // one closes: the fifth is accepted and served
  auto r = fifth.read_response();
  ASSERT_TRUE(r) << log();
  EXPECT_EQ(r->status, 404);
  EXPECT_TRUE(wait_until([&] { return json_number(status(), "connections") == 4; })) << status();
}

}  // namespace
}  // namespace sitehost::test
