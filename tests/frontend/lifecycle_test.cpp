// Server lifecycle through the real binary: timeouts, connection limit, SIGHUP reload (valid
// and invalid), SIGTERM drain with a request in flight, SIGUSR1 log reopen.
#include <signal.h>

#include "tests/frontend/frontend_fixture.h"

namespace sitehost::test {
namespace {

class Lifecycle : public FrontendTest {};

TEST_F(Lifecycle, IdleKeepAliveConnectionClosesAfterKeepaliveTimeout) {
  start({{"keepalive_timeout", "\"300ms\""}});
  Client c(port);
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.read_response());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_within(3s));
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 2s);
}

TEST_F(Lifecycle, AcceptingPausesAtMaxConnectionsAndResumes) {
  start({{"max_connections", "2"}});
  Client a(port), b(port);
  ASSERT_TRUE(a.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(a.read_response());
  ASSERT_TRUE(b.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(b.read_response());
  Client third(port, 400ms);  // the kernel completes the handshake; sitehost does not accept
  ASSERT_TRUE(third.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(third.read_response()) << "served beyond max_connections";
  a.shutdown_write();  // frees a slot
  ASSERT_TRUE(a.closed_within(2s));
  // The pending connection is accepted now and its request answered.
  std::optional<Response> r;
  ASSERT_TRUE(wait_until([&] { return (r = third.read_response()).has_value(); }, 5s));
  EXPECT_EQ(r->status, 200);
}

TEST_F(Lifecycle, SighupAppliesAValidConfig) {
  start();
  ASSERT_EQ(http_request(port, "GET", "/new/x")->status, 200);  // served by hello at /
  Client held(port);  // an open connection must survive the reload
  ASSERT_TRUE(held.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(held.read_response());

  ConfigBuilder b(dir, port);
  b.server("detailed_errors", "true");
  b.inproc_app("info", "info", "/");
  server->rewrite_config(b.str());
  server->process().signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] {
    return server->log().find("config reloaded") != std::string::npos;
  })) << server->log();
  auto r = http_request(port, "GET", "/new/x");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("\"path\":\"/new/x\""), std::string::npos) << r->body;
  ASSERT_TRUE(held.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto again = held.read_response();
  ASSERT_TRUE(again) << "reload dropped an open connection";
}

TEST_F(Lifecycle, SighupWithAnInvalidConfigKeepsTheOldOne) {
  start();
  server->rewrite_config(config + "\n[[site]]\nname = \"broken\"\nbogus_key = 1\n");
  server->process().signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return server->log().find("reload failed") != std::string::npos; }))
      << server->log();
  EXPECT_NE(server->log().find("sitehost.toml:"), std::string::npos) << server->log();
  auto r = http_request(port, "GET", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "Hello, World!");
}

TEST_F(Lifecycle, SigtermFinishesTheRequestInFlight) {
  start({{"log_level", "\"debug\""}});
  Client c(port, 10s);
  ASSERT_TRUE(c.send("GET /slow?ms=700 HTTP/1.1\r\nHost: x\r\n\r\n"));
  // Wait until the request is in the site's hands (debug log), then ask for a stop.
  ASSERT_TRUE(wait_until([&] {
    return server->log().find("dispatch GET /slow?ms=700") != std::string::npos;
  })) << server->log();
  server->process().signal(SIGTERM);
  auto r = c.read_response();
  ASSERT_TRUE(r) << server->log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Connection"), "close");
  auto status = server->process().wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  // No new connections after the stop.
  Client late(port, 300ms);
  EXPECT_FALSE(late.connected());
}

TEST_F(Lifecycle, SigusrOneReopensTheLogs) {
  std::string access = (dir / "access.log").string();
  std::string errors = (dir / "error.log").string();
  start({{"access_log", toml_string(access)}, {"error_log", toml_string(errors)}});
  ASSERT_EQ(http_request(port, "GET", "/first")->status, 200);
  ASSERT_TRUE(wait_until([&] { return read_file(access).find("/first") != std::string::npos; }));
  std::filesystem::rename(access, access + ".1");
  server->process().signal(SIGUSR1);
  ASSERT_TRUE(wait_until([&] { return read_file(errors).find("reopened") != std::string::npos; }));
  ASSERT_EQ(http_request(port, "GET", "/second")->status, 200);
  ASSERT_TRUE(wait_until([&] { return read_file(access).find("/second") != std::string::npos; }));
  EXPECT_EQ(read_file(access).find("/first"), std::string::npos);
  std::string line = read_file(access);
  EXPECT_NE(line.find("site=hello"), std::string::npos) << line;
  EXPECT_NE(line.find("status=200"), std::string::npos) << line;
  EXPECT_NE(line.find("model=inprocess"), std::string::npos) << line;
  EXPECT_NE(line.find("\"GET /second HTTP/1.1\" 200"), std::string::npos) << line;
}

}  // namespace
}  // namespace sitehost::test
