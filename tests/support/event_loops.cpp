#include "event_loops.h"

#include <algorithm>
#include <regex>

#include "harness.h"

namespace sitehost::test {

std::vector<LoopStats> loops_of(const std::string& status) {
  static const std::regex kLoop(
      R"re(\{"index": (\d+), "connections": (\d+), "requests": (\d+)\})re");
  std::vector<LoopStats> out;
  for (std::sregex_iterator it(status.begin(), status.end(), kLoop), end; it != end; ++it)
    out.push_back({std::stol((*it)[1]), std::stol((*it)[2]), std::stol((*it)[3])});
  return out;
}

bool every_loop_served(uint16_t port, const std::filesystem::path& admin_socket, size_t loops,
                       const std::string& path, std::string& status) {
  auto all_served = [&] {
    status = admin_exchange(admin_socket, "GET", "/status");
    std::vector<LoopStats> stats = loops_of(status);
    return stats.size() == loops && std::all_of(stats.begin(), stats.end(),
                                                [](const LoopStats& l) { return l.requests > 0; });
  };
  for (int i = 0; i < 128 && !all_served(); ++i) http_request(port, "GET", path);
  return wait_until(all_served, 5s);
}

}  // namespace sitehost::test
