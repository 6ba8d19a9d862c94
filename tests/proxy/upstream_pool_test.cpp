// UpstreamPool destroyed while connections to the child are still open or closing (a forced
// shutdown: the site goes before its connections' close callbacks ran). Their callbacks run in a
// later uv_run and must touch neither the pool nor the BufferPool. Real loopback sockets; the
// "child" is a listening socket that is never accepted from (the kernel completes the connect).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <optional>

#include "proxy/buffer_pool.h"
#include "proxy/upstream_pool.h"
#include "tests/proxy/fake_exchange.h"

namespace sitehost::proxy::test {
namespace {

using namespace std::chrono_literals;

// A loopback listening socket (port chosen by the kernel), never accepted from.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
        ::listen(fd_, 16) == 0 && ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      port_ = ntohs(addr.sin_port);
  }
  ~Listener() {
    if (fd_ >= 0) ::close(fd_);
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

class RecordingUser final : public UpstreamUser {
 public:
  void on_upstream_connect(UpstreamConnection&, int status) override { connect_status = status; }
  void on_upstream_data(UpstreamConnection&, Block* block, size_t) override { block->release(); }
  void on_upstream_end(UpstreamConnection&, int) override {}
  void on_upstream_written(UpstreamConnection&, size_t, int) override {}
  std::optional<int> connect_status;
};

class UpstreamPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    ASSERT_NE(listener_.port(), 0);
    buffers_ = std::make_unique<BufferPool>();
    pool_ = std::make_unique<UpstreamPool>(&loop_, *buffers_);
    pool_->set_target(listener_.port(), 1);
  }
  void TearDown() override {
    pool_.reset();
    buffers_.reset();
    // What main() does after a forced shutdown: one more turn for the close callbacks.
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a connection was left open on the loop";
  }

  // A connection to the listener, connected.
  UpstreamConnection* connected() {
    int error = 0;
    UpstreamConnection* c = pool_->open(user_, &error);
    EXPECT_NE(c, nullptr) << uv_strerror(error);
    if (!c) return nullptr;
    EXPECT_TRUE(run_until(
        &loop_, [&] { return user_.connect_status.has_value(); }, 5s));
    EXPECT_EQ(user_.connect_status.value_or(-1), 0);
    return c;
  }

  uv_loop_t loop_;
  Listener listener_;
  RecordingUser user_;
  // On the heap, so that ASan sees a use after they are gone.
  std::unique_ptr<BufferPool> buffers_;
  std::unique_ptr<UpstreamPool> pool_;
};

// The forwarder closed its connection; the site (and the pool) went before the loop ran the
// close callback.
TEST_F(UpstreamPoolTest, DestroyedWhileAConnectionIsClosing) {
  UpstreamConnection* c = connected();
  ASSERT_NE(c, nullptr);
  c->close();
  EXPECT_EQ(pool_->live(), 1u);
}

// A connection still in use (or idle in the pool) when the pool goes: closed by the pool.
TEST_F(UpstreamPoolTest, DestroyedWithLiveConnections) {
  UpstreamConnection* busy = connected();
  ASSERT_NE(busy, nullptr);
  user_.connect_status.reset();
  UpstreamConnection* idle = connected();
  ASSERT_NE(idle, nullptr);
  pool_->put_idle(idle);
  EXPECT_EQ(pool_->idle(), 1u);
  EXPECT_EQ(pool_->live(), 2u);
}

// Writes still queued when the pool and its BufferPool go: they are cancelled by the close in a
// later uv_run, after both are gone.
TEST_F(UpstreamPoolTest, DestroyedWithQueuedWrites) {
  UpstreamConnection* c = connected();
  ASSERT_NE(c, nullptr);
  // Nobody reads on the other side: the socket buffers fill up, then writes queue in libuv.
  for (int i = 0; i < 1000 && c->write_queue_bytes() == 0; ++i) {
    Block* block = buffers_->acquire();
    std::memset(block->data, 'x', Block::kCapacity);
    block->size = Block::kCapacity;
    ASSERT_EQ(c->write(block), 0);
  }
  ASSERT_GT(c->write_queue_bytes(), 0u);
  c->close();
}

}  // namespace
}  // namespace sitehost::proxy::test
