#include "tests/matrix/matrix_fixture.h"

#include <signal.h>
#include <sys/wait.h>

#include <cctype>
#include <cstdio>
#include <regex>
#include <set>

#include "tests/matrix/aspnetcore_site.h"
#include "tests/support/aspnetcore.h"
#include "tests/support/site_config.h"
#include "tests/support/tls_client.h"

namespace sitehost::test {

namespace fs = std::filesystem;

std::string Variant::name() const {
  std::string n = thread_pool    ? "ThreadPool"
                  : in_process() ? "InProcess"
                  : aspnetcore() ? "AspNetCore"
                                 : "OutOfProcess";
  n += h2 ? (https ? "_H2" : "_H2c") : https ? "_Https" : "_Http";
  return n + "_" + std::to_string(loops) + (loops == 1 ? "loop" : "loops");
}

std::vector<Variant> all_variants() {
  std::vector<Variant> out;
  for (Variant v :
       {Variant{Model::kInProcess, false, false}, Variant{Model::kInProcess, true, false},
        Variant{Model::kOutOfProcess, false, false}, Variant{Model::kOutOfProcess, true, false},
        Variant{Model::kInProcess, false, true}, Variant{Model::kInProcess, true, true},
        Variant{Model::kAspNetCore, false, false}, Variant{Model::kAspNetCore, true, false},
        // HTTP/2 (no thread-pool or ASP.NET Core h2 columns: docs/testing.md says why).
        Variant{.model = Model::kInProcess, .https = true, .h2 = true},
        Variant{.model = Model::kInProcess, .https = false, .h2 = true},
        Variant{.model = Model::kOutOfProcess, .https = true, .h2 = true},
        Variant{.model = Model::kOutOfProcess, .https = false, .h2 = true}})
    // 1, 2 then 2, 1: gtest shards by test index modulo the shard count, and a plain 1, 2 order
    // would give tools/matrix's two shards all the 1-loop and all the 2-loop cells each.
    for (bool flip = out.size() % 4 != 0; int loops : {1, 2}) {
      v.loops = flip ? 3 - loops : loops;
      out.push_back(v);
    }
  return out;
}

std::string variant_name(const ::testing::TestParamInfo<Variant>& info) {
  return info.param.name();
}

void PrintTo(const Variant& v, std::ostream* os) {
  *os << v.name();
}

std::optional<fs::path> app_library(const std::string& name) {
  for (const fs::path& folder : {apps_dir(), fs::path(SITEHOST_MATRIX_APPS_DIR)}) {
    fs::path file = folder / (name + ".so");
    if (fs::exists(file)) return file;
  }
  ADD_FAILURE() << "the sample app " << name << ".so is not built (looked in " << apps_dir()
                << " and " << SITEHOST_MATRIX_APPS_DIR << "): tests/apps/" << name
                << ".c or tests/matrix/apps/" << name << ".c is missing";
  return std::nullopt;
}

namespace {

// The suite's server certificate for "localhost", made once per test binary run.
const CertificateFiles& certificate() {
  static TempDir folder;
  static std::string error;
  static std::optional<CertificateFiles> files =
      make_self_signed_certificate(folder.path(), "localhost", "localhost", &error);
  if (!files) throw std::runtime_error(error);
  return *files;
}

// Every pid sitehost reported for a child process of the site.
std::set<long> child_pids(const std::string& log) {
  std::set<long> pids;
  static const std::regex kPid("child (\\d+):|pid (\\d+) accepts connections");
  for (std::sregex_iterator it(log.begin(), log.end(), kPid), end; it != end; ++it)
    pids.insert(std::stol((*it)[1].matched ? (*it)[1].str() : (*it)[2].str()));
  return pids;
}

}  // namespace

void Matrix::SetUp() {
  if (variant().aspnetcore()) SITEHOST_NEEDS_ASPNETCORE();
}

void Matrix::start(const App& app) {
  const Variant& v = variant();
  fs::create_directories(site_dir);
  if (v.aspnetcore()) {
    ASSERT_TRUE(app.child_command.empty())
        << "child_command has no meaning in the AspNetCore variant: skip the test there";
    ASSERT_TRUE(aspnetcore_deploy(site_dir, app.library));
  } else if (app.child_command.empty() || v.in_process()) {
    auto library = app_library(app.library);
    ASSERT_TRUE(library);
    deploy(app.library);
  }
  port = free_port();
  ConfigBuilder config(dir, port);
  config.server("detailed_errors", "true").server("admin", "\"off\"");
  if (!app.server_keys.contains("event_loops"))
    config.server("event_loops", std::to_string(v.loops));
  for (const auto& [key, value] : app.server_keys) config.server(key, value);

  SiteSpec site;
  site.path = app.path;
  site.physical_path = site_dir.string();
  site.bindings.push_back(std::string(v.https ? "https" : "http") +
                          "://127.0.0.1:" + std::to_string(port));
  site.keys = app.site_keys;
  if (v.h2 && !v.https) site.keys["h2c"] = "true";  // https sites offer h2 by default
  if (v.https) {
    const CertificateFiles& cert = certificate();
    site.keys["certificate"] = toml_string(cert.certificate.string());
    site.keys["private_key"] = toml_string(cert.private_key.string());
  }
  std::map<std::string, std::string> environment = app.environment;
  if (v.aspnetcore()) environment.merge(aspnetcore_environment(app.library));
  if (!environment.empty()) {
    std::string env = "{ ";
    for (const auto& [name, value] : environment)
      env += (env.size() > 2 ? ", " : "") + name + " = " + toml_string(value);
    site.keys["environment"] = env + " }";
  }
  if (v.in_process()) {
    site.hosting_model = "inprocess";
    site.keys["handler"] = toml_string((site_dir / "app.so").string());
    site.keys["shadow_copy_directory"] = toml_string((dir / "shadow").string());
    if (v.thread_pool) site.keys["allow_synchronous_io"] = "true";
  } else if (v.aspnetcore()) {
    site.hosting_model = "outofprocess";
    site.keys["process_path"] = toml_string("dotnet");  // looked up in PATH
    site.keys["arguments"] = "[" + toml_string("SiteApp.dll") + "]";
  } else {
    site.hosting_model = "outofprocess";
    std::vector<std::string> command = app.child_command;
    if (command.empty()) command = {sitehost_app_binary().string(), (site_dir / "app.so").string()};
    site.keys["process_path"] = toml_string(command[0]);
    std::string args = "[";
    for (size_t i = 1; i < command.size(); ++i)
      args += (i > 1 ? ", " : "") + toml_string(command[i]);
    site.keys["arguments"] = args + "]";
  }
  config.site(std::move(site));
  server.emplace(dir, config.str());
  ASSERT_TRUE(server->wait_listening(port)) << server->log();
}

void Matrix::deploy(const std::string& library) const {
  if (variant().aspnetcore()) {
    aspnetcore_deploy(site_dir, library);
    return;
  }
  auto file = app_library(library);
  if (!file) return;
  fs::path tmp = site_dir / ".app.so.tmp";
  fs::copy_file(*file, tmp, fs::copy_options::overwrite_existing);
  fs::rename(tmp, site_dir / "app.so");
}

std::unique_ptr<Client> Matrix::connect(Ms timeout) const {
  if (variant().h2)
    ADD_FAILURE() << "connect() speaks HTTP/1.1, which is not what an HTTP/2 column tests: "
                     "branch on variant().h2 and use h2(), or mark the test n/a there";
  std::unique_ptr<Client> c;
  if (variant().https)
    c = std::make_unique<TlsClient>(port, "localhost", timeout);
  else
    c = std::make_unique<Client>(port, timeout);
  c->read_while_sending();  // an echo answers while a large body is still being sent
  return c;
}

H2Options Matrix::h2_options(Ms timeout) const {
  H2Options options;
  options.tls = variant().https;
  options.timeout = timeout;
  return options;
}

std::unique_ptr<H2Client> Matrix::h2(Ms timeout) const {
  std::string error;
  auto c = H2Client::connect(port, h2_options(timeout), &error);
  if (!c) ADD_FAILURE() << "no HTTP/2 connection: " << error << "\n" << log();
  return c;
}

namespace {

std::string lowercase(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

}  // namespace

std::string Matrix::field_name(const std::string& name) const {
  return variant().h2 ? lowercase(name) : name;
}

namespace {

// "Name: value" lines as HTTP/2 fields (lowercase names).
HeaderList h2_fields(const std::vector<std::string>& lines) {
  HeaderList fields;
  for (const std::string& line : lines) {
    const size_t colon = line.find(':');
    const size_t value = line.find_first_not_of(' ', colon + 1);
    fields.emplace_back(lowercase(line.substr(0, colon)),
                        value == std::string::npos ? std::string() : line.substr(value));
  }
  return fields;
}

}  // namespace

H2Request h2_get(const std::string& path) {
  return H2Request{.method = "GET", .path = path};
}

H2Request h2_post(const std::string& path, const std::string& body) {
  return H2Request{.method = "POST", .path = path, .body = body};
}

std::optional<Response> Matrix::request(const std::string& method, const std::string& target,
                                        const std::string& body,
                                        const std::vector<std::string>& headers, Ms timeout) const {
  if (variant().h2) {
    auto c = h2(timeout);
    if (!c) return std::nullopt;
    H2Request req{.method = method, .path = target, .headers = h2_fields(headers), .body = body};
    if (body.empty() && (method == "POST" || method == "PUT"))
      req.headers.emplace_back("content-length", "0");
    H2Response r = c->exchange(req, timeout);
    if (!r.complete || r.status == 0) return std::nullopt;
    return r.as_response();
  }
  auto c = connect(timeout);
  if (!c->connected()) return std::nullopt;
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n";
  for (const auto& h : headers) req += h + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "Connection: close\r\n\r\n" + body;
  if (!c->send(req)) return std::nullopt;
  return c->read_response(method == "HEAD");
}

KeepAliveLoad::Session Matrix::load_session(const std::string& target) const {
  if (!variant().h2)
    return KeepAliveLoad::http1([this] { return connect(10s); },
                                "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
  return [port = port, options = h2_options(10s), target] {
    // The thread's connection; a new one once the server sent GOAWAY or it ended.
    auto c = std::make_shared<std::unique_ptr<H2Client>>();
    return [c, port, options, target]() -> KeepAliveLoad::Outcome {
      std::string error;
      if (!*c || (*c)->goaway_received() || (*c)->closed())
        *c = H2Client::connect(port, options, &error);
      if (!*c) return {{}, "cannot connect: " + error, false, false};
      H2Response r = (*c)->exchange(h2_get(target), 10s);
      if (!r.complete || r.status == 0) return {{}, "no response: " + (*c)->error(), true, false};
      return {r.as_response(), {}, true, true};
    };
  };
}

void Matrix::stop_server() {
  if (!server) return;
  std::set<long> pids = child_pids(server->log());
  if (server->process().running()) {
    EXPECT_EQ(server->stop(), 0) << server->log();
  }
  for (long pid : pids) {
    EXPECT_TRUE(wait_until([&] { return !fs::exists("/proc/" + std::to_string(pid)); }, 5s))
        << "child process " << pid << " left behind";
  }
  server.reset();  // fails the test when the log holds a sanitizer report (~Sitehost)
}

void Matrix::TearDown() {
  stop_server();
}

std::string test_bytes(size_t n, unsigned seed) {
  std::string out(n, '\0');
  uint32_t x = 2463534242u ^ seed;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = static_cast<char>(x & 0xff);
  }
  return out;
}

std::string matrix_app_pattern(size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>('a' + i % 23);
  return out;
}

std::string chunked_request(const std::string& target, const std::vector<std::string>& chunks,
                            const std::string& more_headers) {
  std::string req = "POST " + target +
                    " HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n" +
                    more_headers + "\r\n";
  char size[32];
  for (const auto& c : chunks) {
    std::snprintf(size, sizeof size, "%zx\r\n", c.size());
    req += size + c + "\r\n";
  }
  return req + "0\r\n\r\n";
}

}  // namespace sitehost::test
