// The TLS engine with memory only: a server TlsSession against an OpenSSL client over memory BIOs.
// Certificates are made by the openssl CLI into a temporary folder once for the suite.

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "shared/net/tls_context.h"
#include "shared/net/tls_session.h"
#include "shared/net/tls_sni.h"

namespace sitehost {
namespace {

namespace fs = std::filesystem;

struct SessionFree {
  void operator()(SSL_SESSION* p) const { SSL_SESSION_free(p); }
};
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

bool run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

X509Ptr load_cert(const fs::path& file) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!f) return nullptr;
  return X509Ptr(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
}

std::string der_of(X509* cert) {
  int len = i2d_X509(cert, nullptr);
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509(cert, &p);
  return der;
}

std::string common_name(X509* cert) {
  char buffer[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buffer, sizeof buffer);
  return buffer;
}

// What a test client does.
struct ClientOptions {
  std::string sni{};
  std::vector<std::string> alpn{};
  int min_version = 0;
  int max_version = 0;
  bool legacy = false;  // security level 0, so TLS 1.1 is possible at all
  fs::path cert{};
  fs::path key{};
  fs::path trust{};  // verify the server against this CA file
  SSL_SESSION* session = nullptr;
};

// An OpenSSL client over memory BIOs.
class Client {
 public:
  explicit Client(const ClientOptions& o) {
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    if (o.legacy) {
      SSL_CTX_set_security_level(ctx_.get(), 0);
      SSL_CTX_set_cipher_list(ctx_.get(), "DEFAULT:@SECLEVEL=0");
    }
    if (o.min_version) SSL_CTX_set_min_proto_version(ctx_.get(), o.min_version);
    if (o.max_version) SSL_CTX_set_max_proto_version(ctx_.get(), o.max_version);
    if (!o.cert.empty()) {
      EXPECT_EQ(SSL_CTX_use_certificate_file(ctx_.get(), o.cert.c_str(), SSL_FILETYPE_PEM), 1);
      EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx_.get(), o.key.c_str(), SSL_FILETYPE_PEM), 1);
    }
    if (!o.trust.empty()) {
      EXPECT_EQ(SSL_CTX_load_verify_locations(ctx_.get(), o.trust.c_str(), nullptr), 1);
      SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    }
    ssl_.reset(SSL_new(ctx_.get()));
    rbio_ = BIO_new(BIO_s_mem());
    wbio_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(rbio_, -1);
    SSL_set_bio(ssl_.get(), rbio_, wbio_);
    SSL_set_connect_state(ssl_.get());
    if (!o.sni.empty()) SSL_set_tlsext_host_name(ssl_.get(), o.sni.c_str());
    if (!o.alpn.empty()) {
      std::string wire;
      for (const auto& p : o.alpn) wire += static_cast<char>(p.size()) + p;
      SSL_set_alpn_protos(ssl_.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                          static_cast<unsigned>(wire.size()));
    }
    if (o.session != nullptr) SSL_set_session(ssl_.get(), o.session);
  }

  SSL* ssl() const { return ssl_.get(); }

  // Ciphertext the client has produced.
  std::string take() {
    std::string out;
    char buffer[16 * 1024];
    int n;
    while ((n = BIO_read(wbio_, buffer, sizeof buffer)) > 0) out.append(buffer, n);
    return out;
  }
  void give(std::string_view ciphertext) {
    if (!ciphertext.empty())
      BIO_write(rbio_, ciphertext.data(), static_cast<int>(ciphertext.size()));
  }

  // Steps the handshake; false once it failed for good.
  bool step() {
    ERR_clear_error();
    int r = SSL_do_handshake(ssl_.get());
    if (r == 1) return true;
    int e = SSL_get_error(ssl_.get(), r);
    ERR_clear_error();
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
  }
  bool done() const { return SSL_is_init_finished(ssl_.get()) == 1; }

  void write(std::string_view data) {
    while (!data.empty()) {
      size_t n = 0;
      ASSERT_EQ(SSL_write_ex(ssl_.get(), data.data(), data.size(), &n), 1);
      data.remove_prefix(n);
    }
  }
  // Everything readable now; `closed` tells whether close_notify arrived.
  std::string read_all(bool* closed = nullptr) {
    std::string out;
    char buffer[16 * 1024];
    for (;;) {
      size_t n = 0;
      ERR_clear_error();
      int r = SSL_read_ex(ssl_.get(), buffer, sizeof buffer, &n);
      if (r == 1) {
        out.append(buffer, n);
        continue;
      }
      if (closed != nullptr) *closed = SSL_get_error(ssl_.get(), r) == SSL_ERROR_ZERO_RETURN;
      ERR_clear_error();
      return out;
    }
  }
  SessionPtr session() const { return SessionPtr(SSL_get1_session(ssl_.get())); }

 private:
  SslCtxPtr ctx_;
  SslPtr ssl_;
  BIO* rbio_ = nullptr;
  BIO* wbio_ = nullptr;
};

// Moves bytes both ways until the handshake completes on both sides or someone fails.
bool handshake(TlsSession& server, Client& client) {
  for (int round = 0; round < 20; ++round) {
    bool client_ok = client.step();
    server.feed(client.take());
    std::string out;
    server.take_ciphertext(out);
    client.give(out);
    if (server.failed()) {
      client.step();  // reads the alert
      return false;
    }
    if (!client_ok) return false;
    if (client.done() && server.handshake_done()) return true;
  }
  ADD_FAILURE() << "handshake did not finish";
  return false;
}

