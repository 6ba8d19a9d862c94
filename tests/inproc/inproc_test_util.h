// Helpers shared by the in-process tests: paths of the sample handler libraries, crafted bad
// ELF files, and a sitehost config with several in-process sites on one port.
#pragma once

#include <elf.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/support/harness.h"

namespace sitehost::test {

inline std::filesystem::path app_library(const std::string& name) {
  return apps_dir() / (name + ".so");
}

// Copies `from` to `to` and patches its ELF header: e_ident[EI_CLASS] (when class != 0) and
// e_machine (when machine != 0). The rest of the file stays a valid x86-64 library, so only the
// header check can tell.
inline std::filesystem::path craft_elf(const std::filesystem::path& from,
                                       const std::filesystem::path& to, unsigned char elf_class,
                                       uint16_t machine) {
  std::ifstream in(from, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (elf_class) bytes[EI_CLASS] = static_cast<char>(elf_class);
  if (machine) {
    bytes[offsetof(Elf64_Ehdr, e_machine)] = static_cast<char>(machine & 0xff);
    bytes[offsetof(Elf64_Ehdr, e_machine) + 1] = static_cast<char>(machine >> 8);
  }
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return to;
}

struct InprocSiteSpec {
  std::string name;
  std::string path = "/";
  std::filesystem::path handler;
  std::string extra;  // more TOML lines for the site
};

// `[server] event_loops = N` from SITEHOST_TEST_EVENT_LOOPS=N (to run the whole suite on several
// loops), unless the test set event_loops itself.
inline std::string test_event_loops(const std::string& server_extra) {
  const char* loops = std::getenv("SITEHOST_TEST_EVENT_LOOPS");
  if (!loops || !*loops || server_extra.find("event_loops") != std::string::npos) return {};
  return std::string("event_loops = ") + loops + "\n";
}

// A config with every site bound to 127.0.0.1:port (told apart by path).
inline std::string inproc_config(uint16_t port, const std::filesystem::path& physical,
                                 const std::vector<InprocSiteSpec>& sites,
                                 const std::string& server_extra = "detailed_errors = true\n") {
  std::string toml = "[server]\n" + server_extra + "\n" + test_event_loops(server_extra);
  for (const auto& s : sites) {
    toml += "[[site]]\nname = \"" + s.name +
            "\"\nbindings = [\"http://127.0.0.1:" + std::to_string(port) + "\"]\npath = \"" +
            s.path + "\"\nphysical_path = \"" + physical.string() +
            "\"\nhosting_model = \"inprocess\"\nhandler = \"" + s.handler.string() + "\"\n" +
            s.extra + "\n";
  }
  return toml;
}

// A request with a chunked body (one chunk per element of `chunks`).
inline std::string chunked_request(const std::string& path, const std::vector<std::string>& chunks,
                                   bool close = true) {
  std::string req = "POST " + path +
                    " HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n" +
                    (close ? "Connection: close\r\n" : "") + "\r\n";
  char size[32];
  for (const auto& c : chunks) {
    std::snprintf(size, sizeof size, "%zx\r\n", c.size());
    req += size + c + "\r\n";
  }
  return req + "0\r\n\r\n";
}

// Resident set size of a process in KiB (VmRSS), 0 when unknown.
inline long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

}  // namespace sitehost::test
