// A keep-alive request loop for deploy tests: "no request fails while ...".
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/harness.h"

namespace sitehost::test {

// Sends `request` in a loop on one keep-alive connection per thread (a new connection only when
// the server closes it or a request failed) until stopped. `check` judges each response: an empty
// string is a success, anything else the reason it failed. A connection or send error and a
// missing response count as failed too.
class KeepAliveLoad {
 public:
  using Connect = std::function<std::unique_ptr<Client>()>;
  using Check = std::function<std::string(const Response&)>;

  KeepAliveLoad(Connect connect, std::string request, Check check, int threads);
  ~KeepAliveLoad() { stop(); }
  KeepAliveLoad(const KeepAliveLoad&) = delete;
  KeepAliveLoad& operator=(const KeepAliveLoad&) = delete;

  void stop();  // joins the threads; idempotent
  long sent() const { return sent_; }
  long failed() const { return failed_; }
  std::string errors() const;  // the first few failures, one a line

 private:
  void run();
  void fail(const std::string& what);

  Connect connect_;
  std::string request_;
  Check check_;
  std::atomic<bool> stop_{false};
  std::atomic<long> sent_{0};
  std::atomic<long> failed_{0};
  mutable std::mutex mutex_;
  std::string errors_;
  std::vector<std::thread> threads_;
};

}  // namespace sitehost::test
