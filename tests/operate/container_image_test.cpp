// The container image (conf/container/Dockerfile) built and run by a real engine, with a
// read-only root file system: both demo sites and the health endpoint answer, the image's
// HEALTHCHECK passes, sitehost runs as its non-root user, and a stop drains (drain_delay) and
// exits 0 within the stop timeout. The container runs without a network (--network none): every
// request is made inside it with bash's /dev/tcp, so nothing on the machine is exposed and no
// port can clash. Label "container" (it builds the image: minutes). No engine: one line, a skip.
#include <gtest/gtest.h>

#include <unistd.h>
#include <chrono>

#include "tests/operate/container.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;

const std::string kImage = "localhost/sitehost:test";
// conf/container/sitehost.toml: drain 5 s + shutdown 20 s + 5 s for the sites (docs/scale-out.md)
constexpr int kStopTimeoutS = 40;
constexpr double kDrainDelayS = 5;
constexpr const char* kRunTmpfs = "/run/sitehost:rw,exec";

bool status_is(const std::string& answer, int status) {
  return answer.rfind("HTTP/1.1 " + std::to_string(status) + " ", 0) == 0;
}

class ContainerImage : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    auto found = ContainerEngine::find(why);
    if (!found && why.rfind("broken: ", 0) == 0) FAIL() << why;
    if (!found) GTEST_SKIP() << "container image not tested: " << why;
    engine_.emplace(std::move(*found));
  }
  void build_image() {
    std::vector<std::string> args{
        "build", "--network", "host", "-f", (source_dir() / "conf/container/Dockerfile").string(),
        "-t",    kImage};
    if (engine_->is_podman()) args.insert(args.begin() + 1, {"--format", "docker"});
    args.insert(args.end(), engine_->limits().begin(), engine_->limits().end());
    args.push_back(source_dir().string());
    auto start = std::chrono::steady_clock::now();
    auto r = engine_->run(args, 1800s);
    ASSERT_EQ(r.exit_code, 0) << tail(r.output);
    std::printf("container image: %s build %lds\n", engine_->name().c_str(),
                long(std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::steady_clock::now() - start)
                         .count()));
  }
  void TearDown() override {
    // Old images and the build stage left untagged by this build: gigabytes per run otherwise.
    if (engine_) engine_->run({"image", "prune", "-f"}, 300s);
  }

  // Who may write the run dir tmpfs: Docker applies mode=1777; Podman (with runc) masks the
  // mode with its umask (1755), so there it is handed to the container's user (U).
  std::string run_dir_owner() const { return engine_->is_podman() ? ",U" : ",mode=1777"; }

  TempDir dir_;
  std::optional<ContainerEngine> engine_;
};

TEST_F(ContainerImage, ServesBothSitesAndHealthAndStopsCleanly) {
  ASSERT_EQ(engine_->ensure_debian_images(dir_ / "container-base.out"), "");
  ASSERT_NO_FATAL_FAILURE(build_image());
  Container c(*engine_, "sitehost-image-test-" + std::to_string(::getpid()));
  // Read-only like conf/kubernetes runs it: only the run dir is writable (exec: in-process
  // libraries are loaded from shadow copies there).
  std::vector<std::string> run{"run", "-d", "--name", c.name(), "--network", "none"};
  run.insert(run.end(), {"--read-only", "--tmpfs", std::string(kRunTmpfs) + run_dir_owner()});
  run.insert(run.end(), engine_->limits().begin(), engine_->limits().end());
  run.push_back(kImage);
  auto started = engine_->run(run, 60s);
  ASSERT_EQ(started.exit_code, 0) << started.output;

  ASSERT_TRUE(wait_until([&] { return status_is(c.get(8079), 200); }, 30s)) << c.logs();
  std::string hello = c.get(8080), info = c.get(8081);
  EXPECT_TRUE(status_is(hello, 200) && hello.find("Hello, World!") != std::string::npos) << hello;
  EXPECT_TRUE(status_is(info, 200) && info.find("\"path\"") != std::string::npos) << info;
  EXPECT_EQ(last_line(c.exec("id -u").output), "10001");
  if (engine_->is_podman()) {
    auto health = engine_->run({"healthcheck", "run", c.name()}, 30s);
    EXPECT_EQ(health.exit_code, 0) << "HEALTHCHECK failed: " << health.output;
  } else {
    EXPECT_TRUE(wait_until(
        [&] {
          return last_line(
                     engine_->run({"inspect", "--format", "{{.State.Health.Status}}", c.name()})
                         .output) == "healthy";
        },
        45s))
        << "HEALTHCHECK never healthy";
  }

  auto start = std::chrono::steady_clock::now();
  auto stop = engine_->run({"stop", "-t", std::to_string(kStopTimeoutS), c.name()}, 90s);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(stop.exit_code, 0) << stop.output;
  auto code = engine_->run({"inspect", "--format", "{{.State.ExitCode}}", c.name()});
  std::string logs = c.logs();
  EXPECT_EQ(last_line(code.output), "0") << tail(logs);
  // Drained: served for drain_delay after SIGTERM, and done before the engine's SIGKILL.
  EXPECT_GE(took, kDrainDelayS - 0.5) << tail(logs);
  EXPECT_LT(took, kStopTimeoutS) << tail(logs);
  std::printf("container image: 3 endpoints answered, stop took %.1fs, exit code 0\n", took);
}

}  // namespace
}  // namespace sitehost::test
