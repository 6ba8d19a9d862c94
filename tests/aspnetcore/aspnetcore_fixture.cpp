#include "tests/aspnetcore/aspnetcore_fixture.h"

#include <fstream>
#include <iterator>

#include "tests/proxy/proxy_test_util.h"  // process_exited
#include "tests/support/site_config.h"

namespace sitehost::test {

namespace fs = std::filesystem;

namespace {

constexpr const char* kOpenssl = "/usr/bin/openssl";

std::string assembly_of(const std::string& build) {
  return build == "slim" ? "SlimApp.dll" : "SiteApp.dll";
}

}  // namespace

std::unique_ptr<AspNetCoreCerts> AspNetCore::certs_;

AspNetCoreCerts::AspNetCoreCerts() {
  auto tool = [&](std::vector<std::string> args) {
    args.insert(args.begin(), kOpenssl);
    ProgramResult r = run_tool(dir.path(), args);
    if (r.exit_code != 0) error += "openssl " + args[1] + " failed: " + r.output + "\n";
    return r.exit_code == 0;
  };
  auto p = [&](const std::string& name) { return (dir / name).string(); };
  const std::vector<std::string> ec{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                    "-nodes"};
  auto req = [&](std::vector<std::string> head, std::vector<std::string> tail) {
    head.insert(head.end(), ec.begin(), ec.end());
    head.insert(head.end(), tail.begin(), tail.end());
    return tool(head);
  };
  dir.write("client.ext", "extendedKeyUsage = clientAuth\nbasicConstraints = CA:FALSE\n");
  ok = req({"req", "-x509"},
           {"-days", "30", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
            "-keyout", p("localhost.key"), "-out", p("localhost.pem")}) &&
       req({"req", "-x509"}, {"-days", "30", "-subj", "/CN=sitehost test CA", "-keyout",
                              p("ca.key"), "-out", p("ca.pem")}) &&
       req({"req", "-new"}, {"-subj", "/CN=sitehost test client", "-keyout", p("client.key"),
                             "-out", p("client.csr")}) &&
       tool({"x509", "-req", "-in", p("client.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
             "-set_serial", "8", "-days", "30", "-extfile", p("client.ext"), "-out",
             p("client.pem")});
}

void AspNetCore::SetUpTestSuite() {
  if (!aspnetcore_skip_reason()) certs_ = std::make_unique<AspNetCoreCerts>();
}

void AspNetCore::TearDownTestSuite() {
  certs_.reset();
}

void AspNetCore::SetUp() {
  SITEHOST_NEEDS_ASPNETCORE();
  ASSERT_TRUE(certs_ && certs_->ok) << (certs_ ? certs_->error : "no certificates");
  http_port_ = free_port();
  https_port_ = free_port();
}

void AspNetCore::TearDown() {
  if (server_ && server_->process().running()) {
    EXPECT_EQ(server_->stop(30s), 0) << server_->log();
  }
  for (long pid : pids_)
    EXPECT_TRUE(wait_until([&] { return process_exited(pid); }, 10s))
        << "app process " << pid << " left";
}

std::string AspNetCore::config(const Site& site) const {
  ConfigBuilder b(dir_, http_port_);
  if (!site.server_keys.count("detailed_errors")) b.server("detailed_errors", "true");
  b.server("log_level", "\"debug\"");
  for (const auto& [k, v] : site.server_keys) b.server(k, v);
  SiteSpec s;
  s.name = "app";
  s.path = site.path;
  s.hosting_model = "outofprocess";
  s.physical_path = app_dir().string();
  s.bindings = {"http://127.0.0.1:" + std::to_string(http_port_)};
  if (site.ipv6) s.bindings.push_back("http://[::1]:" + std::to_string(http_port_));
  if (site.https) {
    s.bindings.push_back("https://localhost:" + std::to_string(https_port_));
    s.keys["certificate"] = toml_string((*certs_ / "localhost.pem").string());
    s.keys["private_key"] = toml_string((*certs_ / "localhost.key").string());
    if (!site.client_certificate.empty()) {
      s.keys["client_certificate"] = toml_string(site.client_certificate);
      s.keys["client_ca_file"] = toml_string((*certs_ / "ca.pem").string());
    }
  }
  s.keys["process_path"] = toml_string(site.process_path);
  std::string arguments = site.arguments.value_or(assembly_of(site.build));
  s.keys["arguments"] = arguments.empty() ? "[]" : toml_string(arguments);
  std::string env;
  for (const auto& [k, v] : site.environment)
    env += (env.empty() ? "" : ", ") + toml_string(k) + " = " + toml_string(v);
  if (!env.empty()) s.keys["environment"] = "{ " + env + " }";
  for (const auto& [k, v] : site.keys) s.keys[k] = v;
  b.site(std::move(s));
  return b.str();
}

void AspNetCore::start(const Site& site) {
  std::error_code ec;
  fs::create_directories(app_dir(), ec);
  fs::copy(aspnetcore_build(site.build), app_dir(),
           fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
  ASSERT_FALSE(ec) << "copying the published app: " << ec.message();
  server_ = std::make_unique<Sitehost>(dir_, config(site));
  ASSERT_TRUE(server_->wait_listening(http_port_)) << server_->log();
}

CurlResult AspNetCore::curl(const std::string& target, std::vector<std::string> args,
                            const std::string& scheme) {
  uint16_t port = scheme == "https" ? https_port_ : http_port_;
  std::vector<std::string> options{"--cacert", (*certs_ / "localhost.pem").string(), "--resolve",
                                   "localhost:" + std::to_string(port) + ":127.0.0.1"};
  options.insert(options.end(), args.begin(), args.end());
  return run_curl(dir_.path(), options, scheme + "://localhost:" + std::to_string(port) + target,
                  40s);
}

std::optional<Response> AspNetCore::request(const std::string& method, const std::string& target,
                                            const std::string& body,
                                            const std::vector<std::string>& headers) {
  return http_request(http_port_, method, target, body, "localhost", headers);
}

long AspNetCore::app_pid(const std::string& base) {
  auto r = request("GET", base + "/pid");
  if (!r || r->status != 200) return -1;
  long pid = std::strtol(r->body.c_str(), nullptr, 10);
  if (pid > 0 && std::find(pids_.begin(), pids_.end(), pid) == pids_.end()) pids_.push_back(pid);
  return pid > 0 ? pid : -1;
}

std::string json_value(const std::string& json, const std::string& key) {
  std::string needle = "\"" + key + "\":";
  size_t at = json.find(needle);
  if (at == std::string::npos) return {};
  at += needle.size();
  if (at < json.size() && json[at] == '"') {
    std::string out;
    for (size_t i = at + 1; i < json.size() && json[i] != '"'; ++i) {
      if (json[i] == '\\' && i + 1 < json.size()) ++i;
      out.push_back(json[i]);
    }
    return out;
  }
  size_t end = json.find_first_of(",}", at);
  return json.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

std::optional<std::string> process_environment(long pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t at = 0;
  while (at < all.size()) {
    size_t end = all.find('\0', at);
    std::string entry = all.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (entry.rfind(name + "=", 0) == 0) return entry.substr(name.size() + 1);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return std::nullopt;
}

}  // namespace sitehost::test
