// WebSockets (HTTP Upgrade) in-process, ABI 1.2: the real sitehost binary serving
// tests/apps/ws_echo.so over loopback, with a small RFC 6455 client written here (masked
// frames of every length encoding) and, for a cross-check, python3-websockets
// (tests/proxy/children/ws_client.py) in-process, out-of-process under sitehost-app, and over
// HTTPS. Both dispatch modes (the event loop; worker threads with allow_synchronous_io, where the
// app uses blocking reads and writes on the raw stream). Every wait is bounded.
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <thread>

#include "tests/inproc/inproc_test_util.h"
#include "tests/support/websocket.h"

namespace sitehost::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// RFC 6455 section 1.3's example: this key must be answered with this accept value.
constexpr const char* kKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr const char* kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

std::string close_payload(unsigned code) {
  return {static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
}

// Distinct bytes, so a misplaced or unmasked byte shows.
std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  return s;
}

// A WebSocket client over the harness's Client (its buffer holds what arrived after the 101).
class WsClient {
 public:
  explicit WsClient(uint16_t port, Ms timeout = 10s) : c_(port, timeout) {}

  // Sends the opening handshake for `path` and reads the answer's head.
  std::optional<Response> handshake(const std::string& path = "/chat",
                                    const std::string& key = kKey) {
    if (!c_.send("GET " + path +
                 " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: " +
                 key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"))
      return std::nullopt;
    return c_.read_response();
  }
  bool open() {
    auto r = handshake();
    return r && r->status == 101;
  }
  bool send(int opcode, const std::string& payload, bool fin = true) {
    return c_.send(ws_client_frame(opcode, payload, fin));
  }
  std::optional<WsFrame> read_frame() { return ws_read_frame(c_); }
  // Sends a message and expects it back as one unmasked frame of the same kind.
  bool echoes(int opcode, const std::string& payload) {
    if (!send(opcode, payload)) return false;
    auto f = read_frame();
    return f && f->fin && f->opcode == opcode && !f->masked && f->payload == payload;
  }
  // The closing handshake: `code` back, then the server closes the connection.
  bool closes(unsigned code) {
    if (!send(kWsClose, close_payload(code))) return false;
    auto f = read_frame();
    return f && f->opcode == kWsClose && f->payload == close_payload(code) && closed_within(5s);
  }
  bool closed_within(Ms timeout) { return c_.closed_within(timeout); }
  Client& raw() { return c_; }

 private:
  Client c_;
};

fs::path ws_client_script() {
  return source_dir() / "tests/proxy/children/ws_client.py";
}

// Runs ws_client.py (hello, a second message, 200 KB; expects "echo:" + each) against `url`.
std::string run_python_client(const TempDir& dir, const std::string& url,
                              const std::map<std::string, std::string>& env = {}) {
  static int counter = 0;
  fs::path out = dir / ("ws_client-" + std::to_string(++counter) + ".out");
  Process client({"/usr/bin/python3", ws_client_script().string(), url}, out, env);
  auto status = client.wait_exit(30s);
  std::string output = read_file(out);
  if (!status) return "timed out: " + output;
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) return "failed: " + output;
  return output;
}

// One in-process site "ws" at "/" serving a sample library; the parameter is
// allow_synchronous_io (true: worker threads, blocking reads and writes).
class WebSocket : public ::testing::TestWithParam<bool> {
 protected:
  void start(const std::string& server_extra = "", const std::string& site_extra = "",
             const fs::path& handler = app_library("ws_echo")) {
    port_ = free_port();
    std::string extra = site_extra;
    if (GetParam()) extra += "allow_synchronous_io = true\n";
    host_ = std::make_unique<Sitehost>(
        dir_, inproc_config(port_, dir_.path(), {{"ws", "/", handler, extra}},
                            "detailed_errors = true\n" + server_extra));
    ASSERT_TRUE(host_->wait_listening(port_)) << host_->log();
  }
  void TearDown() override {
    if (host_ && host_->process().running()) {
      EXPECT_EQ(host_->stop(), 0) << host_->log();
    }
  }
  bool log_has(const std::string& text) const {
    return host_->log().find(text) != std::string::npos;
  }

  TempDir dir_;
  uint16_t port_ = 0;
  std::unique_ptr<Sitehost> host_;
};

INSTANTIATE_TEST_SUITE_P(DispatchModes, WebSocket, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "SyncIo" : "EventLoop"; });

