// A C++ owner for one libuv handle: the handle lives on the heap and is freed in its uv_close
// callback (never in the same tick), so an owner may close it from inside the handle's own
// callback and be destroyed right after.
#pragma once

#include <uv.h>

#include <memory>
#include <utility>

namespace sitehost::inproc {

template <class T>
class UvHandle {
 public:
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

  // Allocates the handle and runs `init(T*)` (e.g. uv_timer_init); on failure the handle is
  // freed at once (it was never initialised) and the libuv error returned.
  template <class Init>
  int init(Init&& init, void* data) {
    close();
    auto owned = std::make_unique<T>();
    int rc = init(owned.get());
    if (rc != 0) return rc;
    handle_ = owned.release();
    handle_->data = data;
    return 0;
  }

  T* get() const { return handle_; }
  explicit operator bool() const { return handle_ != nullptr; }

  // Closes the handle (its callbacks stop at once); the memory goes in the close callback.
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

}  // namespace sitehost::inproc
