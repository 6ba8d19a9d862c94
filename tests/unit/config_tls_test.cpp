// The TLS keys of the config file: https bindings, certificate files read and checked at load,
// client certificates, redirect_to_https. Certificates come from the openssl CLI.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "shared/config/config_loader.h"

namespace sitehost {
namespace {

namespace fs = std::filesystem;

// Sites a and b on https://a.test:443 with the same certificate; site b last, so keys appended to
// the text are b's.
constexpr const char* kTwoSitesOnOneHttpsHost = R"(
[[site]]
name = "a"
bindings = ["https://a.test:443"]
physical_path = "app"
hosting_model = "inprocess"
handler = "h"
certificate = "tls/a.pem"
private_key = "tls/a.key"

[[site]]
name = "b"
bindings = ["https://a.test:443"]
path = "/b"
physical_path = "app"
hosting_model = "inprocess"
handler = "h"
certificate = "tls/a.pem"
private_key = "tls/a.key"
)";

class ConfigTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "sitehost-config-tls-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = new fs::path(pattern);
    fs::create_directories(*dir_ / "app");
    fs::create_directories(*dir_ / "tls");
    const std::string tls = (*dir_ / "tls").string();
    auto make = [&](const std::string& name, const std::string& cn, const std::string& san) {
      std::string command =
          "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
          "-subj '/CN=" +
          cn + "'" + (san.empty() ? "" : " -addext 'subjectAltName=" + san + "'") + " -keyout " +
          tls + "/" + name + ".key -out " + tls + "/" + name + ".pem >/dev/null 2>&1";
      return std::system(command.c_str()) == 0;
    };
    ASSERT_TRUE(make("a", "a.test", "DNS:a.test,DNS:*.a.test"));
    ASSERT_TRUE(make("b", "b.test", "DNS:b.test"));
    ASSERT_TRUE(make("ca", "Test CA", ""));
    std::ofstream(tls + "/empty.pem") << "";
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }

  std::string file_ = (*dir_ / "sitehost.toml").string();

  LoadResult parse(std::string_view text) {
    if (text.starts_with('\n')) text.remove_prefix(1);
    return parse_config(text, file_);
  }
  Config ok(std::string_view text) {
    LoadResult r = parse(text);
    EXPECT_EQ(r.error, "");
    EXPECT_TRUE(r.config.has_value());
    return r.config ? *r.config : Config{};
  }
  std::string error(std::string_view text) {
    LoadResult r = parse(text);
    EXPECT_FALSE(r.config.has_value());
    return r.error;
  }
  std::string at(int line, std::string_view key, std::string_view message) {
    return file_ + ":" + std::to_string(line) + ": " + std::string(key) + ": " +
           std::string(message);
  }
  static std::string tls(std::string_view name) { return (*dir_ / "tls" / name).string(); }

  static fs::path* dir_;
};

fs::path* ConfigTlsTest::dir_ = nullptr;

// An https site as lines 1-8; TLS keys added from line 9.
constexpr std::string_view kHttpsSite = R"(
[[site]]
name = "a"
bindings = ["https://a.test:8443"]
physical_path = "app"
hosting_model = "inprocess"
handler = "h"
certificate = "tls/a.pem"
private_key = "tls/a.key"
)";

// A plain-http site as lines 1-6.
constexpr std::string_view kHttpSite = R"(
[[site]]
name = "p"
bindings = ["http://*:8080"]
physical_path = "app"
hosting_model = "outofprocess"
process_path = "bin/app"
)";

std::string with(std::string_view base, std::string_view extra) {
  return std::string(base) + std::string(extra);
}

TEST_F(ConfigTlsTest, HttpsSiteWithEveryKey) {
  Config c = ok(R"(
[[site]]
name = "a"
bindings = ["http://*:8080", "HTTPS://A.test:8443/", "https://[::1]:8444"]
physical_path = "app"
hosting_model = "inprocess"
handler = "h"
certificate = "tls/a.pem"
private_key = "tls/../tls/a.key"
min_tls_version = "1.3"
client_certificate = "Required"
client_ca_file = "tls/ca.pem"
redirect_to_https = true
)");
  ASSERT_EQ(c.sites.size(), 1u);
  const SiteConfig& s = c.sites[0];
  EXPECT_EQ(s.bindings, (std::vector<Binding>{{"http", "*", 8080, false},
                                              {"https", "a.test", 8443, false},
                                              {"https", "::1", 8444, true}}));
  EXPECT_TRUE(s.has_https());
  EXPECT_EQ(s.certificate, fs::path(tls("a.pem")));
  EXPECT_EQ(s.private_key, fs::path(tls("a.key")));
  EXPECT_EQ(s.min_tls_version, TlsVersion::kTls13);
  EXPECT_EQ(s.client_certificate, ClientCertificate::kRequired);
  EXPECT_EQ(s.client_ca_file, fs::path(tls("ca.pem")));
  EXPECT_TRUE(s.redirect_to_https);
  EXPECT_EQ(c.warnings, std::vector<std::string>{});
}

