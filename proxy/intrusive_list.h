// A minimal intrusive doubly-linked list: membership costs no allocation (hot-path queues).
#pragma once

#include <cstddef>

namespace sitehost::proxy {

template <class T>
struct ListHook {
  T* prev = nullptr;
  T* next = nullptr;
  bool linked = false;
};

// `Hook` is a pointer to the ListHook<T> member that links T into this list.
template <class T, ListHook<T> T::*Hook>
class IntrusiveList {
 public:
  IntrusiveList() = default;
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;

  bool empty() const { return head_ == nullptr; }
  size_t size() const { return size_; }
  T* front() const { return head_; }
  static T* next(T* item) { return (item->*Hook).next; }
  static bool linked(const T* item) { return (item->*Hook).linked; }

  void push_back(T* item) {
    ListHook<T>& h = item->*Hook;
    h.prev = tail_;
    h.next = nullptr;
    h.linked = true;
    if (tail_)
      (tail_->*Hook).next = item;
    else
      head_ = item;
    tail_ = item;
    ++size_;
  }
  void push_front(T* item) {
    ListHook<T>& h = item->*Hook;
    h.prev = nullptr;
    h.next = head_;
    h.linked = true;
    if (head_)
      (head_->*Hook).prev = item;
    else
      tail_ = item;
    head_ = item;
    ++size_;
  }
  void remove(T* item) {
    ListHook<T>& h = item->*Hook;
    if (!h.linked) return;
    if (h.prev)
      (h.prev->*Hook).next = h.next;
    else
      head_ = h.next;
    if (h.next)
      (h.next->*Hook).prev = h.prev;
    else
      tail_ = h.prev;
    h = ListHook<T>{};
    --size_;
  }
  T* pop_front() {
    T* item = head_;
    if (item) remove(item);
    return item;
  }

 private:
  T* head_ = nullptr;
  T* tail_ = nullptr;
  size_t size_ = 0;
};

}  // namespace sitehost::proxy
