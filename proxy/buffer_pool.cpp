#include "proxy/buffer_pool.h"

namespace sitehost::proxy {

void Block::release() {
  if (--refs == 0) pool->give_back(this);
}

BufferPool::~BufferPool() {
  while (free_) {
    std::unique_ptr<Block> owned(free_);
    free_ = free_->next_free;
  }
}

Block* BufferPool::acquire() {
  Block* block = free_;
  if (block) {
    free_ = block->next_free;
    --free_count_;
  } else {
    block = std::make_unique_for_overwrite<Block>().release();
    block->pool = this;
  }
  block->next_free = nullptr;
  block->user = nullptr;
  block->refs = 1;
  block->size = 0;
  ++in_use_;
  return block;
}

void BufferPool::give_back(Block* block) {
  --in_use_;
  if (free_count_ >= keep_free_) {
    std::unique_ptr<Block> owned(block);
    return;
  }
  block->next_free = free_;
  free_ = block;
  ++free_count_;
}

}  // namespace sitehost::proxy
