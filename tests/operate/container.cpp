#include "tests/operate/container.h"

namespace sitehost::test {

Container::Container(const ContainerEngine& engine, std::string name)
    : engine_(engine), name_(std::move(name)) {
  engine_.run({"rm", "-f", name_}, 30s);  // a leftover of an interrupted run
}

Container::~Container() {
  engine_.run({"rm", "-f", name_}, 60s);
}

ProgramResult Container::exec(const std::string& script, Ms timeout) const {
  return engine_.run({"exec", name_, "bash", "-c", script}, timeout);
}

std::string Container::get(int port) const {
  auto r = exec("exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port) +
                " && printf 'GET / HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n"
                "\\r\\n' >&3 && cat <&3");
  return r.exit_code == 0 ? r.output : std::string();
}

std::string Container::logs() const {
  return engine_.run({"logs", name_}, 30s).output;
}

std::string tail(const std::string& text, size_t n) {
  return text.size() > n ? "..." + text.substr(text.size() - n) : text;
}

std::string last_line(const std::string& output) {
  size_t end = output.find_last_not_of('\n');
  if (end == std::string::npos) return {};
  size_t begin = output.rfind('\n', end);
  return output.substr(begin == std::string::npos ? 0 : begin + 1,
                       end - (begin == std::string::npos ? 0 : begin + 1) + 1);
}

}  // namespace sitehost::test
