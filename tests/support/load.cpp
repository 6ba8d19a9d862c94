#include "tests/support/load.h"

namespace sitehost::test {

KeepAliveLoad::KeepAliveLoad(Connect connect, std::string request, Check check, int threads)
    : connect_(std::move(connect)), request_(std::move(request)), check_(std::move(check)) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

void KeepAliveLoad::stop() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

std::string KeepAliveLoad::errors() const {
  std::lock_guard lock(mutex_);
  return errors_;
}

void KeepAliveLoad::run() {
  std::unique_ptr<Client> c;
  while (!stop_) {
    if (!c) c = connect_();
    if (!c->connected() || !c->send(request_)) {
      fail("cannot connect or send");
      c.reset();
      continue;
    }
    auto r = c->read_response();
    ++sent_;
    if (!r) {
      fail("no response");
      c.reset();
      continue;
    }
    if (std::string why = check_(*r); !why.empty()) fail(why);
    if (r->header("Connection") == "close") c.reset();
  }
}

void KeepAliveLoad::fail(const std::string& what) {
  ++failed_;
  std::lock_guard lock(mutex_);
  if (errors_.size() < 4000) errors_ += what + "\n";
}

}  // namespace sitehost::test
