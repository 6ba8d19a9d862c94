// ManagedSite: what the router points at for each configured site. It outlives the hosting
// model's Site objects it creates, which lets the front end
//   - take a site offline while `app_offline.htm` exists in its physical_path: new requests get
//     503 with the file as body (text/html; read when it appears or changes, not per request),
//     the current Site is stopped (requests in flight finish, then its libraries are unloaded /
//     children stopped) and dropped; when the file goes, a fresh Site is built from the same
//     config (it starts lazily on the next request, or at once with preload). The file is
//     watched (uv_fs_event on the folder) and re-checked with a stat on requests at most every
//     200 ms, so a missed event cannot leave a site stuck in either state;
//   - count in-flight requests and answer status for the admin API;
//   - recycle (or reload) one site on `ctl reload SITE`.
// The state lives as long as the ManagedSite, i.e. across reloads that leave the site unchanged.
#pragma once

#include <uv.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "shared/net/uv_handle.h"
#include "shared/site/metrics.h"
#include "shared/site/site.h"

namespace sitehost {

class ManagedSite final : public Site {
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
  // `ctl reload SITE`: the app's reload() when the hosting model has one, else a recycle (a fresh
  // Site takes new requests, the old one drains and stops). Returns what happened.
  std::string reload_app();

 private:
  struct Page {
    std::string body;
    uint32_t writes = 0;  // 503 bodies being written from it
    static void written(void* page, int status);
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
  void check_offline();
  void load_page();
  void serve_offline(Exchange& exchange);
  static void on_fs_event(uv_fs_event_t* handle, const char* filename, int events, int status);

  std::shared_ptr<const SiteConfig> config_;
  SiteFactory factory_;
  SiteContext context_;
  SiteMetrics& metrics_;
  Retire retire_;
  std::filesystem::path offline_file_;
  std::shared_ptr<Site> app_;
  UvHandle<uv_fs_event_t> watch_;
  UvHandle<uv_timer_t> stop_timer_;
  std::function<void()> stop_done_;
  std::vector<std::unique_ptr<Page>> pages_;  // back() is current; older ones while written
  FileId file_id_;
  uint64_t last_check_ms_ = 0;
  bool checked_ = false;
  bool started_ = false;
  bool stopping_ = false;
  bool offline_ = false;
};

}  // namespace sitehost
