// A rolling deploy behind a load balancer (docs/scale-out.md): two sitehost instances, each with
// its health endpoint and a drain_delay, behind HAProxy (Debian's haproxy, health-checking them),
// under a steady keep-alive load. Each instance in turn gets SIGTERM, is taken out by HAProxy
// while it drains, exits 0, gets the new handler version and starts again; the next one follows
// once HAProxy has the new one back. Not one request may fail, and after the roll only the new
// version answers.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>

#include "tests/operate/haproxy.h"
#include "tests/support/load.h"
#include "tests/support/site_config.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;

constexpr int kThreads = 4;
constexpr long kMinRequests = 300;
const std::string kV1 = "version v1\n";
const std::string kV2 = "version v2\n";

// One sitehost instance: an in-process site serving dir/deploy/app.so (tests/apps/version.c),
// health on a port of its own, drain_delay 2 s. It keeps its ports and folder across restarts,
// as a machine behind a load balancer does.
struct Instance {
  explicit Instance(std::string n) : name(std::move(n)) {}
  std::string name;
  TempDir dir;
  uint16_t port = free_port();
  uint16_t health = free_port();
  std::unique_ptr<Sitehost> host;

  fs::path handler() const { return dir / "deploy/app.so"; }
  Backend backend() const { return {name, port, health}; }
  std::string config() const {
    SiteSpec site;
    site.keys = {{"handler", toml_string(handler().string())},
                 {"shadow_copy_directory", toml_string((dir / "shadow").string())}};
    return ConfigBuilder(dir, port)
        .server("admin", toml_string((dir / "admin.sock").string()))
        .server("health", toml_string("127.0.0.1:" + std::to_string(health)))
        .server("drain_delay", "\"2s\"")
        .server("shutdown_timeout", "\"5s\"")
        .site(site)
        .str();
  }
};

int health_status(uint16_t port) {
  auto r = http_request(port, "GET", "/");
  return r ? r->status : 0;
}

// The deploy step: the new library written aside and renamed over the old one.
void deploy(const std::string& app, const fs::path& to) {
  fs::create_directories(to.parent_path());
  fs::copy_file(apps_dir() / (app + ".so"), to.string() + ".tmp",
                fs::copy_options::overwrite_existing);
  fs::rename(to.string() + ".tmp", to);
}

class RollingDeploy : public ::testing::Test {
 protected:
  void start(Instance& in) {
    in.host = std::make_unique<Sitehost>(in.dir, in.config());
    wait_until([&] { return health_status(in.health) == 200 || !in.host->process().running(); },
               10s);
    ASSERT_EQ(health_status(in.health), 200) << in.host->log();
  }
  // SIGTERM → health 503 → HAProxy takes the instance out (well within drain_delay) → the
  // instance closes its listeners after drain_delay and exits 0.
  void drain(Instance& in, const HaProxy& lb) {
    in.host->process().signal(SIGTERM);
    ASSERT_TRUE(lb.wait_status(in.name, "DOWN", 1500ms))
        << in.name << " still in HAProxy 1.5 s after SIGTERM\n"
        << lb.log();
    auto status = in.host->process().wait_exit(10s);
    ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << in.host->log();
    in.host.reset();
  }
  // The new version deployed on the stopped instance, started, and back in HAProxy.
  void start_new_version(Instance& in, const HaProxy& lb) {
    deploy("version_v2", in.handler());
    ASSERT_NO_FATAL_FAILURE(start(in));
    ASSERT_TRUE(lb.wait_status(in.name, "UP", 2s)) << lb.log();
  }

  Instance a_{"a"}, b_{"b"};
};

TEST_F(RollingDeploy, NoRequestFailsBehindHaproxy) {
  if (haproxy_binary().empty())
    GTEST_SKIP() << "haproxy not installed (tools/setup installs it): rolling deploy not tested";
  for (Instance* in : {&a_, &b_}) {
    deploy("version", in->handler());
    ASSERT_NO_FATAL_FAILURE(start(*in));
  }
  TempDir lb_dir;
  const uint16_t lb_port = free_port();
  HaProxy lb(lb_dir, lb_port, {a_.backend(), b_.backend()});
  ASSERT_TRUE(lb.wait_status("a", "UP", 10s) && lb.wait_status("b", "UP", 2s)) << lb.log();

  // After the last v1 instance exited, each client thread may still read one response it asked
  // for before (HAProxy relays it after the exit); every later one must be v2.
  std::atomic<bool> rolled{false};
  std::atomic<long> after_roll{0};
  KeepAliveLoad load([&] { return std::make_unique<Client>(lb_port); },
                     "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
                     [&](const Response& r) -> std::string {
                       if (r.status != 200) return "status " + std::to_string(r.status);
                       long n = rolled ? ++after_roll : 0;
                       if (r.body == kV2 || (r.body == kV1 && n <= kThreads)) return {};
                       return "body after " + std::to_string(n) + " roll responses: " + r.body;
                     },
                     kThreads);
  ASSERT_TRUE(wait_until([&] { return load.sent() >= 100; }, 5s));

  ASSERT_NO_FATAL_FAILURE(drain(a_, lb));
  ASSERT_NO_FATAL_FAILURE(start_new_version(a_, lb));
  ASSERT_NO_FATAL_FAILURE(drain(b_, lb));
  rolled = true;
  ASSERT_NO_FATAL_FAILURE(start_new_version(b_, lb));
  long before = load.sent();
  ASSERT_TRUE(wait_until([&] { return load.sent() >= before + 100; }, 5s));
  load.stop();

  std::printf("rolling deploy: %ld requests sent, %ld failed\n", load.sent(), load.failed());
  EXPECT_EQ(load.failed(), 0) << load.errors() << "--- haproxy:\n" << lb.log();
  EXPECT_GE(load.sent(), kMinRequests);
  for (int i = 0; i < 10; ++i) {
    auto r = http_request(lb_port, "GET", "/");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->body, kV2);
  }
  // Both stop together; each drains for its drain_delay and exits 0.
  for (Instance* in : {&a_, &b_}) in->host->process().signal(SIGTERM);
  for (Instance* in : {&a_, &b_}) {
    auto status = in->host->process().wait_exit(10s);
    EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << in->host->log();
  }
}

}  // namespace
}  // namespace sitehost::test
