// Counters that one event loop writes and other threads read (the admin API sums them): each is
// a relaxed atomic that its owner bumps with a plain load + store, so counting on the request
// path costs what a plain increment costs (no locked instruction, no shared cache line: every
// loop has its own counters), and a reader on another thread sees a whole, recent value.
#pragma once

#include <atomic>
#include <cstdint>

namespace sitehost {

template <class T>
class LoopValue {
 public:
  // Owner thread only.
  void add(T n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(T n = 1) { v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  void set(T n) { v_.store(n, std::memory_order_relaxed); }
  // Any thread.
  T get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<T> v_{0};
};

using LoopCounter = LoopValue<uint64_t>;
using LoopGauge = LoopValue<int64_t>;

// Keeps each loop's counters on cache lines of their own.
inline constexpr size_t kCacheLine = 64;

}  // namespace sitehost
