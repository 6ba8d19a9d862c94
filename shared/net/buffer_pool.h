// Fixed-size read buffers shared by all connections. An idle keep-alive connection holds none:
// it takes one when bytes arrive and gives it back when everything in it has been consumed.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace sitehost {

class BufferPool {
 public:
  // `buffer_size`: bytes per buffer; `max_free`: how many idle buffers are kept for reuse.
  BufferPool(size_t buffer_size, size_t max_free) : size_(buffer_size), max_free_(max_free) {}
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  size_t buffer_size() const { return size_; }

  std::unique_ptr<char[]> acquire() {
    if (free_.empty()) return std::make_unique_for_overwrite<char[]>(size_);
    auto buffer = std::move(free_.back());
    free_.pop_back();
    return buffer;
  }

  void release(std::unique_ptr<char[]> buffer) {
    if (buffer && free_.size() < max_free_) free_.push_back(std::move(buffer));
  }

 private:
  size_t size_;
  size_t max_free_;
  std::vector<std::unique_ptr<char[]>> free_;
};

// A pool of reusable objects of one type (request contexts, write requests): the hot path takes
// from here instead of allocating per request.
template <class T>
class ObjectPool {
 public:
  explicit ObjectPool(size_t max_free) : max_free_(max_free) {}
  template <class... Args>
  std::unique_ptr<T> acquire(Args&&... args) {
    if (free_.empty()) return std::make_unique<T>(std::forward<Args>(args)...);
    auto object = std::move(free_.back());
    free_.pop_back();
    return object;
  }
  void release(std::unique_ptr<T> object) {
    if (object && free_.size() < max_free_) free_.push_back(std::move(object));
  }

 private:
  size_t max_free_;
  std::vector<std::unique_ptr<T>> free_;
};

}  // namespace sitehost
