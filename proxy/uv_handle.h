// RAII owners for libuv handles used across proxy/.
//
// Lifetime rule (the libuv one): a handle is init'ed, used, then closed with uv_close; its memory
// is freed in the close callback, never in the same tick. UvHandle<H> owns one heap-allocated
// handle; close() (or the destructor) hands it to uv_close and the close callback frees it, so
// the owner may go away at once. No callback of the handle runs after close().
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

namespace sitehost::proxy {

template <class H>
class UvHandle {
 public:
  UvHandle() = default;
  ~UvHandle() { close(); }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;

  // Fresh storage for uv_*_init (closes any previous handle). Call set_initialized() once the
  // init succeeded; storage of a handle that never initialised is simply freed.
  H* prepare() {
    close();
    handle_ = std::make_unique<H>();
    return handle_.get();
  }
  void set_initialized() { initialized_ = true; }

  H* get() const { return handle_.get(); }
  uv_handle_t* base() const { return reinterpret_cast<uv_handle_t*>(handle_.get()); }
  bool live() const { return handle_ && initialized_; }

  void close() {
    if (!handle_) return;
    if (!initialized_) {
      handle_.reset();
      return;
    }
    initialized_ = false;
    H* raw = handle_.release();
    uv_close(reinterpret_cast<uv_handle_t*>(raw),
             [](uv_handle_t* h) { std::unique_ptr<H> owned(reinterpret_cast<H*>(h)); });
  }

 private:
  std::unique_ptr<H> handle_;
  bool initialized_ = false;
};

// A one-shot or repeating timer calling a std::function (set once, at init: not a hot path).
class Timer {
 public:
  Timer() = default;
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  int init(uv_loop_t* loop, std::function<void()> fn) {
    fn_ = std::move(fn);
    uv_timer_t* t = handle_.prepare();
    int r = uv_timer_init(loop, t);
    if (r != 0) return r;
    handle_.set_initialized();
    t->data = this;
    return 0;
  }
  void start(uint64_t timeout_ms, uint64_t repeat_ms = 0) {
    if (handle_.live()) uv_timer_start(handle_.get(), &Timer::on_fire, timeout_ms, repeat_ms);
  }
  void stop() {
    if (handle_.live()) uv_timer_stop(handle_.get());
  }
  bool active() const { return handle_.live() && uv_is_active(handle_.base()) != 0; }
  void close() { handle_.close(); }

 private:
  static void on_fire(uv_timer_t* t) {
    // Copy first: the callback may destroy this Timer (and its owner).
    auto fn = static_cast<Timer*>(t->data)->fn_;
    fn();
  }

  UvHandle<uv_timer_t> handle_;
  std::function<void()> fn_;
};

}  // namespace sitehost::proxy
