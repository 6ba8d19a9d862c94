// The installed unit (conf/systemd/sitehost.service.in, sitehost.socket) under a real systemd:
// an image (tests/operate/systemd/Containerfile) with systemd and the .deb tools/package made,
// installed with apt so its postinst enables the unit, booted by podman with systemd as PID 1.
// Through `systemctl` and `journalctl` inside it: Type=notify start (READY=1, STATUS=, MainPID),
// the unit's user and sandbox, both demo sites and health, reload of a good and of two kinds of
// bad config, journal priorities, a clean stop, socket activation and systemd-analyze's exposure
// score. Label "container", run by tools/test after its package step (it needs the .deb:
// build/release/sitehost_*.deb, or SITEHOST_DEB). Skips with one line without podman or .deb.
#include <gtest/gtest.h>

#include <unistd.h>
#include <chrono>
#include <regex>

#include "tests/operate/container.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;

const std::string kImage = "localhost/sitehost-systemd:test";
const std::string kConfig = "/etc/sitehost/sitehost.toml";
constexpr int kTimeoutStopS = 45;  // the unit's TimeoutStopSec=

// The package to test: $SITEHOST_DEB, else the one tools/package leaves in build/release.
fs::path find_deb() {
  if (const char* env = std::getenv("SITEHOST_DEB"); env && *env) return env;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(source_dir() / "build/release", ec)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with("sitehost_") && name.ends_with(".deb")) return entry.path();
  }
  return {};
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class SystemdUnit : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    auto found = ContainerEngine::find(why);
    if (!found && why.rfind("broken: ", 0) == 0) FAIL() << why;
    if (!found) GTEST_SKIP() << "systemd unit not tested: " << why;
    // Docker has no --systemd: booting systemd there needs --privileged or host cgroup mounts,
    // which this test does not set up.
    if (!found->is_podman()) GTEST_SKIP() << "systemd unit not tested: needs podman, not docker";
    deb_ = find_deb();
    if (deb_.empty() || !fs::exists(deb_))
      GTEST_SKIP() << "systemd unit not tested: no .deb (run tools/package, or set SITEHOST_DEB)";
    engine_.emplace(std::move(*found));
    ASSERT_EQ(engine_->ensure_debian_images(dir_ / "container-base.out"), "");
    ASSERT_NO_FATAL_FAILURE(build_image());
    ASSERT_NO_FATAL_FAILURE(boot());
  }

  // The image, rebuilt on top of the cached systemd layer when the .deb changed; the image it
  // replaces (this test's own) is removed.
  void build_image() {
    std::string old_id =
        trim(engine_->run({"image", "inspect", "--format", "{{.Id}}", kImage}).output);
    TempDir context;
    fs::copy_file(deb_, context / "sitehost.deb");
    std::vector<std::string> args{"build",
                                  "--format",
                                  "docker",
                                  "--network",
                                  "host",
                                  "-f",
                                  (source_dir() / "tests/operate/systemd/Containerfile").string(),
                                  "-t",
                                  kImage};
    args.insert(args.end(), engine_->limits().begin(), engine_->limits().end());
    args.push_back(context.path().string());
    auto r = engine_->run(args, 600s);
    ASSERT_EQ(r.exit_code, 0) << tail(r.output);
    std::string new_id =
        trim(engine_->run({"image", "inspect", "--format", "{{.Id}}", kImage}).output);
    if (!old_id.empty() && old_id.find(' ') == std::string::npos && old_id != new_id)
      engine_->run({"rmi", old_id}, 60s);
  }

  // systemd as PID 1: --systemd=always (podman mounts /run, /tmp and the cgroup tree the way
  // systemd wants them and stops it with SIGRTMIN+3). CAP_SYS_ADMIN lets systemd build the
  // unit's sandbox (mount namespace for ProtectSystem=, PrivateTmp=...): without it systemd
  // skips the namespace silently ("assuming containerized execution") and the sandbox is not
  // tested. No network: every request is made inside the container.
  void boot() {
    container_.emplace(*engine_, "sitehost-systemd-test-" + std::to_string(::getpid()));
    std::vector<std::string> run{
        "run",       "-d",        "--name", container_->name(), "--systemd=always", "--cap-add",
        "SYS_ADMIN", "--network", "none"};
    run.insert(run.end(), engine_->limits().begin(), engine_->limits().end());
    run.insert(run.end(), {kImage, "/sbin/init"});
    auto started = engine_->run(run, 60s);
    ASSERT_EQ(started.exit_code, 0) << started.output;
    // systemctl needs systemd's private socket, made a moment after the container starts; then
    // is-system-running --wait: until boot finished ("running", or "degraded" if a unit failed).
    ASSERT_TRUE(wait_until([&] { return status("test -S /run/systemd/private") == 0; }, 60s))
        << container_->logs();
    auto booted = sh("timeout 60 systemctl is-system-running --wait", 70s);
    ASSERT_TRUE(booted.find("running") != std::string::npos ||
                booted.find("degraded") != std::string::npos)
        << booted << container_->logs();
  }

  // A command's output in the container (stdout and stderr, trailing newline dropped).
  std::string sh(const std::string& script, Ms timeout = 30s) const {
    return trim(container_->exec(script, timeout).output);
  }
  int status(const std::string& script, Ms timeout = 60s) const {
    return container_->exec(script, timeout).exit_code;
  }
  std::string show(const std::string& property, const std::string& unit = "sitehost") const {
    return sh("systemctl show -p " + property + " --value " + unit);
  }
  // HTTP status code of GET / on 127.0.0.1:port in the container ("000": no answer).
  std::string http_code(int port) const {
    return sh("curl -sS -m 10 -o /dev/null -w '%{http_code}' http://127.0.0.1:" +
              std::to_string(port) + "/");
  }
  std::string journal(const std::string& args = "") const {
    return sh("journalctl -u sitehost --no-pager " + args);
  }
  void expect_serving() const {
    EXPECT_EQ(http_code(8080), "200") << journal();
    EXPECT_EQ(http_code(8081), "200") << journal();
    EXPECT_EQ(sh("curl -sS -m 10 http://127.0.0.1:8079/"), "ready") << journal();
  }

  TempDir dir_;
  fs::path deb_;
  std::optional<ContainerEngine> engine_;
  std::optional<Container> container_;
};

