// The out-of-process Site: supervises child servers (child_slot.h) and proxies exchanges to them
// (forwarder.h, tunnel.h). See docs/out-of-process.md.
#pragma once

#include <uv.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/buffer_pool.h"
#include "proxy/forwarder.h"
#include "proxy/intrusive_list.h"
#include "proxy/port_allocator.h"
#include "proxy/uv_handle.h"
#include "shared/site/site.h"

namespace sitehost {

std::unique_ptr<Site> make_proxy_site(const SiteConfig& config, const SiteContext& context);

namespace proxy {

class ChildSlot;

class ProxySite final : public Site {
 public:
  ProxySite(const SiteConfig& config, const SiteContext& context);
  ~ProxySite() override;

  void handle(Exchange& exchange) override;
  void stop(std::function<void()> done) override;
  void start() override;

  // --- for slots and forwarders ---
  const SiteConfig& config() const { return config_; }
  Logger* log() const { return context_.log; }
  uv_loop_t* loop() const { return context_.loop; }
  uint64_t now() const { return uv_now(context_.loop); }
  BufferPool& buffers() { return buffers_; }
  PortAllocator& ports() { return ports_; }
  const std::string& launcher() const { return launcher_; }
  // sitehost's environment merged with the site's `environment` (the per-child variables are
  // added by the slot).
  const std::vector<std::string>& base_environment() const { return environment_; }
  bool stopping() const { return stopping_; }

  // request_timeout bookkeeping.
  void track(Forwarder& forwarder);
  void untrack(Forwarder& forwarder);
  void recycle(Forwarder& forwarder);

  // rapid_fails_per_minute: a failed start or a crash.
  void record_failure();
  // True (with an explanation) while more than rapid_fails_per_minute failures happened in the
  // last 60 s.
  bool rapid_fail_blocked(std::string* detail);

 private:
  Forwarder& acquire_forwarder();
  void sweep();
  void stop_children();
  void on_child_stopped();

  SiteConfig config_;
  SiteContext context_;
  BufferPool buffers_;
  PortAllocator ports_;
  std::string launcher_;
  std::vector<std::string> environment_;
  std::vector<std::unique_ptr<ChildSlot>> slots_;
  size_t next_slot_ = 0;
  std::vector<std::unique_ptr<Forwarder>> forwarders_;  // every forwarder ever made
  IntrusiveList<Forwarder, &Forwarder::free_hook> free_;
  IntrusiveList<Forwarder, &Forwarder::timed_hook> timed_;
  size_t busy_ = 0;
  Timer sweep_timer_;
  Timer drain_timer_;
  Timer done_timer_;
  std::array<uint64_t, 101> failures_{};  // ring of failure times (ms, loop clock)
  size_t failure_count_ = 0;
  size_t failure_next_ = 0;
  bool stopping_ = false;
  bool children_stopping_ = false;
  size_t children_running_ = 0;
  std::function<void()> stop_done_;
};

}  // namespace proxy
}  // namespace sitehost
