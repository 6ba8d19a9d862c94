// A keep-alive request loop for deploy tests: "no request fails while ...".
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/harness.h"

namespace sitehost::test {

// Sends a request in a loop on one keep-alive connection per thread (a new connection only when
// the server closes it or a request failed) until stopped. `check` judges each response: an empty
// string is a success, anything else the reason it failed. A connection or send error and a
// missing response count as failed too.
class KeepAliveLoad {
 public:
  using Connect = std::function<std::unique_ptr<Client>()>;
  using Check = std::function<std::string(const Response&)>;
  // One request on a thread's connection: the response, or nullopt with `error` set. `sent`:
  // the request left (it counts in sent()); `reusable`: the next may use the same connection.
  struct Outcome {
    std::optional<Response> response;
    std::string error;
    bool sent = true;
    bool reusable = true;
  };
  using Exchange = std::function<Outcome()>;
  // Opens a thread's connection (any transport: HTTP/1.1, HTTP/2) and returns its Exchange; the
  // Exchange owns the connection and runs only on that thread.
  using Session = std::function<Exchange()>;

  // HTTP/1.1: `request` (raw bytes) on connections from `connect`.
  static Session http1(Connect connect, std::string request);
  KeepAliveLoad(Connect connect, std::string request, Check check, int threads);
  KeepAliveLoad(Session session, Check check, int threads);
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

  Session session_;
  Check check_;
  std::atomic<bool> stop_{false};
  std::atomic<long> sent_{0};
  std::atomic<long> failed_{0};
  mutable std::mutex mutex_;
  std::string errors_;
  std::vector<std::thread> threads_;
};

}  // namespace sitehost::test
