#include "event_loops.h"

#include <algorithm>
#include <regex>

#include "harness.h"

namespace sitehost::test {

std::vector<long> loop_requests(const std::string& status) {
  std::vector<long> out;
  size_t at = status.find("\"loops\": [");
  if (at == std::string::npos) return out;
  std::string loops = status.substr(at, status.find(']', at) - at);
  static const std::regex kRequests("\"requests\": ([0-9]+)");
  for (std::sregex_iterator it(loops.begin(), loops.end(), kRequests), end; it != end; ++it)
    out.push_back(std::stol((*it)[1]));
  return out;
}

bool every_loop_served(uint16_t port, const std::filesystem::path& admin_socket, size_t loops,
                       const std::string& path, std::string& status) {
  auto all_served = [&] {
    status = admin_exchange(admin_socket, "GET", "/status");
    std::vector<long> requests = loop_requests(status);
    return requests.size() == loops &&
           std::all_of(requests.begin(), requests.end(), [](long n) { return n > 0; });
  };
  for (int i = 0; i < 128 && !all_served(); ++i) http_request(port, "GET", path);
  return wait_until(all_served, 5s);
}

}  // namespace sitehost::test
