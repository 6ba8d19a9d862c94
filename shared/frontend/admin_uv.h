// A C++ owner for one libuv handle, used by the admin server and the app_offline watch: the
// handle lives on the heap and is freed in its uv_close callback, so the owner may close it from
// inside the handle's own callback and be destroyed right after (libuv is done with it only once
// the close callback ran).
#pragma once

#include <uv.h>

#include <memory>
#include <utility>

namespace sitehost {

template <class T>
class UvOwned {
 public:
  UvOwned() = default;
  ~UvOwned() { close(); }
  UvOwned(const UvOwned&) = delete;
  UvOwned& operator=(const UvOwned&) = delete;

  // Allocates the handle and runs `init(T*)` (e.g. uv_timer_init); returns its libuv result.
  template <class Init>
  int init(Init&& init, void* data) {
    close();
    auto owned = std::make_unique<T>();
    int rc = init(owned.get());
    if (rc != 0) return rc;  // never initialised: freed here
    handle_ = owned.release();
    handle_->data = data;
    return 0;
  }

  T* get() const { return handle_; }
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

}  // namespace sitehost
