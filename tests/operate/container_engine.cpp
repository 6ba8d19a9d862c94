#include "tests/operate/container_engine.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>

#include "tests/operate/find_program.h"

namespace sitehost::test {

namespace fs = std::filesystem;

namespace {

// Podman sets the container's open-file and process limits to 1048576 by default, which a root
// without CAP_SYS_RESOURCE (a container or a sandbox VM) cannot grant: take this process's own
// hard open-file limit, and a process limit any user may set.
std::vector<std::string> podman_limits() {
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  std::string n = std::to_string(std::min<rlim_t>(files.rlim_max, 65536));
  return {"--ulimit", "nofile=" + n + ":" + n, "--ulimit", "nproc=4096:4096"};
}

}  // namespace

std::optional<ContainerEngine> ContainerEngine::find(std::string& why_not) {
  std::string tried;
  if (fs::path docker = find_program("docker"); !docker.empty()) {
    ContainerEngine engine(docker.string(), {}, {});
    if (engine.run({"info"}, 20s).exit_code == 0) return engine;
    tried = "docker is only a client here (docker info fails: no daemon)";
  }
  if (fs::path podman = find_program("podman"); !podman.empty()) {
    // runc rather than crun (crun refuses hybrid cgroup v1/v2 hierarchies, which some VMs and
    // containers have; runc runs on v1, hybrid and v2) and the cgroupfs manager (no systemd
    // needed). Both are plain defaults on ordinary machines as well.
    ContainerEngine engine(podman.string(), {"--runtime", "runc", "--cgroup-manager", "cgroupfs"},
                           podman_limits());
    auto info = engine.run({"info"}, 30s);
    if (info.exit_code == 0) return engine;
    why_not = "broken: podman info fails: " + info.output.substr(0, 400);
    return std::nullopt;
  }
  why_not = tried.empty() ? "no container engine (docker daemon or podman)" : tried + ", no podman";
  return std::nullopt;
}

ProgramResult ContainerEngine::run(const std::vector<std::string>& args, Ms timeout) const {
  static std::atomic<int> runs{0};
  std::vector<std::string> argv{program_};
  argv.insert(argv.end(), global_.begin(), global_.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, *output_dir_ / ("run" + std::to_string(++runs) + ".out"), timeout);
}

bool ContainerEngine::image_exists(const std::string& image) const {
  return run({"image", "inspect", "--format", "{{.Id}}", image}, 30s).exit_code == 0;
}

std::string ContainerEngine::ensure_debian_images(const fs::path& log) const {
  if (image_exists("docker.io/library/debian:bookworm") &&
      image_exists("docker.io/library/debian:bookworm-slim"))
    return {};
  auto r = run_program({(source_dir() / "tools/container-base").string(), name()}, log, 600s);
  if (r.exit_code == 0) return {};
  return "tools/container-base failed: " +
         (r.output.size() > 3000 ? r.output.substr(r.output.size() - 3000) : r.output);
}

}  // namespace sitehost::test