TEST_F(SystemdUnit, StartsAsNotifyServiceSandboxedAndServes) {
  EXPECT_EQ(sh("systemctl is-enabled sitehost"), "enabled") << "postinst did not enable it";
  // Type=notify: "active" only after READY=1 reached systemd; STATUS= is sitehost's.
  ASSERT_EQ(sh("systemctl is-active sitehost"), "active") << journal();
  EXPECT_TRUE(show("StatusText").starts_with("serving 2 site(s)")) << show("StatusText");
  std::string pid = show("MainPID");
  std::string ctl = sh("sitehost ctl -c " + kConfig + " status");
  EXPECT_NE(ctl.find("\"pid\": " + pid + ","), std::string::npos) << pid << "\n" << ctl;
  EXPECT_EQ(show("NRestarts"), "0");
  EXPECT_EQ(show("User"), "sitehost");
  EXPECT_EQ(sh("awk '/^Uid:/ {print $2}' /proc/" + pid + "/status"), sh("id -u sitehost"));
  // The sandbox is really built: read-only root, writable state dir, one capability.
  std::string mounts = sh("awk '{print $5, $6}' /proc/" + pid + "/mountinfo");
  EXPECT_TRUE(std::regex_search(mounts, std::regex("(^|\n)/ ro,"))) << mounts;
  EXPECT_TRUE(std::regex_search(mounts, std::regex("\n/var/lib/sitehost rw,"))) << mounts;
  EXPECT_EQ(sh("awk '/^CapEff:/ {print $2}' /proc/" + pid + "/status"), "0000000000000400");
  EXPECT_EQ(sh("awk '/^NoNewPrivs:/ {print $2}' /proc/" + pid + "/status"), "1");
  expect_serving();

  std::string exposure = sh("systemd-analyze security sitehost --no-pager | tail -1");
  std::smatch score;
  ASSERT_TRUE(std::regex_search(exposure, score, std::regex("sitehost.service: ([0-9.]+)")))
      << exposure;
  // 3.1 "OK" with the shipped unit (docs/install.md); a loosened sandbox raises it.
  EXPECT_LE(std::stod(score[1]), 3.5) << exposure;
  std::printf("systemd unit: %s\n", exposure.c_str());
}

