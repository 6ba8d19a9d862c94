// The container engine the operate tests drive (the image test, docs/scale-out.md "Testing the
// image", and the systemd unit test): Docker when its daemon answers, else Podman (Debian's
// podman, run as root: no daemon needed), else none.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/harness.h"

namespace sitehost::test {

class ContainerEngine {
 public:
  // The engine to use, or nullopt with `why_not` set (one line for the skip message). An engine
  // that is installed but does not work is not "none": `why_not` then starts with "broken: ".
  static std::optional<ContainerEngine> find(std::string& why_not);

  // "docker" or "podman" (the program's file name).
  std::string name() const { return std::filesystem::path(program_).filename().string(); }
  bool is_podman() const { return name() == "podman"; }
  // `ENGINE [global options] args...`, bounded; the output is stdout and stderr together.
  ProgramResult run(const std::vector<std::string>& args, Ms timeout = 60s) const;
  // The options `build` and `run` need on this engine (resource limits), after the command.
  const std::vector<std::string>& limits() const { return limits_; }
  bool image_exists(const std::string& image) const;
  // The Debian base images (docker.io/library/debian:bookworm and :bookworm-slim) that
  // conf/container/Dockerfile and the systemd unit test build on, made by tools/container-base
  // from Debian's packages when the store lacks them (its output in `log`). Empty when they are
  // there, else the end of tools/container-base's output.
  std::string ensure_debian_images(const std::filesystem::path& log) const;

 private:
  ContainerEngine(std::string program, std::vector<std::string> global,
                  std::vector<std::string> limits)
      : program_(std::move(program)), global_(std::move(global)), limits_(std::move(limits)) {}
  std::string program_;
  std::vector<std::string> global_;
  std::vector<std::string> limits_;
  std::shared_ptr<TempDir> output_dir_ = std::make_shared<TempDir>();  // the runs' output
};

}  // namespace sitehost::test
