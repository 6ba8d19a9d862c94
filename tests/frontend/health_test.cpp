// The health endpoint (`[server] health`) and drain_delay through the real binary: the answer on
// its own address and as a path on every site binding, its states (starting, ready, a preload
// site that fails, draining), reloads, the drain on SIGTERM, hostile input and config errors.
#include <signal.h>
#include <sys/wait.h>

#include <fmt/format.h>

#include <atomic>
#include <thread>

#include "tests/frontend/frontend_fixture.h"
#include "tests/proxy/proxy_test_util.h"
#include "tests/support/tls_client.h"

namespace sitehost::test {
namespace {

class Health : public ::testing::Test {
 protected:
  // hello at / on the site port; `server_keys` are TOML lines for [server]; `more_sites` is
  // appended to the config as it is.
  void start(const std::string& server_keys, const std::string& more_sites = "") {
    server_.emplace(dir_, config(server_keys, more_sites));
    ASSERT_TRUE(server_->wait_listening(port_)) << server_->log();
  }

  std::string config(const std::string& server_keys, const std::string& more_sites = "") const {
    ConfigBuilder b(dir_, port_);
    SiteSpec hello;
    hello.name = "hello";
    hello.bindings = {fmt::format("http://*:{}", port_)};
    hello.keys.emplace("handler", toml_string((apps_dir() / "hello.so").string()));
    b.site(hello);
    std::string text = b.str();
    text.replace(
        text.find("[server]\n"), 9,
        fmt::format("[server]\nadmin = {}\n{}", toml_string(admin_.string()), server_keys));
    return text + more_sites;
  }

  // An out-of-process site on its own port running a python child from tests/proxy/children.
  std::string python_site(const std::string& name, const std::string& script,
                          const std::string& more = "") const {
    std::filesystem::create_directories(app_);
    return fmt::format(
        "\n[[site]]\nname = \"{}\"\nbindings = [\"http://127.0.0.1:{}\"]\nphysical_path = {}\n"
        "hosting_model = \"outofprocess\"\nprocess_path = \"/usr/bin/python3\"\n"
        "arguments = [{}]\n{}",
        name, other_port_, toml_string(app_.string()),
        toml_string((children_dir() / script).string()), more);
  }

  // An in-process site under `path` on the site port running the sample app `app`.
  std::string inproc_site(const std::string& name, const std::string& path,
                          const std::string& app) const {
    return fmt::format(
        "\n[[site]]\nname = \"{}\"\nbindings = [\"http://*:{}\"]\npath = \"{}\"\n"
        "physical_path = {}\nhosting_model = \"inprocess\"\nhandler = {}\n",
        name, port_, path, toml_string(dir_.path().string()),
        toml_string((apps_dir() / (app + ".so")).string()));
  }

  std::optional<Response> get(uint16_t port, const std::string& path = "/healthz",
                              const std::string& host = "localhost") {
    return http_request(port, "GET", path, {}, host);
  }

  // Polls until the health answer has `status` and its body contains `text`.
  bool wait_health(uint16_t port, const std::string& path, int status, const std::string& text,
                   Ms timeout = 10s) {
    return wait_until(
        [&] {
          auto r = get(port, path);
          last_ = r ? fmt::format("{} {}", r->status, r->body) : "no answer";
          return r && r->status == status && r->body.find(text) != std::string::npos;
        },
        timeout);
  }

  void reload(const std::string& config_text) {
    size_t before = count(server_->log(), "config reloaded");
    server_->rewrite_config(config_text);
    server_->process().signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] { return count(server_->log(), "config reloaded") > before; }))
        << server_->log();
  }

  static size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  void TearDown() override {
    if (server_ && server_->process().running()) {
      EXPECT_EQ(server_->stop(), 0) << server_->log();
    }
    for (long pid : read_pids(app_ / "pids")) {
      EXPECT_TRUE(wait_until([&] { return process_gone(pid); }, 5s)) << "child " << pid << " left";
    }
  }

  TempDir dir_;
  std::filesystem::path admin_ = dir_ / "admin.sock";
  std::filesystem::path app_ = dir_ / "app";
  uint16_t port_ = free_port();
  uint16_t other_port_ = free_port();
  std::optional<Sitehost> server_;
  std::string last_;  // the last answer wait_health saw
};

