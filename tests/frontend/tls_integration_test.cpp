// HTTPS through the real binary with real clients: `openssl s_client` and `curl` (Debian
// packages) as child processes, plus a small in-test OpenSSL client where a connection must be
// held open across a reload. Certificates are made by the test with the openssl CLI. Loopback
// only; every wait is bounded.
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/frontend/metrics_text.h"
#include "tests/support/harness.h"
#include "tests/support/site_config.h"
#include "tests/support/tls_client.h"
#include "tests/support/tools.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kOpenssl = "/usr/bin/openssl";

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size()) ++n;
  return n;
}

// The certificates of the whole suite, made once.
struct Certs {
  TempDir dir;
  fs::path operator/(const std::string& name) const { return dir / name; }
  std::string der;  // client.pem as DER
  bool ok = false;
  std::string error;

  bool tool(const std::vector<std::string>& args) {
    std::vector<std::string> argv{kOpenssl};
    argv.insert(argv.end(), args.begin(), args.end());
    ProgramResult r = run_tool(dir.path(), argv, 30s);
    if (r.exit_code != 0) error += "openssl " + args[0] + " failed: " + r.output + "\n";
    return r.exit_code == 0;
  }
  // A self-signed ECDSA P-256 server certificate (its own CA for curl --cacert).
  bool server(const std::string& file, const std::string& cn, const std::string& san) {
    return tool({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-days", "30", "-subj", "/CN=" + cn, "-addext",
                 "subjectAltName=DNS:" + san, "-keyout", (dir / (file + ".key")).string(), "-out",
                 (dir / (file + ".pem")).string()});
  }
  // A CA (ca) and a client certificate it signed; `other_ca` signs a client nobody trusts.
  bool client(const std::string& ca, const std::string& file) {
    dir.write("client.ext", "extendedKeyUsage = clientAuth\nbasicConstraints = CA:FALSE\n");
    return tool({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-subj", "/CN=" + file, "-keyout", (dir / (file + ".key")).string(),
                 "-out", (dir / (file + ".csr")).string()}) &&
           tool({"x509", "-req", "-in", (dir / (file + ".csr")).string(), "-CA",
                 (dir / (ca + ".pem")).string(), "-CAkey", (dir / (ca + ".key")).string(),
                 "-set_serial", "7", "-days", "30", "-extfile", (dir / "client.ext").string(),
                 "-out", (dir / (file + ".pem")).string()});
  }
  bool ca(const std::string& file, const std::string& cn) {
    return tool({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-days", "30", "-subj", "/CN=" + cn, "-keyout",
                 (dir / (file + ".key")).string(), "-out", (dir / (file + ".pem")).string()});
  }

  Certs() {
    ok = server("a", "a.test", "a.test") && server("b", "b.test", "b.test") &&
         server("a2", "a-renewed.test", "a.test") && ca("ca", "Test CA") &&
         client("ca", "client") && ca("rogue-ca", "Rogue CA") && client("rogue-ca", "rogue") &&
         tool({"x509", "-in", (dir / "client.pem").string(), "-outform", "DER", "-out",
               (dir / "client.der").string()});
    if (ok) {
      der = read_file(dir / "client.der");
      // curl's bundle for both server names.
      dir.write("servers.pem", read_file(dir / "a.pem") + read_file(dir / "b.pem"));
    }
  }
};

