// Fixed-size, reference-counted I/O blocks, recycled through a free list: the proxy's hot path
// (upstream reads, request-body copies, writes to the child) allocates only when the pool is dry.
//
// A block carries its own uv_write_t so a write to the child needs nothing else. Holders count
// references: an upstream read buffer is referenced once by the reader and once per client write
// that points into it; the block returns to the pool when the last reference goes.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace sitehost::proxy {

class BufferPool;

struct Block {
  static constexpr size_t kCapacity = 64 * 1024;

  uv_write_t write_req;  // used while the block is written to a child connection
  BufferPool* pool = nullptr;
  void* user = nullptr;  // free for the current holder (e.g. who to tell on a client write)
  Block* next_free = nullptr;
  uint32_t refs = 0;
  size_t size = 0;  // bytes of data[] in use
  char data[kCapacity];

  size_t room() const { return kCapacity - size; }
  void ref() { ++refs; }
  void release();  // drops one reference; the last one returns the block to its pool

  static Block* from_data(char* data) {
    return reinterpret_cast<Block*>(data - offsetof(Block, data));
  }
  static Block* from_write(uv_write_t* req) {
    return reinterpret_cast<Block*>(reinterpret_cast<char*>(req) - offsetof(Block, write_req));
  }
};

class BufferPool {
 public:
  // Keeps up to `keep_free` released blocks for reuse; more are freed.
  explicit BufferPool(size_t keep_free = 256) : keep_free_(keep_free) {}
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A block with one reference, size 0.
  Block* acquire();

  size_t in_use() const { return in_use_; }
  size_t free_count() const { return free_count_; }

 private:
  friend struct Block;
  void give_back(Block* block);

  Block* free_ = nullptr;
  size_t free_count_ = 0;
  size_t in_use_ = 0;
  size_t keep_free_;
};

}  // namespace sitehost::proxy
