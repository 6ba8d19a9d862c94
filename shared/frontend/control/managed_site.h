// ManagedSite: what the router points at for each configured site. It outlives the hosting
// model's Site objects it creates, which lets the front end
//   - take a site offline while `app_offline.htm` exists in its physical_path: new requests get
//     503 with the file as body (text/html; read when it appears or changes, not per request),
//     the current Site is stopped (requests in flight finish, then its libraries are unloaded /
//     children stopped) and dropped; when the file goes, a fresh Site is built from the same
//     config (it starts lazily on the next request, or at once with preload). The file is
//     watched (uv_fs_event on the folder; read 50 ms after the first event of a burst, so a file
//     being created and written is read whole, not as the empty file its creation left) and
//     re-checked with a stat on requests at most every 200 ms, so a missed event cannot leave a
//     site stuck in either state;
//   - count in-flight requests and answer status for the admin API;
//   - recycle (or reload) one site on `ctl reload SITE`.
// The state lives as long as the ManagedSite, i.e. across reloads that leave the site unchanged.
//
// Threads: the ManagedSite lives on the control thread (start, stop, the watch, the app's
// lifecycle, status). handle() runs on the event loops; each loop reads only its own LoopView,
// which the control thread replaces through a broadcast (publish()). An app that leaves service
// is retired (stopped) only once every loop has the view without it, so no loop calls a stopped
// app; an offline page is freed only once no loop's view has it and no 503 is being written
// from it.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "shared/net/uv_handle.h"
#include "shared/site/metrics.h"
#include "shared/site/site.h"
#include "shared/thread/loop_counter.h"

namespace sitehost {

class ManagedSite final : public Site, public std::enable_shared_from_this<ManagedSite> {
 public:
  // Hands a Site that leaves service to its owner, which stops it, waits for `done` and destroys
  // it (Server::stop_site).
  using Retire = std::function<void(std::shared_ptr<Site>)>;

  ManagedSite(std::shared_ptr<const SiteConfig> config, SiteFactory factory, SiteContext context,
              SiteMetrics& metrics, Retire retire);
  ~ManagedSite() override;
  ManagedSite(const ManagedSite&) = delete;
  ManagedSite& operator=(const ManagedSite&) = delete;

  void handle(Exchange& exchange) override;
  // Retires the current app (it drains and stops on its own, tracked by the owner) and reports
  // done on the next loop turn (never inside the call: the server may be stopping other sites).
  void stop(std::function<void()> done) override;
  // Starts the watch, checks for app_offline.htm and builds the app. Idempotent (the server
  // calls it for every site after each reload).
  void start() override;

  // --- admin API ---
  const SiteConfig& config() const { return *config_; }
  SiteMetrics& metrics() const { return metrics_; }
  bool offline() const { return offline_; }
  // "running", "offline" or "stopping".
  const char* state() const;
  // The app's own status_json() ("" when there is no app or it reports nothing).
  std::string app_status() const;
  // The app's readiness() (a site that is offline or stopping holds nothing back).
  std::string readiness() const override;
  // `ctl reload SITE`: the app's reload() when the hosting model has one, else a recycle (a fresh
  // Site takes new requests, the old one drains and stops). Returns what happened.
  std::string reload_app();

 private:
  struct Page {
    std::string body;
    uint64_t seq = 0;                 // publication order
    std::atomic<uint32_t> writes{0};  // 503 bodies being written from it (on any loop)
    static void written(void* page, int status);
  };
  // What one loop sees (that loop's thread only, replaced by publish()).
  struct alignas(kCacheLine) LoopView {
    Site* app = nullptr;
    Page* page = nullptr;  // non-null: offline, answer this page
    bool stopping = false;
    uint64_t last_check_ms = 0;
  };
  struct FileId {
    int64_t mtime_ns = 0;
    int64_t size = -1;
    uint64_t inode = 0;
    bool operator==(const FileId&) const = default;
  };

  template <class S>
  std::string reload_or_recycle(S& app);
  void recycle();
  void create_app();
  // Gives every loop the current state; `then` runs on the control thread once all have it.
  void publish(std::function<void()> then = nullptr);
  // Retires `app` once no loop can call it any more.
  void retire_when_unpublished(std::shared_ptr<Site> app);
  // A loop saw the file appear or go before the control thread did: check (schedule_check).
  void request_check();
  // check_offline() kSettleMs from now (at once when the folder is not watched).
  void schedule_check();
  void check_offline();
  void load_page();
  void serve_offline(Exchange& exchange, Page& page);
  static void on_fs_event(uv_fs_event_t* handle, const char* filename, int events, int status);
  static constexpr uint64_t kSettleMs = 50;  // from a file event to reading the file

  std::shared_ptr<const SiteConfig> config_;
  SiteFactory factory_;
  SiteContext context_;
  SiteMetrics& metrics_;
  Retire retire_;
  std::filesystem::path offline_file_;
  std::shared_ptr<Site> app_;
  UvHandle<uv_fs_event_t> watch_;
  UvTimer settle_;                            // check_offline() kSettleMs after a file event
  std::vector<std::unique_ptr<Page>> pages_;  // back() is current; older ones while in use
  uint64_t page_seq_ = 0;
  uint64_t published_seq_ = 0;         // every loop's view has this page (or a newer one)
  std::unique_ptr<LoopView[]> views_;  // one per event loop
  FileId file_id_;
  bool started_ = false;
  bool stopping_ = false;
  bool offline_ = false;
};

}  // namespace sitehost
