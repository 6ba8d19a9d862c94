#include "shared/frontend/control/managed_site.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "shared/log/logger.h"

namespace sitehost {

namespace {

constexpr const char* kOfflineFile = "app_offline.htm";
constexpr uint64_t kRecheckMs = 200;
constexpr size_t kMaxPage = 4 * 1024 * 1024;
constexpr std::string_view kFallbackPage =
    "<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body>"
    "<h1>Service Unavailable</h1><p>The application is offline.</p></body></html>";

}  // namespace

ManagedSite::ManagedSite(std::shared_ptr<const SiteConfig> config, SiteFactory factory,
                         SiteContext context, SiteMetrics& metrics, Retire retire)
    : config_(std::move(config)),
      factory_(std::move(factory)),
      context_(context),
      metrics_(metrics),
      retire_(std::move(retire)),
      offline_file_(config_->physical_path / kOfflineFile) {
  context_.site_metrics = &metrics_;
  views_ = std::make_unique<LoopView[]>(context_.loops ? context_.loops->count() : 1);
}

ManagedSite::~ManagedSite() = default;

void ManagedSite::Page::written(void* page, int) {
  static_cast<Page*>(page)->writes.fetch_sub(1, std::memory_order_release);
}

void ManagedSite::start() {
  if (started_ || stopping_) return;
  started_ = true;
  int r =
      watch_.init([this](uv_fs_event_t* h) { return uv_fs_event_init(context_.loop, h); }, this);
  if (r == 0)
    r = uv_fs_event_start(watch_.get(), &ManagedSite::on_fs_event, config_->physical_path.c_str(),
                          0);
  if (r == 0) r = settle_.init(context_.loop, [this] { check_offline(); });
  if (r != 0) {
    watch_.close();
    settle_.close();
    context_.log->warn("site {}: cannot watch {} for {} ({}); checking on requests only",
                       config_->name, config_->physical_path.string(), kOfflineFile,
                       uv_strerror(r));
  }
  check_offline();
  if (!offline_ && !app_) create_app();
  publish();
}

void ManagedSite::create_app() {
  app_ = factory_(*config_, context_);
  if (app_) app_->start();
}

void ManagedSite::publish(std::function<void()> then) {
  LoopView view;
  view.app = app_.get();
  view.page = offline_ && !pages_.empty() ? pages_.back().get() : nullptr;
  view.stopping = stopping_;
  uint64_t seq = pages_.empty() ? 0 : pages_.back()->seq;
  std::weak_ptr<ManagedSite> weak = weak_from_this();
  broadcast(
      context_.loops,
      // Runs on loop i; `this` lives until every loop has run it (the server keeps a stopping
      // site until its stop is done, and stop() waits for a publish).
      [this, view](unsigned i) {
        uint64_t checked = views_[i].last_check_ms;
        views_[i] = view;
        views_[i].last_check_ms = checked;
      },
      [weak, seq, then = std::move(then)] {
        if (auto self = weak.lock()) self->published_seq_ = std::max(self->published_seq_, seq);
        if (then) then();
      });
}

void ManagedSite::retire_when_unpublished(std::shared_ptr<Site> app) {
  if (!app) return;
  publish([retire = retire_, app = std::move(app)]() mutable { retire(std::move(app)); });
}

void ManagedSite::stop(std::function<void()> done) {
  stopping_ = true;
  watch_.close();
  settle_.close();
  std::shared_ptr<Site> app = std::move(app_);
  app_.reset();
  // Done once no loop can reach the app; it drains and stops on its own, tracked by the owner.
  publish([retire = retire_, app = std::move(app), done = std::move(done)]() mutable {
    if (app) retire(std::move(app));
    if (done) done();
  });
}

void ManagedSite::handle(Exchange& exchange) {
  unsigned loop = exchange.loop_index();
  LoopView& view = views_[loop];
  if (view.stopping) {
    exchange.respond_error({503, 0, "the site is stopping"});
    return;
  }
  // A missed file event cannot leave the site stuck: every loop looks itself now and then.
  uint64_t now = uv_now(context_.loops ? context_.loops->loop(loop) : context_.loop);
  if (now - view.last_check_ms >= kRecheckMs) {
    view.last_check_ms = now;
    struct stat st {};
    bool present = ::stat(offline_file_.c_str(), &st) == 0;
    if (present != (view.page != nullptr)) request_check();
  }
  if (view.page) {
    serve_offline(exchange, *view.page);
    return;
  }
  if (!view.app) {
    exchange.respond_error({503, 0, "the site has no application"});
    return;
  }
  view.app->handle(exchange);
}

void ManagedSite::request_check() {
  if (!context_.loops) {
    schedule_check();
    return;
  }
  std::weak_ptr<ManagedSite> weak = weak_from_this();
  context_.loops->post_control([weak] {
    if (auto self = weak.lock()) self->schedule_check();
  });
}

// The file may be in the middle of being written: it is read kSettleMs after the first sign of a
// change (without the timer, i.e. when the folder cannot be watched, at once).
void ManagedSite::schedule_check() {
  if (!settle_)
    check_offline();
  else if (!settle_.active())
    settle_.start(kSettleMs);
}

void ManagedSite::on_fs_event(uv_fs_event_t* handle, const char* filename, int, int status) {
  auto* self = static_cast<ManagedSite*>(handle->data);
  if (!self) return;
  if (status < 0) {
    self->context_.log->warn("site {}: watching {}: {}", self->config_->name,
                             self->config_->physical_path.string(), uv_strerror(status));
    return;
  }
  // Without a name (overflow, the folder itself changed) check anyway. The events of one write
  // (create, then modify) come in a burst: one check after it.
  if (filename && std::strcmp(filename, kOfflineFile) != 0) return;
  self->schedule_check();
}

void ManagedSite::check_offline() {
  if (stopping_) return;
  struct stat st {};
  bool present = ::stat(offline_file_.c_str(), &st) == 0;
  Logger& log = *context_.log;
  if (!present) {
    if (!offline_) return;
    offline_ = false;
    metrics_.offline = false;
    file_id_ = {};
    log.info("site {}: {} removed: back online; the app starts on the next request", config_->name,
             kOfflineFile);
    create_app();
    publish();
    return;
  }
  FileId id{static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
            static_cast<int64_t>(st.st_size), static_cast<uint64_t>(st.st_ino)};
  if (offline_ && id == file_id_) return;
  file_id_ = id;
  load_page();
  if (offline_) {
    log.info("site {}: {} changed; answering with its new content", config_->name, kOfflineFile);
    publish();
    return;
  }
  offline_ = true;
  metrics_.offline = true;
  if (app_) {
    log.info("site {}: {} found: answering 503; stopping the app once its requests finish",
             config_->name, kOfflineFile);
    std::shared_ptr<Site> app = std::move(app_);
    app_.reset();
    retire_when_unpublished(std::move(app));
  } else {
    log.info("site {}: {} found: answering 503", config_->name, kOfflineFile);
    publish();
  }
}

void ManagedSite::load_page() {
  // Older pages stay while a loop may still answer from them or a 503 body is being written.
  std::erase_if(pages_, [this](const std::unique_ptr<Page>& p) {
    return p->seq < published_seq_ && p->writes.load(std::memory_order_acquire) == 0;
  });
  auto page = std::make_unique<Page>();
  page->seq = ++page_seq_;
  int fd = ::open(offline_file_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  bool ok = fd >= 0;
  if (ok) {
    char buffer[16 * 1024];
    for (;;) {
      ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n > 0) {
        size_t take = std::min(static_cast<size_t>(n), kMaxPage - page->body.size());
        page->body.append(buffer, take);
        if (page->body.size() >= kMaxPage) break;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      ok = n == 0 || page->body.size() >= kMaxPage;
      break;
    }
    ::close(fd);
  }
  if (!ok) {
    context_.log->warn("site {}: cannot read {}: {}; answering a default page", config_->name,
                       offline_file_.string(), std::strerror(errno));
    page->body.assign(kFallbackPage);
  }
  pages_.push_back(std::move(page));
}

void ManagedSite::serve_offline(Exchange& exchange, Page& page) {
  metrics_.loop(exchange.loop_index()).offline_responses.add();
  char length[24];
  auto end = fmt::format_to_n(length, sizeof length, "{}", page.body.size()).out;
  exchange.set_status(503);
  exchange.add_header("Content-Type", "text/html");
  exchange.add_header("Content-Length",
                      std::string_view(length, static_cast<size_t>(end - length)));
  if (!page.body.empty()) {
    page.writes.fetch_add(1, std::memory_order_relaxed);
    exchange.write(page.body, {&Page::written, &page});
  }
  exchange.finish();
}

const char* ManagedSite::state() const {
  if (stopping_) return "stopping";
  return offline_ ? "offline" : "running";
}

std::string ManagedSite::app_status() const {
  return app_ ? app_->status_json() : std::string();
}

std::string ManagedSite::readiness() const {
  return app_ && !stopping_ ? app_->readiness() : std::string();
}

// Site::reload() arrives with the hot-swap work; until a Site has one, reloading one site means
// a recycle. Detected at compile time so both states of the interface build.
template <class S>
std::string ManagedSite::reload_or_recycle(S& app) {
  if constexpr (requires { app.reload(); }) {
    app.reload();
    return fmt::format("site {}: reloading", config_->name);
  } else {
    recycle();
    return fmt::format("site {}: recycled (new requests go to a fresh instance)", config_->name);
  }
}

std::string ManagedSite::reload_app() {
  if (stopping_) return fmt::format("site {}: stopping", config_->name);
  if (offline_)
    return fmt::format("site {}: offline ({} present); nothing to reload", config_->name,
                       kOfflineFile);
  if (!app_) {
    create_app();
    publish();
  }
  if (!app_) return fmt::format("site {}: no application", config_->name);
  return reload_or_recycle(*app_);
}

void ManagedSite::recycle() {
  context_.log->info("site {}: recycling: a fresh instance takes new requests, the old one drains",
                     config_->name);
  std::shared_ptr<Site> old = std::move(app_);
  create_app();
  retire_when_unpublished(std::move(old));
}

}  // namespace sitehost
