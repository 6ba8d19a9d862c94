// A real browser over HTTP/2: headless Chromium (Debian package chromium) loads a page with three
// sub-resources (tests/apps/h2page.c: /, /a.js, /b.css, /c.png) from an https binding and must
// have fetched every one of them over h2 (ALPN; the site's `http2` key is left at its default,
// true). The page's own script writes each navigation and resource timing entry's
// nextHopProtocol into the DOM after the load event; `chromium --dump-dom` prints that DOM.
// Loopback only; Chromium runs in its own process group with a bounded wait and is killed by PID
// (group) when it overstays; everything it writes goes into the test's temp folder.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/harness.h"
#include "tests/support/site_config.h"
#include "tests/support/tls_client.h"

namespace sitehost::test {
namespace {

constexpr const char* kChromium = "/usr/bin/chromium";

// What the page reported: "navigation /" or "resource /a.js" → "h2 200" (protocol and status),
// and its other lines ("script ran", "image 1x1", "css applied"). `complete` once "end" is seen.
struct PageReport {
  std::map<std::string, std::string> entries;
  std::vector<std::string> facts;
  bool complete = false;
  std::string text;  // the <pre> as dumped, for failure messages
};

PageReport parse_page(const std::string& dom) {
  PageReport report;
  const std::string open = "<pre id=\"protocols\">";
  size_t begin = dom.find(open);
  if (begin == std::string::npos) return report;
  begin += open.size();
  size_t end = dom.find("</pre>", begin);
  report.text = dom.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  std::istringstream lines(report.text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string kind, path, protocol, status;
    words >> kind >> path >> protocol >> status;
    if (kind == "navigation" || kind == "resource")
      report.entries[kind + " " + path] = protocol + " " + status;
    else if (line == "end")
      report.complete = true;
    else
      report.facts.push_back(line);
  }
  return report;
}

// Runs headless Chromium on `url` with a profile, cache and HOME of its own under `dir`; the DOM
// after load (and Chromium's own log lines) come back. Empty when it did not finish in time.
std::string dump_dom(const TempDir& dir, const std::string& url) {
  const std::filesystem::path home = dir / "chromium-home";
  std::filesystem::create_directories(home);
  std::vector<std::string> argv{kChromium,
                                "--headless",
                                "--no-sandbox",  // needed as root; the page is our own
                                "--disable-gpu",
                                "--no-first-run",
                                "--ignore-certificate-errors",  // the test's self-signed one
                                "--user-data-dir=" + (home / "profile").string(),
                                "--disk-cache-dir=" + (home / "cache").string(),
                                "--virtual-time-budget=10000",  // waits for the load event
                                "--dump-dom",
                                url};
  Process chromium(argv, dir / "chromium.out",
                   {{"HOME", home.string()},
                    {"XDG_CONFIG_HOME", (home / "config").string()},
                    {"XDG_CACHE_HOME", (home / "cache").string()}});
  auto status = chromium.wait_exit(60s);  // usually ~1 s; the destructor kills the group
  if (!status) return {};
  return chromium.output();
}

TEST(BrowserHttp2, PageAndSubresourcesLoadOverH2) {
  if (::access(kChromium, X_OK) != 0)
    GTEST_SKIP() << kChromium << " is missing (Debian package chromium; tools/setup)";
  TempDir dir;
  std::string error;
  auto cert = make_self_signed_certificate(dir.path(), "localhost", "localhost", &error);
  ASSERT_TRUE(cert) << error;
  const uint16_t port = free_port();
  SiteSpec site;
  site.name = "page";
  site.bindings = {"https://127.0.0.1:" + std::to_string(port)};
  site.keys["handler"] = toml_string((apps_dir() / "h2page.so").string());
  site.keys["certificate"] = toml_string(cert->certificate.string());
  site.keys["private_key"] = toml_string(cert->private_key.string());
  Sitehost server(dir, ConfigBuilder(dir, port).server("log_level", "\"warn\"").site(site).str());
  ASSERT_TRUE(server.wait_listening(port)) << server.log();

  const std::string output = dump_dom(dir, "https://127.0.0.1:" + std::to_string(port) + "/");
  ASSERT_FALSE(output.empty()) << "chromium did not finish within 60 s";
  PageReport page = parse_page(output);
  ASSERT_TRUE(page.complete) << "the page's script did not report; chromium's output:\n"
                             << output << "\nsitehost's log:\n"
                             << server.log();

  // The document and its three sub-resources, each fetched once over h2 with a 200.
  for (const char* entry :
       {"navigation /", "resource /a.js", "resource /b.css", "resource /c.png"}) {
    ASSERT_TRUE(page.entries.count(entry)) << entry << " missing from:\n" << page.text;
    EXPECT_EQ(page.entries[entry], "h2 200") << entry << " (protocol, status); the page said:\n"
                                             << page.text;
  }
  // Nothing else fetched (an entry the page did not ask for would be a surprise worth a look).
  EXPECT_EQ(page.entries.size(), 4u) << page.text;
  // The bodies arrived whole: the script ran, the PNG decoded, the stylesheet applied.
  EXPECT_EQ(page.facts, (std::vector<std::string>{"script ran", "image 1x1", "css applied"}))
      << page.text;
}

}  // namespace
}  // namespace sitehost::test