TEST_F(ConfigTlsTest, Defaults) {
  Config c = ok(kHttpsSite);
  const SiteConfig& s = c.sites.at(0);
  EXPECT_EQ(s.min_tls_version, TlsVersion::kTls12);
  EXPECT_EQ(s.client_certificate, ClientCertificate::kOff);
  EXPECT_TRUE(s.client_ca_file.empty());
  EXPECT_FALSE(s.redirect_to_https);
  EXPECT_EQ(std::string(to_string(TlsVersion::kTls12)), "1.2");
  EXPECT_EQ(std::string(to_string(ClientCertificate::kOptional)), "optional");
  EXPECT_FALSE(ok(kHttpSite).sites.at(0).has_https());
}

TEST_F(ConfigTlsTest, CertificateAndKeyAreRequiredForHttps) {
  EXPECT_EQ(
      error(R"(
[[site]]
name = "a"
bindings = ["https://*:443"]
physical_path = "app"
hosting_model = "inprocess"
handler = "h"
private_key = "tls/a.key"
)"),
      at(1, "site \"a\".certificate", "required for sites with an https binding but missing"));
  EXPECT_EQ(
      error(R"(
[[site]]
name = "a"
bindings = ["https://*:443"]
physical_path = "app"
hosting_model = "inprocess"
handler = "h"
certificate = "tls/a.pem"
)"),
      at(1, "site \"a\".private_key", "required for sites with an https binding but missing"));
}