TEST_F(Health, AsAPathItIsAnsweredOnEveryBindingBeforeRouting) {
  auto cert = make_self_signed_certificate(dir_.path(), "tls", "localhost");
  ASSERT_TRUE(cert);
  uint16_t tls_port = free_port();
  // The https site answers only for Host "shop.test": the health path works whatever the Host.
  start("health = \"/healthz\"\n",
        fmt::format("\n[[site]]\nname = \"shop\"\nbindings = [\"https://shop.test:{}\"]\n"
                    "physical_path = {}\nhosting_model = \"inprocess\"\nhandler = {}\n"
                    "certificate = {}\nprivate_key = {}\n",
                    tls_port, toml_string(dir_.path().string()),
                    toml_string((apps_dir() / "hello.so").string()),
                    toml_string(cert->certificate.string()),
                    toml_string(cert->private_key.string())));
  ASSERT_TRUE(wait_health(port_, "/healthz", 200, "ready")) << last_;
  auto r = get(port_, "/healthz", "no-such-host.test");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ready\n");
  EXPECT_EQ(r->header("Cache-Control"), "no-store");
  EXPECT_EQ(r->header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(get(port_, "/HealthZ?probe=1")->status, 200);  // case-insensitive, query ignored
  EXPECT_EQ(get(port_, "/")->body, "Hello, World!");       // everything else is routed
  EXPECT_EQ(get(port_, "/healthz/x")->body, "Hello, World!");

  TlsClient tls(tls_port, "localhost");
  ASSERT_TRUE(tls.connected());
  ASSERT_TRUE(tls.send("GET /healthz HTTP/1.1\r\nHost: elsewhere\r\n\r\n"));
  auto over_tls = tls.read_response();
  ASSERT_TRUE(over_tls);
  EXPECT_EQ(over_tls->status, 200);
  EXPECT_EQ(over_tls->body, "ready\n");

  Client c(port_);
  ASSERT_TRUE(c.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = c.read_response(/*head_request=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Content-Length"), "6");
  EXPECT_TRUE(head->body.empty());
  ASSERT_TRUE(c.send("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
  auto post = c.read_response();
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->header("Allow"), "GET, HEAD");
  EXPECT_EQ(post->header("Cache-Control"), "no-store");
}

TEST_F(Health, OnAnAddressEveryPathGetsTheHealthAnswer) {
  uint16_t health_port = free_port();
  start(fmt::format("health = \"127.0.0.1:{}\"\n", health_port));
  ASSERT_TRUE(wait_health(health_port, "/", 200, "ready")) << last_;
  EXPECT_EQ(get(health_port, "/anything/at/all")->body, "ready\n");
  EXPECT_EQ(get(port_, "/healthz")->body, "Hello, World!");  // the sites' ports are the sites'
  std::string status = admin_exchange(admin_, "GET", "/status");
  EXPECT_NE(status.find(fmt::format("\"health\": {{\"endpoint\": \"127.0.0.1:{}\", \"status\": "
                                    "200, \"answer\": \"ready\\n\"}}",
                                    health_port)),
            std::string::npos)
      << status;
  std::string metrics = admin_exchange(admin_, "GET", "/metrics");
  EXPECT_NE(metrics.find("sitehost_health_requests_total "), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("sitehost_health_requests_total 0\n"), std::string::npos) << metrics;
}

TEST_F(Health, HostileInputOnTheHealthPortGetsTheFrontEndsErrors) {
  uint16_t health_port = free_port();
  start(fmt::format("health = \"127.0.0.1:{}\"\nmax_header_bytes = 1024\n", health_port));
  ASSERT_TRUE(wait_health(health_port, "/", 200, "ready")) << last_;
  auto rejected = [&](const std::string& bytes, int status) {
    Client c(health_port);
    ASSERT_TRUE(c.send(bytes));
    auto r = c.read_response();
    ASSERT_TRUE(r) << bytes;
    EXPECT_EQ(r->status, status) << bytes;
    EXPECT_TRUE(c.closed_within(2s)) << bytes;
  };
  rejected("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400);
  rejected("GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(2000, 'a') + "\r\n\r\n", 431);
  rejected("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400);
  rejected("GET / HTTP/1.1\r\nHo st: x\r\n\r\n", 400);
  EXPECT_EQ(get(health_port, "/")->status, 200);  // and it carries on
}

TEST_F(Health, PreloadSiteStartingIs503ThenReady) {
  start("health = \"/healthz\"\n",
        python_site("slow", "echo.py",
                    "preload = true\nenvironment = { ECHO_START_DELAY_MS = \"1500\" }\n"));
  auto r = get(port_);  // "starting" (sitehost's) or "site slow: starting"
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_NE(r->body.find("starting\n"), std::string::npos) << r->body;
  ASSERT_TRUE(wait_health(port_, "/healthz", 503, "site slow: starting\n")) << last_;
  ASSERT_TRUE(wait_health(port_, "/healthz", 200, "ready", 20s)) << last_;
}

TEST_F(Health, FailingPreloadSiteIs503UntilAFixAndReload) {
  start("health = \"/healthz\"\n",
        python_site("api", "exit_at_start.py", "preload = true\nrapid_fails_per_minute = 1\n"));
  ASSERT_TRUE(wait_health(port_, "/healthz", 503, "site api: rapid-fail protection", 20s))
      << last_ << server_->log();
  reload(config("health = \"/healthz\"\n", python_site("api", "echo.py", "preload = true\n")));
  ASSERT_TRUE(wait_health(port_, "/healthz", 200, "ready", 20s)) << last_;
}

TEST_F(Health, APreloadChildThatCrashesIsRestartedWithoutARequest) {
  start("health = \"/healthz\"\n", python_site("api", "echo.py", "preload = true\n"));
  ASSERT_TRUE(wait_health(port_, "/healthz", 200, "ready", 20s)) << last_;
  ASSERT_EQ(read_pids(app_ / "pids").size(), 1u);
  auto crash = get(other_port_, "/crash");  // 502.5: the child exits without answering
  ASSERT_TRUE(crash);
  EXPECT_EQ(crash->status, 502);
  // Only health probes from now on: the restart must not wait for a request to the site.
  ASSERT_TRUE(wait_until([&] { return read_pids(app_ / "pids").size() == 2; }, 20s))
      << server_->log();
  ASSERT_TRUE(wait_health(port_, "/healthz", 200, "ready", 20s)) << last_;
}

TEST_F(Health, InProcessSiteWhoseHandlerFailedIs503) {
  start("health = \"/healthz\"\n", inproc_site("broken", "/broken", "fails_init"));
  ASSERT_TRUE(wait_health(port_, "/healthz", 200, "ready")) << last_;  // lazy: not started yet
  EXPECT_EQ(get(port_, "/broken/")->status, 500);
  ASSERT_TRUE(wait_health(port_, "/healthz", 503, "site broken: failed")) << last_;
}

TEST_F(Health, ReloadKeeps200AndAFailingNewPreloadSiteTurnsIt503) {
  start("health = \"/healthz\"\n");
  ASSERT_TRUE(wait_health(port_, "/healthz", 200, "ready")) << last_;
  // A reload that adds a lazy site: every probe during and after it says ready.
  std::atomic<bool> done{false};
  std::atomic<int> not_ready{0};
  std::thread prober([&] {
    while (!done) {
      auto r = get(port_);
      if (!r || r->status != 200) ++not_ready;
    }
  });
  reload(config("health = \"/healthz\"\n", inproc_site("more", "/more", "hello")));
  EXPECT_EQ(get(port_, "/more/")->body, "Hello, World!");
  done = true;
  prober.join();
  EXPECT_EQ(not_ready, 0);
  reload(config("health = \"/healthz\"\n",
                python_site("api", "exit_at_start.py", "preload = true\n")));
  ASSERT_TRUE(wait_health(port_, "/healthz", 503, "site api: ", 20s)) << last_;
}

TEST_F(Health, DrainKeepsServingThenClosesListenersAndFinishesInFlight) {
  start("health = \"/healthz\"\ndrain_delay = \"3s\"\n", inproc_site("slow", "/slow", "slow"));
  ASSERT_TRUE(wait_health(port_, "/healthz", 200, "ready")) << last_;
  // Started first: while an in-process app starts, sitehost's stderr (its default error log) is
  // captured for the app's error page, and this test reads the log.
  ASSERT_EQ(get(port_, "/slow?ms=1")->status, 200);
  Client slow(port_, 15s);
  ASSERT_TRUE(slow.send("GET /slow?ms=4500 HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(wait_until([&] {
    return admin_exchange(admin_, "GET", "/status").find("\"in_flight\": 1") != std::string::npos;
  }));
  auto stopped_at = std::chrono::steady_clock::now();
  server_->process().signal(SIGTERM);
  ASSERT_TRUE(wait_health(port_, "/healthz", 503, "draining", 2s)) << last_;
  EXPECT_NE(server_->log().find("draining for 3s before closing listeners"), std::string::npos)
      << server_->log();
  // A new connection and request during the drain is served by the site.
  auto during = get(port_, "/");
  ASSERT_TRUE(during);
  EXPECT_EQ(during->status, 200);
  EXPECT_EQ(during->body, "Hello, World!");
  // Then the listener closes: new connections are refused, not before the delay.
  ASSERT_TRUE(wait_until([&] { return !Client(port_, 500ms).connected(); }, 5s));
  EXPECT_GE(std::chrono::steady_clock::now() - stopped_at, 2900ms);
  auto finished = slow.read_response();
  ASSERT_TRUE(finished) << server_->log();
  EXPECT_EQ(finished->status, 200);
  auto status = server_->process().wait_exit(15s);
  ASSERT_TRUE(status) << server_->log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << server_->log();
}

TEST_F(Health, ASecondSigtermCutsTheDrainShort) {
  start("health = \"/healthz\"\ndrain_delay = \"60s\"\n");
  ASSERT_TRUE(wait_health(port_, "/healthz", 200, "ready")) << last_;
  server_->process().signal(SIGTERM);
  ASSERT_TRUE(wait_health(port_, "/healthz", 503, "draining")) << last_;
  EXPECT_EQ(get(port_, "/")->status, 200);
  server_->process().signal(SIGTERM);
  auto status = server_->process().wait_exit(10s);
  ASSERT_TRUE(status) << server_->log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << server_->log();
  EXPECT_NE(server_->log().find("ending the drain early"), std::string::npos) << server_->log();
}

TEST_F(Health, NoDrainDelayStopsAtOnce) {
  start("health = \"/healthz\"\n");
  ASSERT_TRUE(wait_health(port_, "/healthz", 200, "ready")) << last_;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(server_->stop(), 0) << server_->log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(server_->log().find("draining for"), std::string::npos) << server_->log();
}

TEST_F(Health, BadValuesAreConfigErrorsNamingFileLineAndKey) {
  struct Case {
    std::string line;
    std::string message;
  };
  uint16_t admin_port = free_port();
  const Case cases[] = {
      {"health = \"nope\"", "server.health: expected \"off\", an address"},
      {"health = \"\"", "server.health: expected \"off\", an address"},
      {"health = \"/\"", "server.health: must not be \"/\""},
      {"health = \"/a b\"", "server.health: must contain only"},
      {"health = \"127.0.0.1:70000\"", "server.health: invalid port \"70000\""},
      {"health = \"example.com:8081\"", "server.health: expected \"off\", an address"},
      {"health = 8081", "server.health: expected a string"},
      {fmt::format("health = \"0.0.0.0:{}\"", port_),
       fmt::format("server.health: port {} is also used by site \"hello\"", port_)},
      {fmt::format("health = \"127.0.0.1:{}\"\nadmin = \"127.0.0.1:{}\"", admin_port, admin_port),
       fmt::format("server.health: port {} is also used by the admin API", admin_port)},
      {"drain_delay = \"soon\"", "server.drain_delay: expected a duration"},
      {"drain_delay = 5", "server.drain_delay: expected a duration"},
  };
  int run = 0;  // one output file per run (run_program appends)
  for (const Case& c : cases) {
    ConfigBuilder b(dir_, port_);
    b.server("log_level", "\"info\"");
    b.inproc_app("hello", "hello");
    std::string text = b.str();
    text.replace(text.find("log_level"), 0, c.line + "\n");  // line 2
    auto file = dir_.write("bad.toml", text);
    auto result = run_program({sitehost_binary().string(), "--check", "-c", file.string()},
                              dir_ / fmt::format("check{}.out", ++run));
    EXPECT_EQ(result.exit_code, 1) << c.line << "\n" << result.output;
    EXPECT_NE(result.output.find("bad.toml:2: " + c.message), std::string::npos) << c.line << "\n"
                                                                                 << result.output;
  }
  for (std::string ok : {"\"off\"", "\"OFF\"", "\"/healthz/\"", "\"*:8081\"", "\"[::1]:8081\"",
                         "\"localhost:8081\""}) {
    auto file = dir_.write("ok.toml", config("health = " + ok + "\ndrain_delay = \"00:00:05\"\n"));
    auto result = run_program({sitehost_binary().string(), "--check", "-c", file.string()},
                              dir_ / fmt::format("check{}.out", ++run));
    EXPECT_EQ(result.exit_code, 0) << ok << "\n" << result.output;
  }
}

}  // namespace
}  // namespace sitehost::test
