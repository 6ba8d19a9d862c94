#include "tests/support/tools.h"

#include <atomic>
#include <cstdlib>

namespace sitehost::test {

namespace fs = std::filesystem;

ProgramResult run_tool(const fs::path& dir, const std::vector<std::string>& argv, Ms timeout) {
  static std::atomic<int> counter = 0;
  return run_program(argv, dir / ("tool-" + std::to_string(++counter) + ".out"), timeout);
}

CurlResult run_curl(const fs::path& dir, const std::vector<std::string>& options,
                    const std::string& url, Ms timeout) {
  static std::atomic<int> counter = 0;
  int n = ++counter;
  fs::path body = dir / ("curl-" + std::to_string(n) + ".body");
  fs::path headers = dir / ("curl-" + std::to_string(n) + ".head");
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
  std::vector<std::string> argv{kCurl, "-sS", "--max-time",
                                std::to_string(seconds > 10 ? seconds - 10 : 1)};
  argv.insert(argv.end(), {"-o", body.string(), "-D", headers.string(), "-w", "%{http_code}"});
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back(url);
  ProgramResult r = run_tool(dir, argv, timeout);
  CurlResult c;
  c.exit_code = r.exit_code;
  c.output = r.output;
  c.status = std::atoi(r.output.c_str());
  c.headers = read_file(headers);
  c.body = read_file(body);
  return c;
}

}  // namespace sitehost::test
