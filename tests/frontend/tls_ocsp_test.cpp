// OCSP stapling (`ocsp_response`): a response made with the openssl CLI (a throw-away CA and
// responder in a temporary folder) is stapled for clients that ask (`s_client -status`), and a
// wrong file is a config error naming the key, the file and the reason.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/harness.h"
#include "tests/support/site_config.h"

namespace sitehost::test {
namespace {

constexpr const char* kOpenssl = "/usr/bin/openssl";

class TlsOcsp : public ::testing::Test {
 protected:
  void SetUp() override {
    // CA, a leaf for a.test signed by it, the chain file, and a "good" OCSP response for the leaf.
    ASSERT_TRUE(
        openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test CA"}));
    ASSERT_TRUE(openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                         "-keyout", "a.key", "-out", "a.csr", "-subj", "/CN=a.test"}));
    dir_.write("ext.cnf", "subjectAltName=DNS:a.test\n");
    ASSERT_TRUE(openssl({"x509", "-req", "-in", "a.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                         "-CAcreateserial", "-out", "a.pem", "-days", "1", "-extfile", "ext.cnf"}));
    dir_.write("chain.pem", read_file(dir_ / "a.pem") + read_file(dir_ / "ca.pem"));
    std::string serial = tool({kOpenssl, "x509", "-in", "a.pem", "-noout", "-serial"}).output;
    serial = serial.substr(serial.find('=') + 1);
    serial.erase(serial.find_last_not_of("\r\n") + 1);
    // The responder's database: one valid certificate (expiry far enough ahead).
    dir_.write("index.txt", "V\t991231235959Z\t\t" + serial + "\tunknown\t/CN=a.test\n");
    ASSERT_TRUE(openssl(
        {"ocsp", "-issuer", "ca.pem", "-cert", "a.pem", "-no_nonce", "-reqout", "req.der"}));
    ASSERT_TRUE(
        openssl({"ocsp", "-index", "index.txt", "-rsigner", "ca.pem", "-rkey", "ca.key", "-CA",
                 "ca.pem", "-reqin", "req.der", "-respout", "resp.der", "-ndays", "1"}));
    port_ = free_port();
  }

  ProgramResult tool(const std::vector<std::string>& argv, Ms timeout = 20s) {
    // openssl writes relative paths against its working directory: run it in the test's folder.
    std::vector<std::string> in_dir{"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"",
                                    dir_.path().string()};
    in_dir.insert(in_dir.end(), argv.begin(), argv.end());
    return run_program(in_dir, dir_ / ("tool-" + std::to_string(++runs_) + ".out"), timeout);
  }
  bool openssl(std::vector<std::string> args) {
    args.insert(args.begin(), kOpenssl);
    ProgramResult r = tool(args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.exit_code == 0;
  }

  std::string config(const std::string& certificate, const std::string& ocsp_response) {
    SiteSpec s;
    s.name = "a";
    s.bindings = {"https://127.0.0.1:" + std::to_string(port_)};
    s.keys["handler"] = toml_string((apps_dir() / "hello.so").string());
    s.keys["certificate"] = toml_string((dir_ / certificate).string());
    s.keys["private_key"] = toml_string((dir_ / "a.key").string());
    s.keys["ocsp_response"] = toml_string((dir_ / ocsp_response).string());
    ConfigBuilder b(dir_, port_);
    b.server("admin", "\"off\"");
    b.site(s);
    return b.str();
  }

  // `sitehost --check` on a config: exit code and output.
  ProgramResult check(const std::string& text) {
    dir_.write("check.toml", text);
    return run_program(
        {sitehost_binary().string(), "--check", "-c", (dir_ / "check.toml").string()},
        dir_ / "check.out");
  }

  TempDir dir_;
  uint16_t port_ = 0;
  int runs_ = 0;
};

TEST_F(TlsOcsp, StapledForClientsThatAsk) {
  Sitehost server(dir_, config("chain.pem", "resp.der"));
  ASSERT_TRUE(server.wait_listening(port_)) << server.log();
  std::string connect = "127.0.0.1:" + std::to_string(port_);
  ProgramResult asked =
      tool({kOpenssl, "s_client", "-connect", connect, "-servername", "a.test", "-status"}, 20s);
  EXPECT_NE(asked.output.find("OCSP Response Status: successful"), std::string::npos)
      << asked.output;
  EXPECT_NE(asked.output.find("Cert Status: good"), std::string::npos) << asked.output;
  ProgramResult plain =
      tool({kOpenssl, "s_client", "-connect", connect, "-servername", "a.test"}, 20s);
  EXPECT_NE(plain.output.find("CONNECTED"), std::string::npos) << plain.output;
  EXPECT_EQ(plain.output.find("OCSP Response Status"), std::string::npos) << plain.output;
  EXPECT_EQ(server.stop(), 0) << server.log();
}

TEST_F(TlsOcsp, BadResponseFilesAreConfigErrors) {
  ASSERT_EQ(check(config("chain.pem", "resp.der")).exit_code, 0);

  dir_.write("junk.der", "not an OCSP response");
  ProgramResult junk = check(config("chain.pem", "junk.der"));
  EXPECT_EQ(junk.exit_code, 1);
  EXPECT_NE(junk.output.find("ocsp_response: " + (dir_ / "junk.der").string() +
                             ": not a DER OCSP response"),
            std::string::npos)
      << junk.output;

  // The leaf alone: the issuer the response is checked against is missing.
  ProgramResult no_chain = check(config("a.pem", "resp.der"));
  EXPECT_EQ(no_chain.exit_code, 1);
  EXPECT_NE(no_chain.output.find("needs the certificate's issuer"), std::string::npos)
      << no_chain.output;

  ProgramResult missing = check(config("chain.pem", "nowhere.der"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("nowhere.der"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace sitehost::test
