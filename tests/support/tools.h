// Third-party command-line tools the tests drive (openssl, curl, ...), run to completion with
// their output captured in a file under a test's folder.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/harness.h"

namespace sitehost::test {

// run_program with the output in `dir`/tool-N.out.
ProgramResult run_tool(const std::filesystem::path& dir, const std::vector<std::string>& argv,
                       Ms timeout = 30s);

inline constexpr const char* kCurl = "/usr/bin/curl";

struct CurlResult {
  int exit_code = -1;
  int status = 0;  // 0 when no response
  std::string headers;
  std::string body;
  std::string output;  // curl's own output (-w status, errors)
};
// `/usr/bin/curl -sS --max-time T OPTIONS... URL` with the body and the response head saved
// under `dir` (T: `timeout` less 10 s, so curl gives up before it is killed).
CurlResult run_curl(const std::filesystem::path& dir, const std::vector<std::string>& options,
                    const std::string& url, Ms timeout = 30s);

}  // namespace sitehost::test