TEST_P(WebSocket, HandshakeEchoPingAndCloseHandshake) {
  start();
  WsClient ws(port_);
  auto head = ws.handshake();
  ASSERT_TRUE(head) << host_->log();
  EXPECT_EQ(head->status, 101);
  EXPECT_EQ(head->reason, "Switching Protocols");
  EXPECT_EQ(head->header("Sec-WebSocket-Accept"), kAccept);
  EXPECT_EQ(head->header("Upgrade"), "websocket");
  EXPECT_EQ(head->header("Connection"), "upgrade");
  EXPECT_FALSE(head->header("Content-Length"));
  EXPECT_FALSE(head->header("Transfer-Encoding"));

  EXPECT_TRUE(ws.echoes(kWsText, "hello"));
  EXPECT_TRUE(ws.echoes(kWsText, ""));
  EXPECT_TRUE(ws.echoes(kWsBinary, pattern(125)));                     // the largest 7-bit length
  EXPECT_TRUE(ws.echoes(kWsBinary, pattern(126)));                     // 16-bit length
  EXPECT_TRUE(ws.echoes(kWsBinary, pattern(65535)));                   // the largest 16-bit length
  EXPECT_TRUE(ws.echoes(kWsBinary, pattern(200 * 1024)));              // 64-bit length
  EXPECT_TRUE(ws.echoes(kWsText, std::string(3 * 1024 * 1024, 'w')));  // over the app's high water

  // A message in fragments comes back fragment by fragment.
  ASSERT_TRUE(ws.send(kWsText, "frag", false));
  ASSERT_TRUE(ws.send(kWsContinuation, "ment", true));
  auto f1 = ws.read_frame();
  auto f2 = ws.read_frame();
  ASSERT_TRUE(f1 && f2);
  EXPECT_TRUE(!f1->fin && f1->opcode == kWsText && f1->payload == "frag");
  EXPECT_TRUE(f2->fin && f2->opcode == kWsContinuation && f2->payload == "ment");

  // Several frames in one segment, a ping among them.
  ASSERT_TRUE(ws.raw().send(ws_client_frame(kWsText, "a") +
                            ws_client_frame(kWsPing, "are you there") +
                            ws_client_frame(kWsBinary, "b")));
  auto a = ws.read_frame();
  auto pong = ws.read_frame();
  auto b = ws.read_frame();
  ASSERT_TRUE(a && pong && b);
  EXPECT_EQ(a->payload, "a");
  EXPECT_EQ(pong->opcode, kWsPong);
  EXPECT_EQ(pong->payload, "are you there");
  EXPECT_EQ(b->payload, "b");

  // A frame trickling in byte by byte.
  std::string slow = ws_client_frame(kWsText, pattern(300));
  for (char ch : slow) ASSERT_TRUE(ws.raw().send(std::string(1, ch)));
  auto trickled = ws.read_frame();
  ASSERT_TRUE(trickled);
  EXPECT_EQ(trickled->payload, pattern(300));

  // Close handshake: the same code back, then the server closes the connection.
  ASSERT_TRUE(ws.send(kWsClose, close_payload(1000) + "bye"));
  auto close = ws.read_frame();
  ASSERT_TRUE(close) << host_->log();
  EXPECT_EQ(close->opcode, kWsClose);
  EXPECT_EQ(close->payload, close_payload(1000));
  EXPECT_TRUE(ws.closed_within(5s));

  // The server is fine: a plain request, then another WebSocket.
  auto plain = http_request(port_, "GET", "/");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 426);
  WsClient again(port_);
  ASSERT_TRUE(again.open()) << host_->log();
  EXPECT_TRUE(again.echoes(kWsText, "again"));
}

TEST_P(WebSocket, APlainRequestGets426AndProtocolErrorsGetClose1002) {
  start();
  auto plain = http_request(port_, "GET", "/chat");
  ASSERT_TRUE(plain) << host_->log();
  EXPECT_EQ(plain->status, 426);
  EXPECT_EQ(plain->header("Upgrade"), "websocket");
  EXPECT_NE(plain->body.find("ws_echo (ABI 1.2)"), std::string::npos) << plain->body;

  // An upgrade the app does not accept is a normal response (the connection stays HTTP).
  Client bad(port_);
  ASSERT_TRUE(
      bad.send("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n"));
  auto r = bad.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  ASSERT_TRUE(bad.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto next = bad.read_response();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 426);

  // An unmasked client frame is a protocol error.
  WsClient ws(port_);
  ASSERT_TRUE(ws.open());
  std::string unmasked = {static_cast<char>(0x80 | kWsText), 2, 'h', 'i'};
  ASSERT_TRUE(ws.raw().send(unmasked));
  auto close = ws.read_frame();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, kWsClose);
  EXPECT_EQ(close->payload, close_payload(1002));
  EXPECT_TRUE(ws.closed_within(5s));
}

