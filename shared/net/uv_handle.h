// The one C++ owner for libuv handles (front end, in-process and out-of-process hosting).
//
// Lifetime rule (the libuv one): a handle is init'ed, used, then closed with uv_close; its memory
// is freed in the close callback, never in the same tick. UvHandle<T> owns one heap-allocated
// handle; close() (or the destructor) hands it to uv_close and the close callback frees it, so the
// owner may close it from inside the handle's own callback and be destroyed right after. No
// callback of the handle runs after close() (its `data` is cleared).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

namespace sitehost {

template <class T>
class UvHandle {
 public:
  // What a failed init left behind: most uv_*_init functions leave nothing to close (the storage
  // is simply freed); uv_spawn initialises the handle even when it fails (it must be closed).
  enum class OnError { kFree, kClose };

  UvHandle() = default;
  ~UvHandle() { close(); }
  UvHandle(UvHandle&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  UvHandle& operator=(UvHandle&& other) noexcept {
    if (this != &other) {
      close();
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;

  // Closes any previous handle, allocates a new one and runs `init(T*)` (e.g. uv_timer_init);
  // returns its libuv result. On success the handle's `data` is `data`. On failure the handle is
  // gone: freed at once (OnError::kFree) or closed (OnError::kClose).
  template <class Init>
  int init(Init&& init, void* data, OnError on_error = OnError::kFree) {
    close();
    auto owned = std::make_unique<T>();
    int rc = std::forward<Init>(init)(owned.get());
    if (rc != 0 && on_error == OnError::kFree) return rc;  // never initialised: freed here
    handle_ = owned.release();
    handle_->data = data;
    if (rc != 0) close();
    return rc;
  }

  T* get() const { return handle_; }
  uv_handle_t* base() const { return reinterpret_cast<uv_handle_t*>(handle_); }
  explicit operator bool() const { return handle_ != nullptr; }

  // Closes the handle: its callbacks stop at once; the memory goes in the close callback.
  void close() {
    if (!handle_) return;
    auto* h = reinterpret_cast<uv_handle_t*>(std::exchange(handle_, nullptr));
    h->data = nullptr;
    if (!uv_is_closing(h))
      uv_close(h,
               [](uv_handle_t* closed) { std::unique_ptr<T> owned(reinterpret_cast<T*>(closed)); });
  }

 private:
  T* handle_ = nullptr;
};

// A one-shot or repeating timer calling a std::function (set once, at init: not a hot path).
class UvTimer {
 public:
  UvTimer() = default;
  UvTimer(const UvTimer&) = delete;
  UvTimer& operator=(const UvTimer&) = delete;

  int init(uv_loop_t* loop, std::function<void()> fn) {
    fn_ = std::move(fn);
    return handle_.init([loop](uv_timer_t* t) { return uv_timer_init(loop, t); }, this);
  }
  void start(uint64_t timeout_ms, uint64_t repeat_ms = 0) {
    if (handle_) uv_timer_start(handle_.get(), &UvTimer::on_fire, timeout_ms, repeat_ms);
  }
  void stop() {
    if (handle_) uv_timer_stop(handle_.get());
  }
  bool active() const { return handle_ && uv_is_active(handle_.base()) != 0; }
  // The timer no longer keeps its loop running (uv_unref).
  void unref() {
    if (handle_) uv_unref(handle_.base());
  }
  explicit operator bool() const { return static_cast<bool>(handle_); }
  void close() { handle_.close(); }

 private:
  static void on_fire(uv_timer_t* t) {
    // Copy first: the callback may destroy this timer (and its owner).
    auto fn = static_cast<UvTimer*>(t->data)->fn_;
    fn();
  }

  UvHandle<uv_timer_t> handle_;
  std::function<void()> fn_;
};

}  // namespace sitehost