// Everything the server can read now.
std::string server_read(TlsSession& server) {
  std::string out;
  char buffer[64 * 1024];
  while (size_t n = server.read_plain(buffer, sizeof buffer)) out.append(buffer, n);
  return out;
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "sitehost-tls-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = new fs::path(pattern);
    const std::string d = dir_->string();
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2";
    auto self_signed = [&](const std::string& name, const std::string& cn, const std::string& san,
                           const std::string& key_type) {
      return run("openssl req -x509 " + key_type + " -subj '/CN=" + cn + "'" +
                 (san.empty() ? "" : " -addext 'subjectAltName=" + san + "'") + " -keyout " + d +
                 "/" + name + ".key -out " + d + "/" + name + ".pem");
    };
    auto signed_by_ca = [&](const std::string& name, const std::string& cn,
                            const std::string& san) {
      std::string ext = d + "/" + name + ".ext";
      std::ofstream(ext) << (san.empty() ? "" : "subjectAltName=" + san + "\n");
      return run("openssl req -new " + ec + " -subj '/CN=" + cn + "' -keyout " + d + "/" + name +
                 ".key -out " + d + "/" + name + ".csr") &&
             run("openssl x509 -req -in " + d + "/" + name + ".csr -CA " + d + "/ca.pem -CAkey " +
                 d + "/ca.key -CAcreateserial -days 2 -extfile " + ext + " -out " + d + "/" + name +
                 ".pem");
    };
    ASSERT_TRUE(self_signed("a", "a.test", "DNS:a.test", ec));
    ASSERT_TRUE(
        self_signed("b", "b.test", "DNS:b.test,DNS:www.b.test", "-newkey rsa:2048 -nodes -days 2"));
    ASSERT_TRUE(self_signed("w", "wild", "DNS:*.w.test", ec));
    ASSERT_TRUE(self_signed("cn", "cn-only.test", "", ec));
    ASSERT_TRUE(self_signed("ca", "Test CA", "", ec));
    ASSERT_TRUE(self_signed("rogue", "rogue client", "", ec));
    ASSERT_TRUE(signed_by_ca("c", "c.test", "DNS:c.test"));
    ASSERT_TRUE(signed_by_ca("client", "client", ""));
    std::ofstream(d + "/c-chain.pem") << slurp(d + "/c.pem") << slurp(d + "/ca.pem");
    ASSERT_TRUE(run("openssl pkey -in " + d + "/a.key -aes128 -passout pass:x -out " + d +
                    "/encrypted.key"));
    std::ofstream(d + "/garbage.pem")
        << "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    std::ofstream(d + "/empty.pem") << "";
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }

  static fs::path file(std::string_view name) { return *dir_ / name; }

  static TlsSettings settings(std::string_view name) {
    TlsSettings s;
    s.site = std::string(name);
    s.certificate = file(std::string(name) + ".pem");
    s.private_key = file(std::string(name) + ".key");
    return s;
  }

  static std::shared_ptr<const TlsContext> context(const TlsSettings& s) {
    TlsContext::Result r = TlsContext::create(s);
    EXPECT_EQ(r.error, "");
    return r.context;
  }

  // A listener with `default_site` only.
  static std::shared_ptr<const TlsListenerContext> listener(const TlsSettings& s) {
    auto c = context(s);
    if (!c) return nullptr;
    return std::make_shared<TlsListenerContext>(c);
  }

  // Default "a", bindings for "b.test" (site b) and certificate names of "w".
  static std::shared_ptr<const TlsListenerContext> multi(TlsSettings b_settings = settings("b")) {
    auto a = context(settings("a"));
    auto b = context(b_settings);
    auto w = context(settings("w"));
    if (!a || !b || !w) return nullptr;
    auto l = std::make_shared<TlsListenerContext>(a);
    l->add_host("b.test", b);
    l->add_certificate_names(a);
    l->add_certificate_names(b);
    l->add_certificate_names(w);
    return l;
  }

  static std::string peer_cn(const Client& c) {
    X509* cert = SSL_get0_peer_certificate(c.ssl());
    return cert ? common_name(cert) : "";
  }

  static fs::path* dir_;
};

fs::path* TlsTest::dir_ = nullptr;

// ---------------------------------------------------------------------------------------------
// Handshake, ALPN, versions

TEST_F(TlsTest, HandshakeNegotiatesHttp11) {
  auto l = listener(settings("a"));
  ASSERT_TRUE(l);
  TlsSession server(l);
  Client client({.sni = "a.test", .alpn = {"h2", "http/1.1"}});
  ASSERT_TRUE(handshake(server, client)) << server.error();
  EXPECT_FALSE(server.failed());
  EXPECT_EQ(server.alpn(), "http/1.1");
  EXPECT_EQ(std::string(server.version()), "TLSv1.3");
  EXPECT_EQ(server.server_name(), "a.test");
  EXPECT_FALSE(server.resumed());
  EXPECT_FALSE(server.has_peer_certificate());
  EXPECT_EQ(server.peer_certificate_der(), "");
  EXPECT_EQ(&server.context(), &l->default_context());
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(client.ssl(), &alpn, &alpn_len);
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(alpn), alpn_len), "http/1.1");
}

