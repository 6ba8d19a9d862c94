// The integration matrix: every behaviour the hosting models share is one TEST_P, run in every
// variant (in-process / out-of-process / out-of-process with ASP.NET Core, http / https,
// in-process with thread-pool dispatch, in-process / out-of-process over HTTP/2 (h2 by ALPN over
// TLS, and h2c); each with event_loops = 1 and = 2).
// A test names the sample app it needs (App), calls start(), and talks to the site through
// request() (any variant), connect() (HTTP/1.1 variants) or h2() (HTTP/2 variants), which use the
// variant's transport. See docs/testing.md.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "tests/support/h2_client.h"
#include "tests/support/harness.h"
#include "tests/support/load.h"

namespace sitehost::test {

// kAspNetCore: out-of-process with the published ASP.NET Core SiteApp (Kestrel) as the child
// instead of sitehost-app (tests/apps/aspnetcore, tests/matrix/aspnetcore_site.h).
enum class Model { kInProcess, kOutOfProcess, kAspNetCore };

struct Variant {
  Model model = Model::kInProcess;
  bool https = false;
  bool thread_pool = false;  // in-process with allow_synchronous_io = true (worker-pool dispatch)
  int loops = 1;             // [server] event_loops of the server
  // The client speaks HTTP/2: with https, h2 by ALPN (the site's `http2`, on by default); without,
  // h2c with prior knowledge (the site gets `h2c = true`). The https variants without it offer
  // only http/1.1 and so stay HTTP/1.1.
  bool h2 = false;

  bool in_process() const { return model == Model::kInProcess; }
  bool aspnetcore() const { return model == Model::kAspNetCore; }
  // "InProcess_Http_1loop", "InProcess_Https_2loops", "OutOfProcess_Http_1loop",
  // "ThreadPool_Http_2loops", "AspNetCore_Https_1loop", "InProcess_H2_1loop" (TLS),
  // "OutOfProcess_H2c_2loops", ...: the test name's suffix. tools/matrix
  // makes a column of each name without its loops part and shows both loop counts in that column's
  // cells.
  std::string name() const;
};

// Every variant, in the order of the table's columns, each with 1 and with 2 event loops.
std::vector<Variant> all_variants();
std::string variant_name(const ::testing::TestParamInfo<Variant>& info);
void PrintTo(const Variant& v, std::ostream* os);

// What a test runs: one site with one sample app.
struct App {
  // "hello" → tests/apps/hello.so, or an app of tests/matrix/apps. The AspNetCore variant runs
  // SiteApp with SITEAPP_SAMPLE=library instead (aspnetcore_site.h).
  std::string library;
  std::string path = "/";
  std::map<std::string, std::string> environment = {};
  std::map<std::string, std::string> site_keys = {};  // more [[site]] keys, values as TOML literals
  std::map<std::string, std::string> server_keys = {};  // more [server] keys
  // OutOfProcess only: run this program instead of `sitehost-app <library>` (argv, with the
  // site's folder as working directory). The AspNetCore variant fails a test that sets it: skip
  // such a test there.
  std::vector<std::string> child_command = {};
};

// The built library of a sample app; fails the test (and returns nullopt) when it is not built.
std::optional<std::filesystem::path> app_library(const std::string& name);

class Matrix : public ::testing::TestWithParam<Variant> {
 protected:
  // The AspNetCore variant skips every test when dotnet is not on PATH (SITEHOST_NEEDS_ASPNETCORE).
  void SetUp() override;
  void TearDown() override;

  const Variant& variant() const { return GetParam(); }

  // Deploys `app.library` into the site's folder as app.so and starts sitehost with one site
  // running it in this variant (in-process: handler = app.so; out-of-process: sitehost-app
  // app.so; AspNetCore: SiteApp published into the folder, `dotnet SiteApp.dll`), then waits
  // until it listens. Use with ASSERT_NO_FATAL_FAILURE.
  void start(const App& app);
  // Replaces the deployed app.so by another library with a rename, as deploy tools do
  // (AspNetCore: publishes the SiteApp build of `library` over the folder, file by file).
  void deploy(const std::string& library) const;

  // An HTTP/1.1 connection over the variant's transport (plain TCP or TLS with SNI "localhost").
  // In an HTTP/2 variant it fails the test: branch on variant().h2 (use h2()) or mark it n/a.
  std::unique_ptr<Client> connect(Ms timeout = 5s) const;
  // HTTP/2 variants: a connection (TLS with ALPN h2, or h2c); fails the test and returns nullptr
  // when it cannot connect.
  std::unique_ptr<H2Client> h2(Ms timeout = 5s) const;
  H2Options h2_options(Ms timeout) const;  // the variant's: TLS with ALPN h2, or h2c
  // A header name as the app sees it in this variant (HTTP/2 has only lowercase names).
  std::string field_name(const std::string& name) const;
  // One request on a fresh connection (Host: localhost, Connection: close; in an HTTP/2 variant
  // one stream, header names lowercased, the response's http_version "HTTP/2"); nullopt on
  // failure. `headers` are "Name: value" lines.
  std::optional<Response> request(const std::string& method, const std::string& target,
                                  const std::string& body = {},
                                  const std::vector<std::string>& headers = {},
                                  Ms timeout = 5s) const;
  // KeepAliveLoad's connection per thread for the variant: `GET target` in a loop on one
  // keep-alive HTTP/1.1 connection, or one HTTP/2 connection (a stream each).
  KeepAliveLoad::Session load_session(const std::string& target) const;
  int status_of(const std::string& target) const {
    auto r = request("GET", target);
    return r ? r->status : -1;
  }

  std::string log() const { return server ? server->log() : std::string(); }
  // Stops sitehost (SIGTERM), expects exit 0 and no child process left behind.
  void stop_server();

  TempDir dir;
  std::filesystem::path site_dir = dir / "site";
  uint16_t port = 0;
  std::optional<Sitehost> server;
};

// An HTTP/2 request for the matrix's sites (:authority localhost).
H2Request h2_get(const std::string& path);
H2Request h2_post(const std::string& path, const std::string& body = {});

// Deterministic bytes for byte-exact body checks.
std::string test_bytes(size_t n, unsigned seed = 1);
// The pattern of matrix_app's /chunked and /download bodies.
std::string matrix_app_pattern(size_t n);
// A request with a chunked body, one chunk per element of `chunks`.
std::string chunked_request(const std::string& target, const std::vector<std::string>& chunks,
                            const std::string& more_headers = {});

}  // namespace sitehost::test

// A TEST_P that runs in every variant of `suite` (a Matrix subclass or Matrix itself).
#define SITEHOST_MATRIX_SUITE(suite)                                                             \
  INSTANTIATE_TEST_SUITE_P(Matrix, suite, ::testing::ValuesIn(::sitehost::test::all_variants()), \
                           ::sitehost::test::variant_name)
