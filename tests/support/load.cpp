#include "tests/support/load.h"

namespace sitehost::test {

KeepAliveLoad::Session KeepAliveLoad::http1(Connect connect, std::string request) {
  return [connect = std::move(connect), request = std::move(request)] {
    std::shared_ptr<Client> c = connect();
    return [c, request]() -> KeepAliveLoad::Outcome {
      if (!c->connected() || !c->send(request)) return {{}, "cannot connect or send", false, false};
      auto r = c->read_response();
      if (!r) return {{}, "no response", true, false};
      const bool reusable = r->header("Connection") != "close";
      return {std::move(r), {}, true, reusable};
    };
  };
}

KeepAliveLoad::KeepAliveLoad(Connect connect, std::string request, Check check, int threads)
    : KeepAliveLoad(http1(std::move(connect), std::move(request)), std::move(check), threads) {}

KeepAliveLoad::KeepAliveLoad(Session session, Check check, int threads)
    : session_(std::move(session)), check_(std::move(check)) {
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
  Exchange exchange;
  while (!stop_) {
    if (!exchange) exchange = session_();
    Outcome o = exchange();
    if (o.sent) ++sent_;
    if (!o.reusable) exchange = nullptr;
    if (!o.response) {
      fail(o.error);
      continue;
    }
    if (std::string why = check_(*o.response); !why.empty()) fail(why);
  }
}

void KeepAliveLoad::fail(const std::string& what) {
  ++failed_;
  std::lock_guard lock(mutex_);
  if (errors_.size() < 4000) errors_ += what + "\n";
}

}  // namespace sitehost::test
