// A running sitehost with the sample apps mounted: hello at /, info at /info, echo at /echo,
// slow at /slow. Tests add server keys through `extra_server` before calling start().
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "tests/support/harness.h"
#include "tests/support/site_config.h"

namespace sitehost::test {

class FrontendTest : public ::testing::Test {
 protected:
  void start(const std::vector<std::pair<std::string, std::string>>& server_keys = {}) {
    port = free_port();
    ConfigBuilder b(dir, port);
    b.server("detailed_errors", "true");
    for (const auto& [k, v] : server_keys) b.server(k, v);
    b.inproc_app("hello", "hello");
    b.inproc_app("info", "info", "/info");
    b.inproc_app("echo", "echo", "/echo");
    b.inproc_app("slow", "slow", "/slow");
    config = b.str();
    server = std::make_unique<Sitehost>(dir, config);
    ASSERT_TRUE(server->wait_listening(port)) << server->log();
  }

  void TearDown() override {
    if (server && server->process().running()) {
      EXPECT_EQ(server->stop(), 0) << server->log();
    }
  }

  // Sends raw bytes on a fresh connection; returns the response (or nullopt).
  std::optional<Response> raw(const std::string& bytes, Client** keep = nullptr) {
    client = std::make_unique<Client>(port);
    if (!client->connected() || !client->send(bytes)) return std::nullopt;
    if (keep) *keep = client.get();
    return client->read_response();
  }

  // Asserts that `bytes` get `status` and the connection is closed afterwards.
  void expect_rejected(const std::string& bytes, int status) {
    auto r = raw(bytes);
    ASSERT_TRUE(r) << "no response for: " << bytes;
    EXPECT_EQ(r->status, status) << bytes;
    EXPECT_NE(r->body.find(std::to_string(status)), std::string::npos) << r->body;
    EXPECT_TRUE(client->closed_within(2s)) << "connection left open after " << status;
  }

  TempDir dir;
  uint16_t port = 0;
  std::string config;
  std::unique_ptr<Sitehost> server;
  std::unique_ptr<Client> client;
};

}  // namespace sitehost::test
