// complete_from_thread: written with the C++ wrapper. The handler (loop thread) sets the status
// and headers, then hands the request to the app's own thread, which writes the body and
// finishes it: every call from that thread is marshalled onto sitehost's loop.
#include <sitehost/handler.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace {

class App {
 public:
  explicit App(const sitehost_site_info_t&) : thread_([this] { run(); }) {}
  ~App() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  void handle(sitehost::handler::Request req) {
    req.set_status(201, "Made Elsewhere");
    req.add_header("Content-Type", "text/plain");
    req.add_header("X-Loop-Thread", "headers");
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(req);
    }
    wake_.notify_one();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      sitehost::handler::Request req = queue_.front();
      queue_.pop_front();
      lock.unlock();
      std::string body = "completed from another thread: " + std::string(req.path()) + "\n";
      req.write(body);                 // copied by the server
      req.write("second chunk\n", 0);  // static: zero-copy
      req.finish();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<sitehost::handler::Request> queue_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the rest is built
};

}  // namespace

SITEHOST_HANDLER_APP(App)