TEST_P(WebSocket, TheUpgradeFunctionsReportTheirRules) {
  start();
  // Not an upgrade request: 101 and the upgrade are both SITEHOST_E_INVAL.
  auto plain = http_request(port_, "GET", "/probe");
  ASSERT_TRUE(plain) << host_->log();
  EXPECT_EQ(plain->status, 200);
  EXPECT_EQ(plain->body, "probe: status_101=-2 upgrade=-2\n");

  // An upgrade request: 101 may be set first, a write before the upgrade is SITEHOST_E_STATE,
  // one upgrade only, no status after it.
  WsClient ws(port_);
  auto head = ws.handshake("/probe");
  ASSERT_TRUE(head && head->status == 101) << host_->log();
  EXPECT_EQ(head->header("Sec-WebSocket-Accept"), kAccept);
  auto report = ws.read_frame();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->payload,
            "probe: status_101=0 write_before_upgrade=-3 upgrade=0 upgrade_again=-3 "
            "set_status_after=-3");
  EXPECT_TRUE(ws.echoes(kWsText, "after the probe"));
}

TEST_P(WebSocket, AnIdleTunnelOutlivesTheHeaderAndKeepaliveTimeouts) {
  start("header_timeout = \"300ms\"\nkeepalive_timeout = \"300ms\"\n");
  WsClient ws(port_);
  ASSERT_TRUE(ws.open()) << host_->log();
  ASSERT_TRUE(ws.echoes(kWsText, "before"));
  // What is tested is the passage of time: idle for four times both timeouts.
  std::this_thread::sleep_for(1200ms);
  EXPECT_TRUE(ws.echoes(kWsText, "after")) << host_->log();
  // Half-way through a frame is idle too.
  std::string frame = ws_client_frame(kWsBinary, pattern(1000));
  ASSERT_TRUE(ws.raw().send(frame.substr(0, 500)));
  std::this_thread::sleep_for(700ms);
  ASSERT_TRUE(ws.raw().send(frame.substr(500)));
  auto f = ws.read_frame();
  ASSERT_TRUE(f) << host_->log();
  EXPECT_EQ(f->payload, pattern(1000));
}

TEST_P(WebSocket, AClientVanishingMidFrameReleasesTheRequest) {
  fs::path access = dir_ / "access.log";
  start("access_log = \"" + access.string() + "\"\n");
  for (int i = 0; i < 3; ++i) {
    std::string path = "/vanish" + std::to_string(i);
    {
      WsClient ws(port_);
      auto head = ws.handshake(path);
      ASSERT_TRUE(head && head->status == 101) << host_->log();
      ASSERT_TRUE(ws.echoes(kWsText, "first"));
      // Half of a large frame, then a reset (i = 0), a plain close (1) or a half-close (2).
      std::string frame = ws_client_frame(kWsBinary, pattern(200 * 1024));
      ASSERT_TRUE(ws.raw().send(frame.substr(0, 70000)));
      if (i == 0) {
        linger l{1, 0};
        ::setsockopt(ws.raw().fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
      } else if (i == 2) {
        ws.raw().shutdown_write();
        EXPECT_TRUE(ws.closed_within(5s)) << "the app finishes at the client's EOF";
      }
    }
    // The exchange ended (the app finished it): its access log line is written.
    EXPECT_TRUE(wait_until(
        [&] {
          return read_file(access).find("GET " + path + " HTTP/1.1\" 101") != std::string::npos;
        },
        5s))
        << read_file(access) << host_->log();
  }
  // Healthy: a plain request and a new WebSocket.
  auto plain = http_request(port_, "GET", "/");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 426);
  WsClient ws(port_);
  ASSERT_TRUE(ws.open());
  EXPECT_TRUE(ws.echoes(kWsBinary, pattern(200 * 1024)));
}

TEST_P(WebSocket, SigtermEndsAnOpenTunnelWithinShutdownTimeout) {
  start("shutdown_timeout = \"1s\"\n");
  WsClient ws(port_, 15s);
  ASSERT_TRUE(ws.open()) << host_->log();
  ASSERT_TRUE(ws.echoes(kWsText, "open"));
  auto sent = Clock::now();
  host_->process().signal(SIGTERM);
  auto status = host_->process().wait_exit(6s);
  ASSERT_TRUE(status) << "sitehost did not exit: " << host_->log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << host_->log();
  EXPECT_LT(Clock::now() - sent, 4s) << host_->log();
  EXPECT_TRUE(log_has("shutdown_timeout reached")) << host_->log();
  EXPECT_TRUE(ws.closed_within(2s));
}

