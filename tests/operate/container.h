// A container the operate tests start (container_image_test.cpp, systemd_unit_test.cpp): force-
// removed when this goes away, commands run in it with bash, and helpers for engine output.
#pragma once

#include <string>

#include "tests/operate/container_engine.h"

namespace sitehost::test {

class Container {
 public:
  Container(const ContainerEngine& engine, std::string name);
  ~Container();
  Container(const Container&) = delete;
  Container& operator=(const Container&) = delete;
  const std::string& name() const { return name_; }
  // `bash -c script` inside the container, bounded; stdout and stderr together.
  ProgramResult exec(const std::string& script, Ms timeout = 20s) const;
  // GET / on 127.0.0.1:port inside the container with bash's /dev/tcp: the raw answer (empty
  // when it fails). Needs nothing but bash in the image.
  std::string get(int port) const;
  std::string logs() const;

 private:
  const ContainerEngine& engine_;
  std::string name_;
};

// The last `n` characters of `text` (for failure messages).
std::string tail(const std::string& text, size_t n = 3000);
// The last line of an engine's output (podman may log warnings before it).
std::string last_line(const std::string& output);

}  // namespace sitehost::test