// A TLS ClientHello as a real client sends it (made in memory, no socket).
std::string client_hello(const std::string& sni) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), &SSL_free);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), in, out);  // ssl owns both
  SSL_set_tlsext_host_name(ssl.get(), sni.c_str());
  SSL_connect(ssl.get());  // wants to read the ServerHello
  char* data = nullptr;
  long n = BIO_get_mem_data(out, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

class TlsIntegration : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = std::make_unique<Certs>(); }
  static void TearDownTestSuite() { certs_.reset(); }

  void SetUp() override {
    ASSERT_TRUE(certs_->ok) << certs_->error;
    https_ = free_port();
    http_ = free_port();
    fs::create_directories(app_);
  }

  void TearDown() override {
    if (server_ && server_->process().running()) {
      EXPECT_EQ(server_->stop(), 0) << server_->log();
    }
    std::ifstream in(app_ / "pids");  // children of out-of-process sites
    long pid;
    while (in >> pid)
      EXPECT_TRUE(wait_until([&] { return !fs::exists("/proc/" + std::to_string(pid)); }, 5s))
          << "child " << pid << " left";
  }

  static std::string cert(const std::string& name) {
    return toml_string((*certs_ / name).string());
  }
  // An in-process site serving `app` on https://HOST:https_ (and more bindings).
  SiteSpec inproc(const std::string& name, const std::string& app, const std::string& host,
                  const std::string& cert_name, const std::string& path = "/") const {
    SiteSpec s;
    s.name = name;
    s.path = path;
    s.bindings = {"https://" + host + ":" + std::to_string(https_)};
    s.keys["handler"] = toml_string((apps_dir() / (app + ".so")).string());
    s.keys["certificate"] = cert(cert_name + ".pem");
    s.keys["private_key"] = cert(cert_name + ".key");
    return s;
  }
  // An out-of-process site running the python echo child (JSON: headers, env).
  SiteSpec echo_child(const std::string& name, const std::string& host) const {
    SiteSpec s;
    s.name = name;
    s.hosting_model = "outofprocess";
    s.physical_path = app_.string();
    s.bindings = {"https://" + host + ":" + std::to_string(https_)};
    s.keys["process_path"] = toml_string("/usr/bin/python3");
    s.keys["arguments"] =
        "[" + toml_string((source_dir() / "tests/proxy/children/echo.py").string()) + "]";
    s.keys["certificate"] = cert("a.pem");
    s.keys["private_key"] = cert("a.key");
    return s;
  }

  void start(std::vector<SiteSpec> sites,
             std::vector<std::pair<std::string, std::string>> server_keys = {}) {
    ConfigBuilder b(dir_, http_);
    b.server("detailed_errors", "true");
    b.server("log_level", "\"debug\"");
    if (std::none_of(server_keys.begin(), server_keys.end(),
                     [](const auto& key) { return key.first == "admin"; }))
      b.server("admin", "\"off\"");  // no shared admin socket between parallel tests
    for (auto& [k, v] : server_keys) b.server(k, v);
    for (auto& s : sites) b.site(std::move(s));
    server_ = std::make_unique<Sitehost>(dir_, b.str());
    ASSERT_TRUE(server_->wait_listening(https_)) << server_->log();
  }

  ProgramResult s_client(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{kOpenssl, "s_client", "-connect",
                                  "127.0.0.1:" + std::to_string(https_)};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_tool(dir_.path(), argv);
  }
  // The served certificate's subject line ("subject=CN = a.test") or "" when the handshake failed.
  std::string served_subject(const std::vector<std::string>& args) const {
    ProgramResult r = s_client(args);
    size_t at = r.output.find("\nsubject=");
    if (r.exit_code != 0 || at == std::string::npos) return "handshake failed: " + r.output;
    return r.output.substr(at + 1, r.output.find('\n', at + 1) - at - 1);
  }

  // curl SCHEME://HOST:PORT/PATH (https_ or http_) with HOST resolved to 127.0.0.1 on both ports
  // and the test's server certificates trusted; `args` go before the URL.
  CurlResult curl(const std::string& host, const std::string& path,
                  std::vector<std::string> args = {}, const std::string& scheme = "https") {
    uint16_t port = scheme == "https" ? https_ : http_;
    std::vector<std::string> options{"--cacert", (*certs_ / "servers.pem").string()};
    for (uint16_t p : {https_, http_})
      options.insert(options.end(), {"--resolve", host + ":" + std::to_string(p) + ":127.0.0.1"});
    options.insert(options.end(), args.begin(), args.end());
    return run_curl(dir_.path(), options,
                    scheme + "://" + host + ":" + std::to_string(port) + path);
  }

  // Waits (bounded) for the outcome of a SIGHUP.
  bool reload() {
    size_t ok = count(server_->log(), "config reloaded");
    size_t failed = count(server_->log(), "reload failed");
    server_->process().signal(SIGHUP);
    EXPECT_TRUE(wait_until(
        [&] {
          std::string log = server_->log();
          return count(log, "config reloaded") > ok || count(log, "reload failed") > failed;
        },
        10s))
        << server_->log();
    return count(server_->log(), "config reloaded") > ok;
  }

  static std::unique_ptr<Certs> certs_;
  TempDir dir_;
  fs::path app_ = dir_ / "app";
  uint16_t https_ = 0;
  uint16_t http_ = 0;
  std::unique_ptr<Sitehost> server_;
};

