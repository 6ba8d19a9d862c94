// sitehost-app: the Kestrel role. Serves one in-process handler library over HTTP/1.1 on
// 127.0.0.1:$ASPNETCORE_PORT with $ASPNETCORE_APPL_PATH as its base path, and rejects requests
// that lack the pairing token ($ASPNETCORE_TOKEN in MS-ASPNETCORE-TOKEN) with 400, as Kestrel's
// IIS integration does. So any handler library runs in-process or out-of-process unchanged.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "inproc/inproc_site.h"
#include "shared/frontend/control/server.h"
#include "shared/log/logger.h"

extern char** environ;

namespace sitehost {
namespace {

constexpr const char* kUsage =
    "Usage: sitehost-app [--sync-io] HANDLER.so\n"
    "Serves HANDLER.so on 127.0.0.1:$ASPNETCORE_PORT (base path $ASPNETCORE_APPL_PATH);\n"
    "requests must carry MS-ASPNETCORE-TOKEN: $ASPNETCORE_TOKEN when that is set.\n";

// Answers 400 to requests without the pairing token, else hands them to the app.
class TokenCheckSite final : public Site {
 public:
  TokenCheckSite(std::unique_ptr<Site> inner, std::string token)
      : inner_(std::move(inner)), token_(std::move(token)) {}
  void handle(Exchange& exchange) override {
    if (!token_.empty() && exchange.request().header("MS-ASPNETCORE-TOKEN") != token_) {
      exchange.respond_error({400, 0, "MS-ASPNETCORE-TOKEN is missing or does not match"});
      return;
    }
    inner_->handle(exchange);
  }
  void stop(std::function<void()> done) override { inner_->stop(std::move(done)); }
  void start() override { inner_->start(); }
  void reload() override { inner_->reload(); }
  std::string status_json() const override { return inner_->status_json(); }

 private:
  std::unique_ptr<Site> inner_;
  std::string token_;
};

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

}  // namespace
}  // namespace sitehost

int main(int argc, char** argv) {
  using namespace sitehost;
  bool sync_io = false;
  std::string handler;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--sync-io")
      sync_io = true;
    else
      handler = arg;
  }
  if (handler.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  int port = std::atoi(env_or("ASPNETCORE_PORT", "5000").c_str());
  if (port <= 0 || port > 65535) {
    std::fprintf(stderr, "sitehost-app: ASPNETCORE_PORT is not a port number\n");
    return 2;
  }

  Config config;
  SiteConfig site;
  site.name = "app";
  site.bindings.push_back({"http", "127.0.0.1", static_cast<uint16_t>(port), true});
  site.path = env_or("ASPNETCORE_APPL_PATH", "/");
  if (site.path.size() > 1 && site.path.back() == '/') site.path.pop_back();
  site.physical_path = std::filesystem::current_path();
  site.hosting_model = HostingModel::kInProcess;
  site.handler = std::filesystem::absolute(handler);
  site.allow_synchronous_io = sync_io;
  site.max_allowed_content_length = UINT64_MAX;  // the front server already filtered
  site.max_request_body_size = 0;
  for (char** e = environ; *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq)
      site.environment.emplace(std::string(*e, static_cast<size_t>(eq - *e)), std::string(eq + 1));
  }
  site.preload = true;
  std::string token = env_or("ASPNETCORE_TOKEN", "");

  std::signal(SIGPIPE, SIG_IGN);
  uv_loop_t loop;
  uv_loop_init(&loop);
  Logger log;
  int code = 0;
  {
    // Phase 1, as Kestrel: the app starts (load + init) before anything listens, so a failed
    // start is a process that exits non-zero with the reason on stderr (sitehost's 502.5 page
    // shows it), never a listening process that answers 500.30.
    ServerConfig server_config = config.server;
    SiteContext context{&loop, &log, &server_config, nullptr};
    auto app = std::make_unique<inproc::InprocSite>(site, context);
    bool started = false, ok = false;
    std::string detail;
    app->on_first_start([&](bool success, const std::string& why) {
      started = true;
      ok = success;
      detail = why;
    });
    app->start();
    while (!started && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
    if (!ok) {
      std::fprintf(stderr, "sitehost-app: the application failed to start: %s\n",
                   detail.empty() ? "(no detail)" : detail.c_str());
      bool stopped = false;
      app->stop([&] { stopped = true; });
      while (!stopped && uv_run(&loop, UV_RUN_ONCE) != 0) {
      }
      app.reset();
      uv_run(&loop, UV_RUN_DEFAULT);
      code = 1;
    } else {
      // Phase 2: the started app is the server's only site.
      config.sites.push_back(std::move(site));
      // One loop: the app's site was built for this (control) loop. Scale out with `processes`.
      config.server.event_loops = 1;
      Server server(
          &loop, log,
          {{HostingModel::kInProcess, [&token, &app](const SiteConfig& c, const SiteContext& x) {
              std::unique_ptr<Site> inner =
                  app ? std::unique_ptr<Site>(std::move(app)) : make_inproc_site(c, x);
              return std::make_unique<TokenCheckSite>(std::move(inner), token);
            }}});
      std::string error = server.start(std::move(config));
      if (!error.empty()) {
        log.error("cannot start: {}", error);
        uv_run(&loop, UV_RUN_DEFAULT);
        code = 1;
      } else {
        std::printf("Now listening on: http://127.0.0.1:%d\n", port);
        std::fflush(stdout);
        code = server.run();
      }
    }
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  uv_loop_close(&loop);
  return code;
}