TEST_F(TlsTest, AlpnWithoutHttp11IsNotAgreedButTheHandshakeSucceeds) {
  auto l = listener(settings("a"));
  ASSERT_TRUE(l);
  {
    TlsSession server(l);
    Client client({.alpn = {"h2"}});
    ASSERT_TRUE(handshake(server, client)) << server.error();
    EXPECT_EQ(server.alpn(), "");
  }
  {
    TlsSession server(l);
    Client client({.alpn = {"http/1.0"}});
    ASSERT_TRUE(handshake(server, client)) << server.error();
    EXPECT_EQ(server.alpn(), "");
  }
  {
    TlsSession server(l);
    Client client({});
    ASSERT_TRUE(handshake(server, client)) << server.error();
    EXPECT_EQ(server.alpn(), "");
    EXPECT_EQ(server.server_name(), "");
  }
}

TEST_F(TlsTest, Tls12WorksWithAnAeadCipher) {
  auto l = listener(settings("a"));
  ASSERT_TRUE(l);
  TlsSession server(l);
  Client client({.max_version = TLS1_2_VERSION});
  ASSERT_TRUE(handshake(server, client)) << server.error();
  EXPECT_EQ(std::string(server.version()), "TLSv1.2");
  std::string cipher = server.cipher();
  EXPECT_TRUE(cipher.starts_with("ECDHE-ECDSA-")) << cipher;
  EXPECT_TRUE(cipher.find("GCM") != std::string::npos || cipher.find("CHACHA") != std::string::npos)
      << cipher;
}

TEST_F(TlsTest, RsaCertificateWorksWithTls12) {
  auto l = listener(settings("b"));
  ASSERT_TRUE(l);
  TlsSession server(l);
  Client client({.max_version = TLS1_2_VERSION});
  ASSERT_TRUE(handshake(server, client)) << server.error();
  EXPECT_TRUE(std::string(server.cipher()).starts_with("ECDHE-RSA-")) << server.cipher();
}

TEST_F(TlsTest, Tls11ClientIsRefused) {
  auto l = listener(settings("a"));
  ASSERT_TRUE(l);
  TlsSession server(l);
  Client client({.min_version = TLS1_1_VERSION, .max_version = TLS1_1_VERSION, .legacy = true});
  EXPECT_FALSE(handshake(server, client));
  EXPECT_TRUE(server.failed());
  EXPECT_EQ(server.error(), "unsupported protocol");
  EXPECT_FALSE(server.handshake_done());
}

TEST_F(TlsTest, MinTlsVersion13RefusesTls12) {
  TlsSettings s = settings("a");
  s.min_version = TlsVersion::kTls13;
  auto l = listener(s);
  ASSERT_TRUE(l);
  {
    TlsSession server(l);
    Client client({.max_version = TLS1_2_VERSION});
    EXPECT_FALSE(handshake(server, client));
    EXPECT_EQ(server.error(), "unsupported protocol");
  }
  {
    TlsSession server(l);
    Client client({});
    ASSERT_TRUE(handshake(server, client)) << server.error();
    EXPECT_EQ(std::string(server.version()), "TLSv1.3");
  }
}

TEST_F(TlsTest, MinTlsVersionFollowsTheSiteSniSelects) {
  TlsSettings b = settings("b");
  b.min_version = TlsVersion::kTls13;
  auto l = multi(b);
  ASSERT_TRUE(l);
  {
    TlsSession server(l);  // default site "a" accepts 1.2
    Client client({.max_version = TLS1_2_VERSION});
    EXPECT_TRUE(handshake(server, client)) << server.error();
  }
  {
    TlsSession server(l);
    Client client({.sni = "b.test", .max_version = TLS1_2_VERSION});
    EXPECT_FALSE(handshake(server, client));
    EXPECT_EQ(server.error(), "unsupported protocol");
  }
}

// ---------------------------------------------------------------------------------------------
// SNI

TEST_F(TlsTest, SniPicksTheCertificate) {
  auto l = multi();
  ASSERT_TRUE(l);
  struct Case {
    std::string sni;
    std::string cn;
    bool matched;
  };
  const Case cases[] = {
      {"a.test", "a.test", true},  {"b.test", "b.test", true},
      {"B.Test.", "b.test", true}, {"www.b.test", "b.test", true},
      {"x.w.test", "wild", true},  {"x.y.w.test", "a.test", false},
      {"w.test", "a.test", false}, {"unknown.test", "a.test", false},
      {"", "a.test", false},
  };
  for (const Case& c : cases) {
    TlsSession server(l);
    Client client({.sni = c.sni});
    ASSERT_TRUE(handshake(server, client)) << c.sni << ": " << server.error();
    EXPECT_EQ(peer_cn(client), c.cn) << c.sni;
    EXPECT_EQ(server.server_name_matched(), c.matched) << c.sni;
    EXPECT_EQ(server.context().settings().site, c.cn == "wild" ? "w" : c.cn.substr(0, 1)) << c.sni;
  }
  TlsSession server(l);
  Client client({.sni = "B.Test"});
  ASSERT_TRUE(handshake(server, client));
  EXPECT_EQ(server.server_name(), "b.test");
}