std::unique_ptr<Certs> TlsIntegration::certs_;

TEST_F(TlsIntegration, SniSelectsTheSiteCertificate) {
  start({inproc("a", "hello", "a.test", "a"), inproc("b", "info", "b.test", "b")});
  EXPECT_EQ(served_subject({"-servername", "a.test"}), "subject=CN = a.test");
  EXPECT_EQ(served_subject({"-servername", "b.test"}), "subject=CN = b.test");
  EXPECT_EQ(served_subject({"-servername", "B.TEST"}), "subject=CN = b.test");
  // No SNI, or a name nobody has: the port's default, the first site in the config.
  EXPECT_EQ(served_subject({"-noservername"}), "subject=CN = a.test");
  EXPECT_EQ(served_subject({"-servername", "c.test"}), "subject=CN = a.test");

  auto a = curl("a.test", "/");
  EXPECT_EQ(a.status, 200) << a.output;
  EXPECT_EQ(a.body, "Hello, World!");
  auto b = curl("b.test", "/x?y=1");  // curl verifies the b.test certificate
  EXPECT_EQ(b.status, 200) << b.output;
  EXPECT_NE(b.body.find("\"site\":\"b\""), std::string::npos) << b.body;
}

// ALPN with the server's preference: h2 when the site allows it (http2, the default), else
// http/1.1; a client offering only what the site does not speak gets no ALPN (docs/http2.md).
TEST_F(TlsIntegration, AlpnPrefersH2AndHonoursHttp2Off) {
  auto off = inproc("b", "hello", "b.test", "b");
  off.keys["http2"] = "false";
  start({inproc("a", "hello", "a.test", "a"), off});
  ProgramResult r = s_client({"-servername", "a.test", "-alpn", "http/1.1,h2"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ALPN protocol: h2"), std::string::npos) << r.output;
  r = s_client({"-servername", "a.test", "-alpn", "http/1.1"});
  EXPECT_NE(r.output.find("ALPN protocol: http/1.1"), std::string::npos) << r.output;
  r = s_client({"-servername", "b.test", "-alpn", "http/1.1,h2"});
  EXPECT_NE(r.output.find("ALPN protocol: http/1.1"), std::string::npos) << r.output;
  // h2 alone on a site without HTTP/2: no ALPN, and the handshake still completes.
  r = s_client({"-servername", "b.test", "-alpn", "h2"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("No ALPN negotiated"), std::string::npos) << r.output;
  auto c = curl("a.test", "/", {"--http2"});  // curl offers h2 and http/1.1
  EXPECT_EQ(c.status, 200) << c.output;
  EXPECT_NE(c.headers.find("HTTP/2 200"), std::string::npos) << c.headers;
  c = curl("b.test", "/", {"--http2"});
  EXPECT_EQ(c.status, 200) << c.output;
  EXPECT_NE(c.headers.find("HTTP/1.1 200"), std::string::npos) << c.headers;
}

TEST_F(TlsIntegration, Tls11IsRefused) {
  start({inproc("a", "hello", "a.test", "a")});
  // SECLEVEL=0 so that the client's own OpenSSL is willing to offer TLS 1.1 at all.
  ProgramResult r = s_client({"-servername", "a.test", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("alert protocol version"), std::string::npos) << r.output;
  EXPECT_TRUE(wait_until([&] {
    return server_->log().find("unsupported protocol") != std::string::npos;
  })) << server_->log();
  // TLS 1.2 and 1.3 by default.
  EXPECT_EQ(s_client({"-servername", "a.test", "-tls1_2"}).exit_code, 0);
  EXPECT_EQ(s_client({"-servername", "a.test", "-tls1_3"}).exit_code, 0);
}

TEST_F(TlsIntegration, MinTlsVersion13RefusesTls12) {
  SiteSpec a = inproc("a", "hello", "a.test", "a");
  a.keys["min_tls_version"] = "\"1.3\"";
  start({a, inproc("b", "hello", "b.test", "b")});
  ProgramResult r = s_client({"-servername", "a.test", "-tls1_2"});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("alert protocol version"), std::string::npos) << r.output;
  ProgramResult ok = s_client({"-servername", "a.test", "-tls1_3"});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("TLSv1.3"), std::string::npos) << ok.output;
  // The other site of the port keeps its own minimum.
  EXPECT_EQ(s_client({"-servername", "b.test", "-tls1_2"}).exit_code, 0);
}

TEST_F(TlsIntegration, InProcessOverHttps) {
  start({inproc("hello", "hello", "a.test", "a"), inproc("info", "info", "a.test", "a", "/info")});
  auto hello = curl("a.test", "/");
  EXPECT_EQ(hello.exit_code, 0) << hello.output;
  EXPECT_EQ(hello.status, 200);
  EXPECT_EQ(hello.body, "Hello, World!");
  auto info = curl("a.test", "/info/x?q=1", {"-H", "MS-ASPNETCORE-CLIENTCERT: forged"});
  EXPECT_EQ(info.status, 200) << info.output;
  EXPECT_NE(info.body.find("\"tls\":true"), std::string::npos) << info.body;
  EXPECT_NE(info.body.find("\"client_cert_bytes\":0"), std::string::npos) << info.body;
  EXPECT_NE(info.body.find("\"path\":\"/x\""), std::string::npos) << info.body;
  // Two requests on one TLS connection (keep-alive): curl connects once.
  std::string base = "https://a.test:" + std::to_string(https_);
  ProgramResult two = run_tool(
      dir_.path(),
      {kCurl, "-sS", "--max-time", "20", "--cacert", (*certs_ / "a.pem").string(), "--resolve",
       "a.test:" + std::to_string(https_) + ":127.0.0.1", "-w", "%{http_code}/%{num_connects},",
       "-o", (dir_ / "one").string(), base + "/", "-o", (dir_ / "two").string(), base + "/info/"});
  EXPECT_EQ(two.exit_code, 0) << two.output;
  EXPECT_EQ(two.output, "200/1,200/0,");
  EXPECT_EQ(read_file(dir_ / "one"), "Hello, World!");
  EXPECT_NE(read_file(dir_ / "two").find("\"tls\":true"), std::string::npos);
}

TEST_F(TlsIntegration, OutOfProcessOverHttps) {
  SiteSpec s = echo_child("api", "a.test");
  s.bindings.push_back("http://127.0.0.1:" + std::to_string(http_));
  start({s});
  auto r = curl("a.test", "/over-tls", {"-H", "MS-ASPNETCORE-CLIENTCERT: forged"});
  ASSERT_EQ(r.status, 200) << r.output << server_->log();
  EXPECT_NE(r.body.find("[\"X-Forwarded-Proto\", \"https\"]"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"https_port\": \"" + std::to_string(https_) + "\""), std::string::npos)
      << r.body;
  EXPECT_EQ(r.body.find("forged"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("CLIENTCERT"), std::string::npos) << r.body;  // no certificate: none
  auto plain = curl("127.0.0.1", "/over-http", {}, "http");
  ASSERT_EQ(plain.status, 200) << plain.output;
  EXPECT_NE(plain.body.find("[\"X-Forwarded-Proto\", \"http\"]"), std::string::npos) << plain.body;
}

TEST_F(TlsIntegration, ClientCertificateRequired) {
  SiteSpec info = inproc("info", "info", "a.test", "a");
  info.keys["client_certificate"] = "\"required\"";
  info.keys["client_ca_file"] = cert("ca.pem");
  SiteSpec api = echo_child("api", "b.test");
  api.keys["certificate"] = cert("b.pem");
  api.keys["private_key"] = cert("b.key");
  api.keys["client_certificate"] = "\"required\"";
  api.keys["client_ca_file"] = cert("ca.pem");
  start({info, api});
  const std::vector<std::string> with_cert{"--cert", (*certs_ / "client.pem").string(), "--key",
                                           (*certs_ / "client.key").string()};

  // Without a certificate the handshake fails: no response at all.
  auto none = curl("a.test", "/");
  EXPECT_NE(none.exit_code, 0) << none.output;
  EXPECT_EQ(none.status, 0) << none.output;
  EXPECT_TRUE(wait_until([&] {
    return server_->log().find("peer did not return a certificate") != std::string::npos;
  })) << server_->log();
  // A certificate from a CA the site does not trust: refused too.
  auto rogue =
      curl("a.test", "/",
           {"--cert", (*certs_ / "rogue.pem").string(), "--key", (*certs_ / "rogue.key").string()});
  EXPECT_NE(rogue.exit_code, 0) << rogue.output;
  EXPECT_EQ(rogue.status, 0) << rogue.output;

  // In-process: the DER bytes through the ABI.
  auto in = curl("a.test", "/", with_cert);
  ASSERT_EQ(in.status, 200) << in.output << server_->log();
  EXPECT_NE(in.body.find("\"client_cert_bytes\":" + std::to_string(certs_->der.size())),
            std::string::npos)
      << in.body;

  // Out-of-process: MS-ASPNETCORE-CLIENTCERT, base64 of the DER; the client's own one removed.
  std::vector<std::string> forged = with_cert;
  forged.insert(forged.end(), {"-H", "MS-ASPNETCORE-CLIENTCERT: forged"});
  auto out = curl("b.test", "/", forged);
  ASSERT_EQ(out.status, 200) << out.output << server_->log();
  EXPECT_NE(out.body.find("[\"MS-ASPNETCORE-CLIENTCERT\", \"" + base64(certs_->der) + "\"]"),
            std::string::npos)
      << out.body;
  EXPECT_EQ(out.body.find("forged"), std::string::npos) << out.body;

  // The certificate was checked for the site SNI named: a request for another client-certificate
  // site on that connection is 421, never forwarded.
  std::vector<std::string> other_host = with_cert;
  other_host.insert(other_host.end(), {"-H", "Host: b.test:" + std::to_string(https_)});
  auto misdirected = curl("a.test", "/", other_host);
  EXPECT_EQ(misdirected.status, 421) << misdirected.output;
  EXPECT_EQ(misdirected.body.find("MS-ASPNETCORE"), std::string::npos) << misdirected.body;
}

TEST_F(TlsIntegration, ClientCertificateOptional) {
  SiteSpec info = inproc("info", "info", "a.test", "a");
  info.keys["client_certificate"] = "\"optional\"";
  info.keys["client_ca_file"] = cert("ca.pem");
  start({info});
  auto none = curl("a.test", "/");
  ASSERT_EQ(none.status, 200) << none.output;
  EXPECT_NE(none.body.find("\"client_cert_bytes\":0"), std::string::npos) << none.body;
  auto with = curl(
      "a.test", "/",
      {"--cert", (*certs_ / "client.pem").string(), "--key", (*certs_ / "client.key").string()});
  ASSERT_EQ(with.status, 200) << with.output;
  EXPECT_NE(with.body.find("\"client_cert_bytes\":" + std::to_string(certs_->der.size())),
            std::string::npos)
      << with.body;
}

TEST_F(TlsIntegration, RedirectToHttps) {
  SiteSpec s = inproc("a", "hello", "a.test", "a");
  s.bindings.push_back("http://127.0.0.1:" + std::to_string(http_));
  s.bindings.push_back("http://a.test:" + std::to_string(http_));
  s.keys["redirect_to_https"] = "true";
  start({s});
  auto r = http_request(http_, "GET", "/x/y?z=1", {}, "a.test:" + std::to_string(http_));
  ASSERT_TRUE(r) << server_->log();
  EXPECT_EQ(r->status, 308);
  EXPECT_EQ(r->header("Location"), "https://a.test:" + std::to_string(https_) + "/x/y?z=1");
  // curl follows it to the https binding.
  auto c = curl("a.test", "/followed", {"-L"}, "http");
  EXPECT_EQ(c.status, 200) << c.output;
  EXPECT_EQ(c.body, "Hello, World!");
}

TEST_F(TlsIntegration, CertificateReloadOnSighup) {
  // The site's certificate files live in the test's folder so that they can be replaced.
  fs::copy_file(*certs_ / "a.pem", dir_ / "a.pem");
  fs::copy_file(*certs_ / "a.key", dir_ / "a.key");
  SiteSpec s = inproc("a", "info", "a.test", "a");
  s.keys["certificate"] = toml_string((dir_ / "a.pem").string());
  s.keys["private_key"] = toml_string((dir_ / "a.key").string());
  start({s});

  TlsClient open(https_, "a.test");
  ASSERT_TRUE(open.connected());
  EXPECT_EQ(open.peer_subject(), "/CN=a.test");
  const std::string get = "GET /before HTTP/1.1\r\nHost: a.test\r\n\r\n";
  ASSERT_TRUE(open.send(get));
  auto first = open.read_response();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);

  // Renewed files (same config file): new connections get them after SIGHUP.
  fs::copy_file(*certs_ / "a2.pem", dir_ / "a.pem", fs::copy_options::overwrite_existing);
  fs::copy_file(*certs_ / "a2.key", dir_ / "a.key", fs::copy_options::overwrite_existing);
  ASSERT_TRUE(reload()) << server_->log();
  EXPECT_EQ(served_subject({"-servername", "a.test"}), "subject=CN = a-renewed.test");
  auto renewed = curl("a.test", "/", {"-k"});
  EXPECT_EQ(renewed.status, 200) << renewed.output;

  // The connection opened before the reload keeps working with what it started with.
  ASSERT_TRUE(open.send("GET /after HTTP/1.1\r\nHost: a.test\r\n\r\n"));
  auto second = open.read_response();
  ASSERT_TRUE(second) << server_->log();
  EXPECT_EQ(second->status, 200);
  EXPECT_NE(second->body.find("\"target\":\"/after\""), std::string::npos) << second->body;
  EXPECT_NE(second->body.find("\"tls\":true"), std::string::npos) << second->body;

  // A bad file is a config error: the reload is rejected and the running certificate stays.
  std::ofstream(dir_ / "a.key", std::ios::trunc) << "not a key\n";
  EXPECT_FALSE(reload());
  EXPECT_NE(server_->log().find("a.key"), std::string::npos) << server_->log();
  EXPECT_EQ(served_subject({"-servername", "a.test"}), "subject=CN = a-renewed.test");
}

TEST_F(TlsIntegration, HostileInputClosesOnlyThatConnection) {
  uint16_t admin = free_port();
  start(
      {inproc("a", "hello", "a.test", "a")},
      {{"header_timeout", "\"1s\""}, {"admin", toml_string("127.0.0.1:" + std::to_string(admin))}});
  TlsClient bystander(https_, "a.test");  // an open connection that must not be disturbed
  ASSERT_TRUE(bystander.connected());

  {  // plain HTTP to the https port
    Client c(https_, 5s);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"));
    EXPECT_TRUE(c.closed_within(3s));
    EXPECT_EQ(c.pending().find("Hello"), std::string::npos);
  }
  {  // garbage
    std::mt19937 rng(42);
    std::string junk(8192, '\0');
    for (auto& ch : junk) ch = static_cast<char>(rng());
    Client c(https_, 5s);
    ASSERT_TRUE(c.connected());
    c.send(junk);  // the server may close before all of it is sent
    EXPECT_TRUE(c.closed_within(3s));
  }
  {  // a ClientHello cut short: held to header_timeout, then closed
    std::string hello = client_hello("a.test");
    ASSERT_GT(hello.size(), 100u);
    Client c(https_, 5s);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send(hello.substr(0, hello.size() / 2)));
    auto started = Clock::now();
    EXPECT_TRUE(c.closed_within(5s));
    EXPECT_GE(Clock::now() - started, 500ms) << "closed before header_timeout";
  }
  {  // a ClientHello, then the client goes away mid-handshake
    Client c(https_, 5s);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send(client_hello("a.test")));
  }
  {  // a complete ClientHello followed by garbage records
    Client c(https_, 5s);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send(client_hello("a.test") + std::string("\x17\x03\x03\x00\x05hello", 10)));
    EXPECT_TRUE(c.closed_within(3s));
  }
  {  // a finished handshake, then a forged application-data record under the TLS layer
    TlsClient c(https_, "a.test");
    ASSERT_TRUE(c.connected());
    std::string forged("\x17\x03\x03\x00\x20", 5);
    forged.append(32, 'x');
    ASSERT_EQ(::send(c.fd(), forged.data(), forged.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(forged.size()));
    pollfd p{c.fd(), POLLIN, 0};
    char sink[4096];
    auto until = Clock::now() + 3s;
    while (Clock::now() < until && ::poll(&p, 1, 100) >= 0)  // alert, then EOF
      if ((p.revents & (POLLIN | POLLHUP)) && ::recv(c.fd(), sink, sizeof sink, 0) <= 0) break;
  }
  std::string log = server_->log();
  EXPECT_NE(log.find("http request"), std::string::npos) << log;

  // Everybody else is still served: the open connection and new ones.
  ASSERT_TRUE(bystander.send("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"));
  auto r = bystander.read_response();
  ASSERT_TRUE(r) << server_->log();
  EXPECT_EQ(r->body, "Hello, World!");
  auto c = curl("a.test", "/");
  EXPECT_EQ(c.status, 200) << c.output;
  EXPECT_TRUE(server_->process().running());

  // Each kind of bad input is counted (plain HTTP, garbage and the garbage record before the
  // client's Finished fail the handshake; the cut-short and abandoned ClientHellos are incomplete;
  // the forged record after the handshake is a TLS error). Closed connections are counted when
  // they close, so wait for the last ones.
  auto metrics = [&] {
    auto m = http_request(admin, "GET", "/metrics");
    return m ? m->body : std::string();
  };
  const std::string failed = "sitehost_tls_handshakes_total{result=\"failed\"}";
  const std::string incomplete = "sitehost_tls_handshakes_total{result=\"incomplete\"}";
  const std::string errors = "sitehost_tls_errors_total";
  EXPECT_TRUE(wait_until([&] {
    std::string m = metrics();
    return metric(m, failed) >= 3 && metric(m, incomplete) >= 2 && metric(m, errors) >= 1;
  })) << metrics();
  std::string m = metrics();
  EXPECT_EQ(metric(m, failed), 3) << m;
  EXPECT_EQ(metric(m, incomplete), 2) << m;
  EXPECT_EQ(metric(m, errors), 1) << m;
  // The bystander, the forged-record client and curl completed theirs.
  EXPECT_EQ(metric(m, "sitehost_tls_handshakes_total{result=\"ok\"}"), 3) << m;
}

TEST_F(TlsIntegration, LargeUploadEchoedOverTls) {
  start({inproc("echo", "echo", "a.test", "a")});
  std::string body(5 * 1024 * 1024, '\0');
  std::mt19937 rng(7);
  for (auto& ch : body) ch = static_cast<char>('a' + rng() % 26);
  fs::path file = dir_.write("upload.bin", body);
  auto r =
      curl("a.test", "/upload",
           {"--data-binary", "@" + file.string(), "-H", "Content-Type: application/octet-stream"});
  ASSERT_EQ(r.exit_code, 0) << r.output << server_->log();
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(r.body.size(), body.size());
  EXPECT_TRUE(r.body == body) << "the echo differs from the upload";
}

}  // namespace
}  // namespace sitehost::test