TEST_F(ConfigTlsTest, TlsKeysWithoutHttpsWarn) {
  Config c = ok(with(kHttpSite, R"(certificate = "tls/a.pem"
private_key = "nonexistent"
min_tls_version = "9"
client_certificate = "required"
client_ca_file = "tls/ca.pem"
)"));
  const std::string why = "applies only to sites with an https binding; ignored";
  EXPECT_EQ(c.warnings, (std::vector<std::string>{
                            at(7, "site \"p\".certificate", why),
                            at(8, "site \"p\".private_key", why),
                            at(9, "site \"p\".min_tls_version", why),
                            at(10, "site \"p\".client_certificate", why),
                            at(11, "site \"p\".client_ca_file", why),
                        }));
  const SiteConfig& s = c.sites.at(0);
  EXPECT_TRUE(s.certificate.empty());
  EXPECT_TRUE(s.private_key.empty());
  EXPECT_EQ(s.client_certificate, ClientCertificate::kOff);
  EXPECT_TRUE(s.client_ca_file.empty());
}

TEST_F(ConfigTlsTest, RedirectToHttpsNeedsAnHttpsBinding) {
  EXPECT_EQ(
      error(with(kHttpSite, "redirect_to_https = true\n")),
      at(7, "site \"p\".redirect_to_https", "requires an https binding in this site's bindings"));
  EXPECT_FALSE(ok(with(kHttpSite, "redirect_to_https = false\n")).sites.at(0).redirect_to_https);
  EXPECT_EQ(
      error(with(kHttpsSite, "redirect_to_https = \"yes\"\n")),
      at(9, "site \"a\".redirect_to_https", "expected a boolean (true or false), got \"yes\""));
}

TEST_F(ConfigTlsTest, BadValues) {
  const std::pair<std::string, std::string> cases[] = {
      {"min_tls_version = 1.2", "expected \"1.2\" or \"1.3\" (a string), got 1.2"},
      {"min_tls_version = \"1.1\"", "expected \"1.2\" or \"1.3\", got \"1.1\""},
      {"min_tls_version = \"TLSv1.2\"", "expected \"1.2\" or \"1.3\", got \"TLSv1.2\""},
      {"client_certificate = \"maybe\"",
       "expected \"off\", \"optional\" or \"required\", got \"maybe\""},
      {"client_certificate = true", "expected a string, got true"},
      {"client_ca_file = \"\"", "must not be empty"},
  };
  for (const auto& [line, message] : cases) {
    std::string key = line.substr(0, line.find(' '));
    EXPECT_EQ(error(with(kHttpsSite, line + "\n")), at(9, "site \"a\"." + key, message)) << line;
  }
}

TEST_F(ConfigTlsTest, ClientCaFile) {
  EXPECT_EQ(error(with(kHttpsSite, "client_certificate = \"optional\"\n")),
            at(1, "site \"a\".client_ca_file",
               "required when client_certificate is \"optional\" but missing"));
  Config c = ok(with(kHttpsSite, "client_ca_file = \"tls/ca.pem\"\n"));
  EXPECT_EQ(c.warnings, std::vector<std::string>{at(9, "site \"a\".client_ca_file",
                                                    "client_certificate is \"off\"; ignored")});
  EXPECT_TRUE(c.sites.at(0).client_ca_file.empty());
  EXPECT_EQ(error(with(kHttpsSite,
                       "client_certificate = \"required\"\n"
                       "client_ca_file = \"tls/empty.pem\"\n")),
            at(10, "site \"a\".client_ca_file", tls("empty.pem") + ": no certificate found"));
  // A rejected client_ca_file is reported as such, not as missing.
  EXPECT_EQ(error(with(kHttpsSite, "client_certificate = \"required\"\nclient_ca_file = 1\n")),
            at(10, "site \"a\".client_ca_file", "expected a string, got 1"));
}

TEST_F(ConfigTlsTest, CertificateFilesAreChecked) {
  auto site = [](std::string_view cert, std::string_view key) {
    return std::string(R"([[site]]
name = "a"
bindings = ["https://a.test:8443"]
physical_path = "app"
hosting_model = "inprocess"
handler = "h"
certificate = ")") +
           std::string(cert) + "\"\nprivate_key = \"" + std::string(key) + "\"\n";
  };
  EXPECT_EQ(error(site("tls/missing.pem", "tls/a.key")),
            at(7, "site \"a\".certificate",
               tls("missing.pem") + ": cannot read: No such file or directory"));
  EXPECT_EQ(error(site("tls/a.key", "tls/a.key")),
            at(7, "site \"a\".certificate", tls("a.key") + ": no certificate found"));
  EXPECT_EQ(error(site("tls/a.pem", "tls/b.key")),
            at(8, "site \"a\".private_key",
               tls("b.key") + ": key does not match certificate " + tls("a.pem")));
  EXPECT_EQ(error(site("tls/a.pem", "tls/a.pem")),
            at(8, "site \"a\".private_key", tls("a.pem") + ": no private key found"));
  // An absolute path is used as it is.
  EXPECT_EQ(ok(site(tls("a.pem"), tls("a.key"))).sites.at(0).certificate, fs::path(tls("a.pem")));
}

TEST_F(ConfigTlsTest, APortServesOneScheme) {
  EXPECT_EQ(error(with(kHttpSite, R"(
[[site]]
name = "a"
bindings = ["https://a.test:8080"]
physical_path = "app"
hosting_model = "inprocess"
handler = "h"
certificate = "tls/a.pem"
private_key = "tls/a.key"
)")),
            at(10, "site \"a\".bindings[0]",
               "port 8080 already serves http (site \"p\"); a port serves either http or https, "
               "not both"));
  EXPECT_EQ(error(R"(
[[site]]
name = "a"
bindings = ["https://*:1", "http://*:1"]
physical_path = "app"
hosting_model = "inprocess"
handler = "h"
certificate = "tls/a.pem"
private_key = "tls/a.key"
)"),
            at(3, "site \"a\".bindings[1]",
               "port 1 already serves https (site \"a\"); a port serves either http or https, "
               "not both"));
}

TEST_F(ConfigTlsTest, CertificateThatDoesNotCoverABindingWarns) {
  Config c = ok(R"(
[[site]]
name = "a"
bindings = ["https://x.a.test:443", "https://other.test:443", "https://*:8443",
  "https://10.0.0.1:443"]
physical_path = "app"
hosting_model = "inprocess"
handler = "h"
certificate = "tls/a.pem"
private_key = "tls/a.key"
)");
  EXPECT_EQ(c.warnings,
            std::vector<std::string>{
                at(3, "site \"a\".bindings[1]",
                   "certificate \"" + tls("a.pem") +
                       "\" is not valid for \"other.test\" (it names \"a.test\", \"*.a.test\")")});
}

TEST_F(ConfigTlsTest, SitesSharingAnHttpsHostWithOtherSettingsWarn) {
  const std::string text = kTwoSitesOnOneHttpsHost;
  EXPECT_EQ(ok(text).warnings, std::vector<std::string>{});  // the same settings
  Config c = ok(text + "client_certificate = \"optional\"\nclient_ca_file = \"tls/ca.pem\"\n");
  EXPECT_EQ(c.warnings, std::vector<std::string>{at(
                            12, "site \"b\".bindings[0]",
                            "site \"a\" already answers https://a.test:443 with other TLS "
                            "settings; TLS connections to that host use the settings of \"a\"")});
}

TEST_F(ConfigTlsTest, LoadConfigResolvesAgainstTheFilesFolder) {
  std::ofstream(file_) << kHttpsSite.substr(1);
  LoadResult r = load_config(file_);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.config->sites.at(0).private_key, fs::path(tls("a.key")));
  fs::remove(file_);
}

// ---------------------------------------------------------------------------------------------
// HTTP/2 keys: http2 (ALPN "h2" on https bindings) and h2c (prior knowledge on http bindings)

TEST_F(ConfigTlsTest, Http2KeysDefaultsAndValues) {
  const SiteConfig d = ok(kHttpsSite).sites.at(0);
  EXPECT_TRUE(d.http2);
  EXPECT_FALSE(d.h2c);
  Config c = ok(R"(
[[site]]
name = "a"
bindings = ["http://*:8080", "https://a.test:8443"]
physical_path = "app"
hosting_model = "inprocess"
handler = "h"
certificate = "tls/a.pem"
private_key = "tls/a.key"
http2 = false
h2c = true
)");
  EXPECT_EQ(c.warnings, std::vector<std::string>{});
  EXPECT_FALSE(c.sites.at(0).http2);
  EXPECT_TRUE(c.sites.at(0).h2c);
  EXPECT_TRUE(ok(with(kHttpSite, "h2c = true\n")).sites.at(0).h2c);
  EXPECT_TRUE(ok(with(kHttpsSite, "http2 = true\n")).sites.at(0).http2);
}

TEST_F(ConfigTlsTest, Http2KeysAreBooleans) {
  EXPECT_EQ(error(with(kHttpsSite, "http2 = \"yes\"\n")),
            at(9, "site \"a\".http2", "expected a boolean (true or false), got \"yes\""));
  EXPECT_EQ(error(with(kHttpSite, "h2c = 1\n")),
            at(7, "site \"p\".h2c", "expected a boolean (true or false), got 1"));
}

TEST_F(ConfigTlsTest, Http2KeysWithoutTheirSchemeWarn) {
  // http2 is about https bindings, h2c about http bindings: elsewhere they mean nothing.
  Config plain = ok(with(kHttpSite, "http2 = \"not even valid\"\n"));
  EXPECT_EQ(plain.warnings,
            std::vector<std::string>{
                at(7, "site \"p\".http2", "applies only to sites with an https binding; ignored")});
  EXPECT_TRUE(plain.sites.at(0).http2);
  Config tls = ok(with(kHttpsSite, "h2c = true\n"));
  EXPECT_EQ(tls.warnings,
            std::vector<std::string>{
                at(9, "site \"a\".h2c", "applies only to sites with an http binding; ignored")});
  EXPECT_FALSE(tls.sites.at(0).h2c);
}

TEST_F(ConfigTlsTest, SitesSharingAnHttpsHostWithOtherHttp2Warn) {
  // ALPN is decided by the TLS context the host name picks: the first site's.
  const std::string text = std::string(kTwoSitesOnOneHttpsHost) + "http2 = false\n";
  EXPECT_EQ(ok(text).warnings, std::vector<std::string>{
                                   at(12, "site \"b\".bindings[0]",
                                      "site \"a\" already answers https://a.test:443 with other "
                                      "TLS settings; TLS connections to that host use the settings "
                                      "of \"a\"")});
}

}  // namespace
}  // namespace sitehost