TEST_F(TlsTest, SelectPrefersBindingHostsThenExactNamesThenWildcards) {
  auto a = context(settings("a"));
  auto b = context(settings("b"));
  auto w = context(settings("w"));
  ASSERT_TRUE(a && b && w);
  TlsListenerContext l(a);
  l.add_host("*", b);
  l.add_host("10.0.0.1", b);
  l.add_host("x.w.test", b);  // a binding host beats the wildcard certificate
  l.add_host("x.w.test", a);  // the first one added keeps the name
  l.add_certificate_names(w);
  l.add_certificate_names(b);
  bool matched = false;
  EXPECT_EQ(&l.select("x.w.test", &matched), b.get());
  EXPECT_TRUE(matched);
  EXPECT_EQ(&l.select("y.w.test", &matched), w.get());
  EXPECT_EQ(&l.select("www.b.test"), b.get());
  EXPECT_EQ(&l.select("*", &matched), a.get());
  EXPECT_FALSE(matched);
  EXPECT_EQ(&l.select("10.0.0.1"), a.get());
  EXPECT_EQ(&l.select(std::string(300, 'x')), a.get());
  EXPECT_EQ(l.contexts().size(), 3u);
  EXPECT_EQ(l.contexts().front(), a.get());
}

TEST_F(TlsTest, CertificateNames) {
  EXPECT_EQ(context(settings("b"))->names(), (std::vector<std::string>{"b.test", "www.b.test"}));
  EXPECT_EQ(context(settings("cn"))->names(), (std::vector<std::string>{"cn-only.test"}));
  auto w = context(settings("w"));
  EXPECT_TRUE(w->covers("a.w.test"));
  EXPECT_FALSE(w->covers("w.test"));
  EXPECT_FALSE(w->covers("a.b.w.test"));
  EXPECT_TRUE(tls_name_matches("a.test", "a.test"));
  EXPECT_FALSE(tls_name_matches("*.", "a."));
  EXPECT_FALSE(tls_name_matches("*.test", ".test"));
}

TEST_F(TlsTest, BuildListenersFromConfig) {
  auto site = [](std::string name, std::vector<Binding> bindings) {
    SiteConfig s;
    s.name = name;
    s.bindings = std::move(bindings);
    if (s.has_https()) {
      s.certificate = file(name + ".pem");
      s.private_key = file(name + ".key");
    }
    return s;
  };
  std::vector<SiteConfig> sites = {
      site("plain", {{"http", "*", 80, false}}),
      site("a", {{"http", "*", 80, false}, {"https", "*", 443, false}}),
      site("b", {{"https", "b.test", 443, false}, {"https", "b.test", 8443, false}}),
  };
  TlsListenersResult r = build_tls_listeners(sites);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.listeners.size(), 2u);
  const TlsListenerContext& p443 = *r.listeners.at(443);
  const TlsListenerContext& p8443 = *r.listeners.at(8443);
  EXPECT_EQ(p443.default_context().settings().site, "a");
  EXPECT_EQ(p443.select("b.test").settings().site, "b");
  EXPECT_EQ(p443.select("a.test").settings().site, "a");
  EXPECT_EQ(p8443.default_context().settings().site, "b");
  EXPECT_EQ(&p8443.default_context(), &p443.select("b.test"));  // one context per site

  sites[2].private_key = file("a.key");
  r = build_tls_listeners(sites);
  EXPECT_TRUE(r.listeners.empty());
  EXPECT_EQ(r.error, "site \"b\": " + file("a.key").string() + ": key does not match certificate " +
                         file("b.pem").string());
}

// ---------------------------------------------------------------------------------------------
// Resumption

SessionPtr first_session(const std::shared_ptr<const TlsListenerContext>& l, ClientOptions o) {
  TlsSession server(l);
  Client client(o);
  EXPECT_TRUE(handshake(server, client)) << server.error();
  // TLS 1.3 tickets arrive after the handshake; the client reads them.
  client.read_all();
  SessionPtr s = client.session();
  EXPECT_TRUE(s && SSL_SESSION_is_resumable(s.get()));
  SSL_shutdown(client.ssl());  // an SSL freed without close_notify spoils its session
  return s;
}

TEST_F(TlsTest, SessionResumesWithATicket) {
  auto l = multi();
  ASSERT_TRUE(l);
  for (std::string sni : {"a.test", "b.test"}) {  // the default site and one SNI selects
    for (int max : {TLS1_3_VERSION, TLS1_2_VERSION}) {
      SessionPtr s = first_session(l, {.sni = sni, .max_version = max});
      ASSERT_TRUE(s);
      TlsSession server(l);
      Client client({.sni = sni, .max_version = max, .session = s.get()});
      ASSERT_TRUE(handshake(server, client)) << server.error();
      EXPECT_TRUE(server.resumed()) << sni << " " << max;
      EXPECT_EQ(SSL_session_reused(client.ssl()), 1) << sni << " " << max;
      EXPECT_EQ(server.context().settings().site, sni.substr(0, 1));
    }
  }
}

TEST_F(TlsTest, SessionOfOneSiteDoesNotResumeOnAnother) {
  auto l = multi();
  ASSERT_TRUE(l);
  for (int max : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SessionPtr s = first_session(l, {.sni = "a.test", .max_version = max});
    ASSERT_TRUE(s);
    TlsSession server(l);
    Client client({.sni = "b.test", .max_version = max, .session = s.get()});
    ASSERT_TRUE(handshake(server, client)) << server.error();
    EXPECT_FALSE(server.resumed()) << max;
    EXPECT_EQ(peer_cn(client), "b.test");
  }
}

// ---------------------------------------------------------------------------------------------
// Client certificates

TlsSettings with_client_certs(TlsSettings s, ClientCertificate mode, fs::path ca) {
  s.client_certificate = mode;
  s.client_ca_file = std::move(ca);
  return s;
}