TEST_F(SystemdUnit, ReloadAppliesAGoodConfigAndKeepsServingOnABadOne) {
  std::string pid = show("MainPID");
  ASSERT_EQ(status("systemctl reload sitehost"), 0) << journal();
  EXPECT_NE(journal().find("config reloaded: 2 site(s)"), std::string::npos) << journal();
  sh("cp " + kConfig + " /root/good.toml");

  // The line the edits below append to.
  std::string line = std::to_string(std::stoi(sh("wc -l < " + kConfig)) + 1);

  // Not TOML (a typo): `sitehost ctl` (ExecReload=) names file and line at error priority,
  // systemctl reload fails.
  sh("echo 'this is = = not toml [' >> " + kConfig);
  EXPECT_NE(status("systemctl reload sitehost"), 0);
  std::string ctl_errors = journal("-o cat PRIORITY=3 SYSLOG_IDENTIFIER=sitehost");
  EXPECT_NE(ctl_errors.find("sitehost ctl: " + kConfig + ":" + line + ": syntax error"),
            std::string::npos)
      << journal();
  // Valid TOML the server rejects: its file:line:key answer, at error priority (PRIORITY=3).
  sh("cp /root/good.toml " + kConfig + " && printf '[[site]]\\nname = \"broken\"\\n' >> " +
     kConfig);
  EXPECT_NE(status("systemctl reload sitehost"), 0);
  std::string errors = journal("-o cat PRIORITY=3 SYSLOG_IDENTIFIER=sitehost");
  EXPECT_NE(errors.find("reload failed, keeping the running config: " + kConfig + ":" + line +
                        ": site \"broken\".bindings"),
            std::string::npos)
      << errors;
  EXPECT_EQ(sh("systemctl is-active sitehost"), "active");
  EXPECT_EQ(show("MainPID"), pid);
  expect_serving();

  sh("cp /root/good.toml " + kConfig);
  EXPECT_EQ(status("systemctl reload sitehost"), 0) << journal();
}

TEST_F(SystemdUnit, JournalHasPrioritiesAndNoSecondTimestamp) {
  ASSERT_EQ(sh("systemctl is-active sitehost"), "active") << journal();
  // sitehost's own lines (its <N> prefixes parsed by journald): info at 6, nothing at warning
  // or worse on a clean start, and the message without sitehost's file-log timestamp.
  std::string pid = show("MainPID");
  std::string info = journal("-o cat PRIORITY=6 SYSLOG_IDENTIFIER=sitehost _PID=" + pid);
  EXPECT_NE(info.find("started (pid " + pid + ","), std::string::npos) << info;
  std::string warnings = journal("-p warning -o cat SYSLOG_IDENTIFIER=sitehost");
  EXPECT_TRUE(warnings.empty() || warnings == "-- No entries --") << warnings;
  std::string own = journal("-o cat SYSLOG_IDENTIFIER=sitehost _PID=" + pid);
  EXPECT_FALSE(std::regex_search(own, std::regex("(^|\n)[0-9]{4}-[0-9]{2}-[0-9]{2}T"))) << own;
  EXPECT_FALSE(std::regex_search(own, std::regex("(^|\n)<[0-7]>"))) << own;
}

TEST_F(SystemdUnit, StopsCleanlyAndSocketActivationStartsIt) {
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(status("systemctl stop sitehost", Ms(std::chrono::seconds(kTimeoutStopS + 15))), 0);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(sh("systemctl is-active sitehost"), "inactive");
  EXPECT_EQ(show("Result"), "success") << journal();
  EXPECT_EQ(show("ExecMainStatus"), "0") << journal();
  EXPECT_LT(took, kTimeoutStopS) << journal();

  // sitehost.socket (shipped disabled) holds 8080/8081; the first connection starts the
  // service, which adopts the sockets (LISTEN_FDS) and answers it.
  ASSERT_EQ(status("systemctl start sitehost.socket"), 0) << sh("systemctl status sitehost.socket");
  EXPECT_EQ(sh("systemctl is-active sitehost"), "inactive");
  EXPECT_EQ(http_code(8080), "200") << journal();
  EXPECT_EQ(sh("systemctl is-active sitehost"), "active");
  EXPECT_EQ(show("TriggeredBy"), "sitehost.socket");
  std::string log = journal("-o cat _PID=" + show("MainPID"));
  EXPECT_NE(log.find("listening on 127.0.0.1:8080 (inherited from systemd"), std::string::npos)
      << log;
  expect_serving();
  std::printf("systemd unit: stop took %.2fs, socket activation answered\n", took);
}

}  // namespace
}  // namespace sitehost::test