TEST_P(WebSocket, AnAppBuiltForAbi11StillLoads) {
  start("", "", app_library("ws_echo_abi11"));
  auto plain = http_request(port_, "GET", "/");
  ASSERT_TRUE(plain) << host_->log();
  EXPECT_EQ(plain->status, 426);
  EXPECT_NE(plain->body.find("ws_echo (ABI 1.1)"), std::string::npos) << plain->body;
  // It knows nothing of upgrades: the handshake is answered as a plain request.
  WsClient ws(port_);
  auto head = ws.handshake();
  ASSERT_TRUE(head) << host_->log();
  EXPECT_EQ(head->status, 426);
}

TEST_P(WebSocket, PythonWebsocketsClientInProcess) {
  start("", "environment = { WS_ECHO_PREFIX = \"echo:\" }\n");
  std::string out = run_python_client(dir_, fmt::format("ws://127.0.0.1:{}/chat", port_));
  EXPECT_NE(out.find("OK"), std::string::npos) << out << host_->log();
}

// --- one library, both hosting models, and HTTPS ------------------------------------------------

TEST(WebSocketModels, TheSameLibraryServesOutOfProcessUnderSitehostApp) {
  TempDir dir;
  uint16_t port = free_port();
  std::string config = fmt::format(
      "[server]\ndetailed_errors = true\n\n"
      "[[site]]\nname = \"out\"\nbindings = [\"http://127.0.0.1:{0}\"]\npath = \"/out\"\n"
      "physical_path = \"{1}\"\nhosting_model = \"outofprocess\"\nprocess_path = \"{2}\"\n"
      "arguments = [\"{3}\"]\nenvironment = {{ WS_ECHO_PREFIX = \"echo:\" }}\n\n"
      "[[site]]\nname = \"in\"\nbindings = [\"http://127.0.0.1:{0}\"]\npath = \"/in\"\n"
      "physical_path = \"{1}\"\nhosting_model = \"inprocess\"\nhandler = \"{3}\"\n"
      "environment = {{ WS_ECHO_PREFIX = \"echo:\" }}\n",
      port, dir.path().string(), sitehost_app_binary().string(), app_library("ws_echo").string());
  Sitehost host(dir, config);
  ASSERT_TRUE(host.wait_listening(port)) << host.log();
  for (const char* model : {"out", "in"}) {
    std::string out = run_python_client(dir, fmt::format("ws://127.0.0.1:{}/{}/chat", port, model));
    EXPECT_NE(out.find("OK"), std::string::npos) << model << ": " << out << host.log();
  }
  // Our own client through the proxy's tunnel too: 64-bit lengths, ping, close.
  WsClient ws(port);
  auto head = ws.handshake("/out/chat");
  ASSERT_TRUE(head) << host.log();
  EXPECT_EQ(head->status, 101);
  EXPECT_EQ(head->header("Sec-WebSocket-Accept"), kAccept);
  ASSERT_TRUE(ws.send(kWsBinary, pattern(200 * 1024)));
  auto big = ws.read_frame();
  ASSERT_TRUE(big);
  EXPECT_EQ(big->payload, "echo:" + pattern(200 * 1024));
  ASSERT_TRUE(ws.send(kWsPing, "p"));
  auto pong = ws.read_frame();
  ASSERT_TRUE(pong && pong->opcode == kWsPong);
  EXPECT_TRUE(ws.closes(1001));
  EXPECT_EQ(host.stop(), 0) << host.log();
}

TEST(WebSocketModels, OverHttps) {
  TempDir dir;
  {
    Process openssl({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                     "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout",
                     (dir / "key.pem").string(), "-out", (dir / "cert.pem").string()},
                    dir / "openssl.out");
    auto status = openssl.wait_exit(30s);
    ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << read_file(dir / "openssl.out");
  }
  uint16_t port = free_port();
  for (bool sync_io : {false, true}) {
    std::string extra = fmt::format(
        "certificate = \"{}\"\nprivate_key = \"{}\"\nenvironment = {{ WS_ECHO_PREFIX = \"echo:\" "
        "}}\n{}",
        (dir / "cert.pem").string(), (dir / "key.pem").string(),
        sync_io ? "allow_synchronous_io = true\n" : "");
    std::string config = fmt::format(
        "[server]\ndetailed_errors = true\n\n[[site]]\nname = \"wss\"\n"
        "bindings = [\"https://127.0.0.1:{}\"]\nphysical_path = \"{}\"\n"
        "hosting_model = \"inprocess\"\nhandler = \"{}\"\n{}",
        port, dir.path().string(), app_library("ws_echo").string(), extra);
    Sitehost host(dir, config);
    ASSERT_TRUE(host.wait_listening(port)) << host.log();
    // The client trusts the test's certificate through OpenSSL's SSL_CERT_FILE.
    std::string out = run_python_client(dir, fmt::format("wss://localhost:{}/chat", port),
                                        {{"SSL_CERT_FILE", (dir / "cert.pem").string()}});
    EXPECT_NE(out.find("OK"), std::string::npos)
        << "sync_io=" << sync_io << ": " << out << host.log();
    EXPECT_EQ(host.stop(), 0) << host.log();
  }
}