TEST_F(TlsTest, RequiredClientCertificate) {
  auto l = listener(with_client_certs(settings("a"), ClientCertificate::kRequired, file("ca.pem")));
  ASSERT_TRUE(l);
  for (int max : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    {
      TlsSession server(l);
      Client client({.max_version = max});
      EXPECT_FALSE(handshake(server, client));
      EXPECT_TRUE(server.failed());
      EXPECT_EQ(server.error(), "peer did not return a certificate") << max;
    }
    {
      TlsSession server(l);
      Client client({.max_version = max, .cert = file("rogue.pem"), .key = file("rogue.key")});
      EXPECT_FALSE(handshake(server, client));
      EXPECT_TRUE(server.error().starts_with("certificate verify failed (")) << server.error();
    }
    {
      TlsSession server(l);
      Client client({.max_version = max, .cert = file("client.pem"), .key = file("client.key")});
      ASSERT_TRUE(handshake(server, client)) << server.error();
      ASSERT_TRUE(server.has_peer_certificate());
      X509Ptr want = load_cert(file("client.pem"));
      ASSERT_TRUE(want);
      EXPECT_EQ(server.peer_certificate_der(), der_of(want.get()));
      // PEM is the base64 of the DER in lines of 64 characters.
      std::istringstream pem(slurp(file("client.pem")));
      std::string body;
      for (std::string line; std::getline(pem, line);) {
        if (!line.starts_with("-----")) body += line;
      }
      EXPECT_EQ(server.peer_certificate_base64(), body);
    }
  }
}

TEST_F(TlsTest, OptionalClientCertificate) {
  auto l = listener(with_client_certs(settings("a"), ClientCertificate::kOptional, file("ca.pem")));
  ASSERT_TRUE(l);
  {
    TlsSession server(l);
    Client client({});
    ASSERT_TRUE(handshake(server, client)) << server.error();
    EXPECT_FALSE(server.has_peer_certificate());
    EXPECT_EQ(server.peer_certificate_base64(), "");
  }
  {
    TlsSession server(l);
    Client client({.cert = file("client.pem"), .key = file("client.key")});
    ASSERT_TRUE(handshake(server, client)) << server.error();
    EXPECT_TRUE(server.has_peer_certificate());
  }
  {
    TlsSession server(l);  // a certificate that does not verify is refused
    Client client({.cert = file("rogue.pem"), .key = file("rogue.key")});
    EXPECT_FALSE(handshake(server, client));
  }
}

TEST_F(TlsTest, ClientCertificateModeFollowsTheSiteSniSelects) {
  auto l = multi(with_client_certs(settings("b"), ClientCertificate::kRequired, file("ca.pem")));
  ASSERT_TRUE(l);
  {
    TlsSession server(l);
    Client client({.sni = "a.test"});
    EXPECT_TRUE(handshake(server, client)) << server.error();
  }
  {
    TlsSession server(l);
    Client client({.sni = "b.test"});
    EXPECT_FALSE(handshake(server, client));
    EXPECT_EQ(server.error(), "peer did not return a certificate");
  }
  {
    TlsSession server(l);
    Client client({.sni = "b.test", .cert = file("client.pem"), .key = file("client.key")});
    EXPECT_TRUE(handshake(server, client)) << server.error();
    EXPECT_TRUE(server.has_peer_certificate());
  }
}

// ---------------------------------------------------------------------------------------------
// Data

TEST_F(TlsTest, PlaintextBothWays) {
  auto l = listener(settings("a"));
  ASSERT_TRUE(l);
  TlsSession server(l);
  Client client({});
  ASSERT_TRUE(handshake(server, client));

  client.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
  ASSERT_TRUE(server.feed(client.take()));
  EXPECT_EQ(server_read(server), "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");

  // Small pieces are coalesced into one record: 5 header + 1 type + 16 tag bytes of overhead.
  // A paused reader: part of a record is read, the rest waits in the session.
  client.write("0123456789");
  ASSERT_TRUE(server.feed(client.take()));
  char four[4];
  EXPECT_EQ(server.read_plain(four, sizeof four), 4u);
  EXPECT_TRUE(server.has_buffered_input());
  EXPECT_EQ(server_read(server), "456789");
  EXPECT_FALSE(server.has_buffered_input());

  const std::string_view pieces[] = {"HTTP/1.1 200 OK\r\n", "Content-Length: 2\r\n\r\n", "hi"};
  std::string out;
  server.take_ciphertext(out);  // the session tickets
  ASSERT_TRUE(server.write_plain(pieces));
  EXPECT_EQ(server.ciphertext().size(), 17u + 21u + 2u + 22u);
  server.take_ciphertext(out);
  client.give(out);
  EXPECT_EQ(client.read_all(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
}

TEST_F(TlsTest, OneMegabyteBothWays) {
  auto l = listener(settings("a"));
  ASSERT_TRUE(l);
  TlsSession server(l);
  Client client({.max_version = TLS1_2_VERSION});
  ASSERT_TRUE(handshake(server, client));
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + (i >> 11));

  client.write(big);
  std::string ciphertext = client.take();
  std::string received;
  char buffer[7000];  // not a multiple of the record size
  for (size_t at = 0; at < ciphertext.size(); at += 50000) {
    ASSERT_TRUE(server.feed(std::string_view(ciphertext).substr(at, 50000)));
    EXPECT_TRUE(server.has_buffered_input());
    while (size_t n = server.read_plain(buffer, sizeof buffer)) received.append(buffer, n);
  }
  EXPECT_TRUE(received == big);
  EXPECT_FALSE(server.has_buffered_input());

  std::string half1 = big.substr(0, 300000);
  std::string half2 = big.substr(300000);
  const std::string_view parts[] = {half1, half2};
  ASSERT_TRUE(server.write_plain(parts));
  std::string out;
  server.take_ciphertext(out);
  client.give(out);
  EXPECT_TRUE(client.read_all() == big);
  EXPECT_FALSE(server.has_ciphertext());
}

TEST_F(TlsTest, CiphertextBuffersCycle) {
  auto l = listener(settings("a"));
  ASSERT_TRUE(l);
  TlsSession server(l);
  Client client({});
  ASSERT_TRUE(handshake(server, client));
  std::string mine;
  mine.reserve(100000);
  const char* storage = mine.data();
  ASSERT_TRUE(server.write_plain("x"));
  server.take_ciphertext(mine);  // `mine` now holds the output; its buffer went to the session
  ASSERT_TRUE(server.write_plain(std::string(50000, 'y')));
  std::string other;
  server.take_ciphertext(other);
  EXPECT_EQ(other.data(), storage);  // no new allocation for the second output
  client.give(mine);
  client.give(other);
  EXPECT_EQ(client.read_all(), "x" + std::string(50000, 'y'));
}

TEST_F(TlsTest, WritesBeforeTheHandshakeAreRefused) {
  auto l = listener(settings("a"));
  ASSERT_TRUE(l);
  TlsSession server(l);
  EXPECT_FALSE(server.write_plain("early"));
  EXPECT_FALSE(server.has_ciphertext());
  char buffer[16];
  EXPECT_EQ(server.read_plain(buffer, sizeof buffer), 0u);
  EXPECT_FALSE(server.failed());
}

TEST_F(TlsTest, KeyUpdateIsAnswered) {
  auto l = listener(settings("a"));
  ASSERT_TRUE(l);
  TlsSession server(l);
  Client client({});
  ASSERT_TRUE(handshake(server, client));
  std::string discard;
  server.take_ciphertext(discard);
  ASSERT_EQ(SSL_key_update(client.ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
  client.write("after update");
  ASSERT_TRUE(server.feed(client.take()));
  EXPECT_EQ(server_read(server), "after update");
  ASSERT_TRUE(server.write_plain("reply"));
  server.take_ciphertext(discard);  // the server's own KeyUpdate, then the reply
  client.give(discard);
  EXPECT_EQ(client.read_all(), "reply");
  EXPECT_FALSE(server.failed());
}

TEST_F(TlsTest, ShutdownBothWays) {
  auto l = listener(settings("a"));
  ASSERT_TRUE(l);
  TlsSession server(l);
  Client client({});
  ASSERT_TRUE(handshake(server, client));
  std::string out;
  server.take_ciphertext(out);
  client.give(out);
  client.read_all();

  ASSERT_EQ(SSL_shutdown(client.ssl()), 0);
  ASSERT_TRUE(server.feed(client.take()));
  char buffer[64];
  EXPECT_EQ(server.read_plain(buffer, sizeof buffer), 0u);
  EXPECT_TRUE(server.peer_closed());
  EXPECT_FALSE(server.failed());

  server.shutdown();
  EXPECT_TRUE(server.shutdown_sent());
  EXPECT_TRUE(server.has_ciphertext());
  server.take_ciphertext(out);
  client.give(out);
  bool closed = false;
  client.read_all(&closed);
  EXPECT_TRUE(closed);
  EXPECT_FALSE(server.write_plain("too late"));
  server.shutdown();  // idempotent
  EXPECT_FALSE(server.has_ciphertext());
}

TEST_F(TlsTest, ReleasedBuffersComeBack) {
  auto l = listener(settings("a"));
  ASSERT_TRUE(l);
  TlsSession server(l);
  Client client({});
  ASSERT_TRUE(handshake(server, client));
  std::string out;
  server.take_ciphertext(out);
  client.give(out);
  for (int i = 0; i < 3; ++i) {
    server.release_buffers();
    std::string request = "request " + std::to_string(i);
    client.write(request);
    ASSERT_TRUE(server.feed(client.take()));
    EXPECT_EQ(server_read(server), request);
    ASSERT_TRUE(server.write_plain("response " + std::to_string(i)));
    server.take_ciphertext(out);
    client.give(out);
    EXPECT_EQ(client.read_all(), "response " + std::to_string(i));
  }
}

TEST_F(TlsTest, SessionOutlivesItsListener) {
  auto l = multi();
  ASSERT_TRUE(l);
  TlsSession server(l);
  l.reset();  // a reload replaced the listener's contexts
  Client client({.sni = "b.test"});
  ASSERT_TRUE(handshake(server, client)) << server.error();
  EXPECT_EQ(peer_cn(client), "b.test");
  client.write("still here");
  ASSERT_TRUE(server.feed(client.take()));
  EXPECT_EQ(server_read(server), "still here");
}

// ---------------------------------------------------------------------------------------------
// Hostile input

TEST_F(TlsTest, PlainHttpOnTheTlsPortFails) {
  auto l = listener(settings("a"));
  ASSERT_TRUE(l);
  TlsSession server(l);
  EXPECT_FALSE(server.feed("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"));
  EXPECT_TRUE(server.failed());
  EXPECT_EQ(server.error(), "http request");
  EXPECT_FALSE(server.feed("more"));
  char buffer[16];
  EXPECT_EQ(server.read_plain(buffer, sizeof buffer), 0u);
  EXPECT_FALSE(server.write_plain("x"));
}

TEST_F(TlsTest, GarbageFails) {
  auto l = listener(settings("a"));
  ASSERT_TRUE(l);
  const std::string inputs[] = {
      std::string("\x16\x03\x01\x00\x05hello", 10),  // a handshake record that is not one
      std::string("\x17\x03\x03\x00\x10") + std::string(16, 'x'),  // application data first
      std::string(40, '\xff'),
      std::string("\x16\x03\x01\xff\xff", 5) + std::string(70000, 'z'),  // oversized record
  };
  for (const std::string& input : inputs) {
    TlsSession server(l);
    EXPECT_FALSE(server.feed(input));
    EXPECT_TRUE(server.failed());
    EXPECT_NE(server.error(), "");
  }
}

TEST_F(TlsTest, TruncatedHandshakeWaits) {
  auto l = listener(settings("a"));
  ASSERT_TRUE(l);
  TlsSession server(l);
  Client client({.sni = "a.test"});
  client.step();
  std::string hello = client.take();
  ASSERT_GT(hello.size(), 100u);
  EXPECT_TRUE(server.feed(std::string_view(hello).substr(0, hello.size() / 2)));
  EXPECT_FALSE(server.failed());
  EXPECT_FALSE(server.handshake_done());
  EXPECT_FALSE(server.has_ciphertext());
  EXPECT_TRUE(server.feed(std::string_view(hello).substr(hello.size() / 2)));
  EXPECT_TRUE(server.has_ciphertext());  // ServerHello and the rest
}

TEST_F(TlsTest, CorruptedRecordAfterHandshakeFails) {
  auto l = listener(settings("a"));
  ASSERT_TRUE(l);
  TlsSession server(l);
  Client client({});
  ASSERT_TRUE(handshake(server, client));
  client.write("secret");
  std::string record = client.take();
  record[record.size() - 3] ^= 1;
  ASSERT_TRUE(server.feed(record));
  char buffer[64];
  EXPECT_EQ(server.read_plain(buffer, sizeof buffer), 0u);
  EXPECT_TRUE(server.failed());
  EXPECT_EQ(server.error(), "decryption failed or bad record mac");
  EXPECT_TRUE(server.has_ciphertext());  // the alert
}

// ---------------------------------------------------------------------------------------------
// Context errors

TEST_F(TlsTest, BadFilesGiveClearErrors) {
  struct Case {
    TlsSettings s;
    TlsFile file;
    std::string error;
  };
  auto with = [](std::string cert, std::string key) {
    TlsSettings s;
    s.site = "x";
    s.certificate = file(cert);
    s.private_key = file(key);
    return s;
  };
  const std::string d = dir_->string() + "/";
  const Case cases[] = {
      {with("missing.pem", "a.key"), TlsFile::kCertificate,
       d + "missing.pem: cannot read: No such file or directory"},
      {with("a.key", "a.key"), TlsFile::kCertificate, d + "a.key: no certificate found"},
      {with("empty.pem", "a.key"), TlsFile::kCertificate, d + "empty.pem: no certificate found"},
      {with("a.pem", "missing.key"), TlsFile::kPrivateKey,
       d + "missing.key: cannot read: No such file or directory"},
      {with("a.pem", "a.pem"), TlsFile::kPrivateKey, d + "a.pem: no private key found"},
      {with("a.pem", "b.key"), TlsFile::kPrivateKey,
       d + "b.key: key does not match certificate " + d + "a.pem"},
      {with("a.pem", "w.key"), TlsFile::kPrivateKey,
       d + "w.key: key does not match certificate " + d + "a.pem"},
      {with("a.pem", "encrypted.key"), TlsFile::kPrivateKey,
       d + "encrypted.key: the private key is encrypted; sitehost needs an unencrypted key"},
      {with_client_certs(with("a.pem", "a.key"), ClientCertificate::kRequired, file("empty.pem")),
       TlsFile::kClientCa, d + "empty.pem: no certificate found"},
      {with_client_certs(with("a.pem", "a.key"), ClientCertificate::kOptional, file("nope.pem")),
       TlsFile::kClientCa, d + "nope.pem: cannot read: No such file or directory"},
  };
  for (const Case& c : cases) {
    TlsContext::Result r = TlsContext::create(c.s);
    EXPECT_FALSE(r.context);
    EXPECT_EQ(r.error, c.error);
    EXPECT_EQ(r.file, c.file) << c.error;
  }
  TlsContext::Result r = TlsContext::create(with("garbage.pem", "a.key"));
  EXPECT_EQ(r.file, TlsFile::kCertificate);
  EXPECT_TRUE(r.error.starts_with(d + "garbage.pem: cannot parse the certificate: ")) << r.error;
  EXPECT_EQ(ERR_peek_error(), 0u);  // nothing left in OpenSSL's error queue
}

TEST_F(TlsTest, ChainIsSent) {
  TlsSettings s = settings("c");
  s.certificate = file("c-chain.pem");
  auto l = listener(s);
  ASSERT_TRUE(l);
  TlsSession server(l);
  Client client({.sni = "c.test", .trust = file("ca.pem")});
  ASSERT_TRUE(handshake(server, client)) << server.error();
  EXPECT_EQ(SSL_get_verify_result(client.ssl()), X509_V_OK);
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(client.ssl());
  ASSERT_NE(chain, nullptr);
  EXPECT_EQ(sk_X509_num(chain), 2);
}

// ---------------------------------------------------------------------------------------------
// ALPN and HTTP/2: "h2" is offered per TLS context, i.e. per site as SNI picks it

// The protocol `server` and the client agreed on for a client offering `alpn` with `sni`.
std::string agreed(const std::shared_ptr<const TlsListenerContext>& l, std::string sni,
                   std::vector<std::string> alpn) {
  TlsSession server(l);
  Client client({.sni = std::move(sni), .alpn = std::move(alpn)});
  if (!handshake(server, client)) return "handshake failed: " + server.error();
  const unsigned char* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(client.ssl(), &data, &len);
  std::string theirs(reinterpret_cast<const char*>(data), len);
  EXPECT_EQ(server.alpn(), theirs);  // both sides saw the same choice
  return theirs;
}

TEST_F(TlsTest, Http2OffersH2FirstThenHttp11) {
  TlsSettings on = settings("a");
  on.http2 = true;
  auto l = listener(on);
  ASSERT_TRUE(l);
  EXPECT_EQ(agreed(l, "a.test", {"h2", "http/1.1"}), "h2");
  EXPECT_EQ(agreed(l, "a.test", {"http/1.1", "h2"}), "h2");  // the server's preference
  EXPECT_EQ(agreed(l, "a.test", {"h2"}), "h2");
  EXPECT_EQ(agreed(l, "a.test", {"http/1.1"}), "http/1.1");
  EXPECT_EQ(agreed(l, "a.test", {"h3", "spdy/3"}), "");  // nothing in common: no ALPN
  EXPECT_EQ(agreed(l, "", {}), "");
}

TEST_F(TlsTest, Http2OffIsHttp11Only) {
  TlsSettings off = settings("a");
  EXPECT_FALSE(off.http2);  // a bare TlsSettings is HTTP/1.1 only
  auto l = listener(off);
  ASSERT_TRUE(l);
  EXPECT_EQ(agreed(l, "a.test", {"h2", "http/1.1"}), "http/1.1");
  EXPECT_EQ(agreed(l, "a.test", {"h2"}), "");
}

TEST_F(TlsTest, Http2FollowsTheSiteSniSelects) {
  // Default site "a" with h2, site "b" (binding host) without, "w" (certificate names) with.
  for (bool default_h2 : {true, false}) {
    TlsSettings a = settings("a"), b = settings("b"), w = settings("w");
    a.http2 = default_h2;
    b.http2 = !default_h2;
    w.http2 = true;
    auto ca = context(a), cb = context(b), cw = context(w);
    ASSERT_TRUE(ca && cb && cw);
    auto l = std::make_shared<TlsListenerContext>(ca);
    l->add_host("b.test", cb);
    l->add_certificate_names(cw);
    const std::vector<std::string> offer = {"h2", "http/1.1"};
    const std::string on_default = default_h2 ? "h2" : "http/1.1";
    const std::string on_b = default_h2 ? "http/1.1" : "h2";
    EXPECT_EQ(agreed(l, "a.test", offer), on_default) << default_h2;
    EXPECT_EQ(agreed(l, "b.test", offer), on_b) << default_h2;
    EXPECT_EQ(agreed(l, "x.w.test", offer), "h2") << default_h2;
    // No SNI, or a name no site has: the port's default site decides.
    EXPECT_EQ(agreed(l, "", offer), on_default) << default_h2;
    EXPECT_EQ(agreed(l, "unknown.test", offer), on_default) << default_h2;
    // What a connection checks before serving a request for another host over h2 (else 421).
    TlsSession session(l);
    EXPECT_EQ(session.listener().select("b.test").settings().http2, !default_h2);
    EXPECT_EQ(session.listener().select("a.test").settings().http2, default_h2);
  }
}

TEST_F(TlsTest, Http2FromTheSiteConfig) {
  SiteConfig site;
  site.name = "a";
  site.bindings = {{"https", "a.test", 443, false}};
  site.certificate = file("a.pem");
  site.private_key = file("a.key");
  EXPECT_TRUE(tls_settings(site).http2);  // SiteConfig's default: on
  site.http2 = false;
  EXPECT_FALSE(tls_settings(site).http2);
  // Two sites on one port: each keeps its own ALPN answer.
  SiteConfig b = site;
  b.name = "b";
  b.bindings = {{"https", "b.test", 443, false}};
  b.certificate = file("b.pem");
  b.private_key = file("b.key");
  b.http2 = true;
  TlsListenersResult r = build_tls_listeners({site, b});
  ASSERT_EQ(r.error, "");
  auto l = r.listeners.at(443);
  EXPECT_EQ(agreed(l, "a.test", {"h2", "http/1.1"}), "http/1.1");
  EXPECT_EQ(agreed(l, "b.test", {"h2", "http/1.1"}), "h2");
}

TEST_F(TlsTest, Http2AfterResumption) {
  // A resumed session negotiates ALPN again, with the context it resumes on.
  TlsSettings on = settings("a");
  on.http2 = true;
  auto l = listener(on);
  ASSERT_TRUE(l);
  for (int max : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SessionPtr s =
        first_session(l, {.sni = "a.test", .alpn = {"h2", "http/1.1"}, .max_version = max});
    ASSERT_TRUE(s);
    TlsSession server(l);
    Client client(
        {.sni = "a.test", .alpn = {"h2", "http/1.1"}, .max_version = max, .session = s.get()});
    ASSERT_TRUE(handshake(server, client)) << server.error();
    EXPECT_TRUE(server.resumed()) << max;
    EXPECT_EQ(server.alpn(), "h2") << max;
  }
}

}  // namespace
}  // namespace sitehost