// --- hot swap -----------------------------------------------------------------------------------

class WebSocketHotSwap : public ::testing::Test {
 protected:
  // Starts the site with `limit` as shutdown_time_limit, opens a WebSocket on generation 1, then
  // deploys the 1.1 build over the library and waits for generation 2 to serve.
  void open_then_swap(const std::string& limit) {
    ASSERT_NO_FATAL_FAILURE(start(limit));
    ws_ = std::make_unique<WsClient>(port_, 15s);
    ASSERT_TRUE(ws_->open()) << host_->log();
    ASSERT_TRUE(ws_->echoes(kWsText, "generation 1"));
    ASSERT_TRUE(swap()) << host_->log();
  }
  void start(const std::string& limit) {
    lib_ = dir_.write("deploy/app.so", read_file(app_library("ws_echo")));
    port_ = free_port();
    host_ = std::make_unique<Sitehost>(
        dir_, inproc_config(port_, dir_.path(),
                            {{"ws", "/", lib_,
                              "shadow_copy_directory = \"" + (dir_ / "shadow").string() +
                                  "\"\nshutdown_time_limit = \"" + limit + "\"\n"}}));
    ASSERT_TRUE(host_->wait_listening(port_)) << host_->log();
  }
  // Deploys the 1.1 build over the running one (write aside, rename over) and waits for the swap.
  bool swap() {
    fs::path aside = lib_.string() + ".tmp";
    fs::copy_file(app_library("ws_echo_abi11"), aside, fs::copy_options::overwrite_existing);
    fs::rename(aside, lib_);
    return wait_until([&] { return log_has("hot swap: generation 2 serves"); }, 10s);
  }
  bool log_has(const std::string& text) const {
    return host_->log().find(text) != std::string::npos;
  }
  void TearDown() override {
    if (host_) {
      EXPECT_EQ(host_->stop(), 0) << host_->log();
    }
  }

  TempDir dir_;
  fs::path lib_;
  uint16_t port_ = 0;
  std::unique_ptr<Sitehost> host_;
  std::unique_ptr<WsClient> ws_;
};

TEST_F(WebSocketHotSwap, AnOpenTunnelKeepsItsGenerationUntilItCloses) {
  ASSERT_NO_FATAL_FAILURE(open_then_swap("30s"));
  // New requests reach the new build; the tunnel stays on the old one, which stays loaded.
  auto plain = http_request(port_, "GET", "/");
  ASSERT_TRUE(plain);
  EXPECT_NE(plain->body.find("ABI 1.1"), std::string::npos) << plain->body;
  EXPECT_TRUE(log_has("generation 1 finishes its 1 request(s) in flight")) << host_->log();
  EXPECT_TRUE(ws_->echoes(kWsBinary, pattern(100000)));
  EXPECT_FALSE(log_has("generation 1 shut down")) << host_->log();
  // The tunnel ends: then the old generation goes.
  EXPECT_TRUE(ws_->closes(1000));
  EXPECT_TRUE(wait_until([&] { return log_has("generation 1 shut down and unloaded"); }, 5s))
      << host_->log();
  EXPECT_FALSE(log_has("aborting them")) << host_->log();
}

TEST_F(WebSocketHotSwap, ATunnelOutlivingShutdownTimeLimitIsCutBeforeTheUnload) {
  ASSERT_NO_FATAL_FAILURE(open_then_swap("1s"));
  auto swapped = Clock::now();
  EXPECT_TRUE(ws_->echoes(kWsText, "still here"));
  EXPECT_TRUE(ws_->closed_within(5s)) << host_->log();
  EXPECT_GE(Clock::now() - swapped, 500ms);
  EXPECT_TRUE(wait_until([&] { return log_has("generation 1 shut down and unloaded"); }, 5s))
      << host_->log();
  std::string log = host_->log();
  EXPECT_LT(log.find("aborting them"), log.find("generation 1 shut down and unloaded")) << log;
}

}  // namespace
}  // namespace sitehost::test
