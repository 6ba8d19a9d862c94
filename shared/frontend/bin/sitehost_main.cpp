// sitehost: the command line. Wires the hosting models into the server (the composition root).
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "inproc/inproc_site.h"
#include "proxy/proxy_site.h"
#include "shared/config/config_loader.h"
#include "shared/frontend/bin/import_command.h"
#include "shared/frontend/control/ctl.h"
#include "shared/frontend/control/server.h"
#include "shared/log/logger.h"

namespace {

constexpr const char* kUsage =
    "Usage: sitehost [options]\n"
    "       sitehost ctl [-c FILE] status | reload [SITE] | stop | metrics\n"
    "       sitehost import [--name NAME] [--binding URL]... WEB_CONFIG\n"
    "\n"
    "  -c, --config FILE   configuration file (TOML); default /etc/sitehost/sitehost.toml\n"
    "  -t, --check         validate the configuration and exit (0 = valid, 1 = invalid)\n"
    "  -h, --help          show this help\n"
    "  -v, --version       show the version\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads the configuration,\n"
    "SIGUSR1 reopens the log files.\n"
    "\n"
    "sitehost ctl --help and sitehost import --help describe those commands.\n";

struct Options {
  std::string config = "/etc/sitehost/sitehost.toml";
  bool check = false;
};

// Returns an exit code to stop with, or -1 to go on.
int parse_options(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "-v" || arg == "--version") {
      std::printf("sitehost %s\n", SITEHOST_VERSION);
      return 0;
    }
    if (arg == "-t" || arg == "--check") {
      options.check = true;
    } else if ((arg == "-c" || arg == "--config") && i + 1 < argc) {
      options.config = argv[++i];
    } else if (arg.starts_with("--config=")) {
      options.config = std::string(arg.substr(9));
    } else {
      std::fprintf(stderr, "sitehost: unknown option '%s'\n\n%s", argv[i], kUsage);
      return 2;
    }
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sitehost;
  Options options;
  if (argc > 1 && std::string_view(argv[1]) == "ctl")
    return run_ctl(argc, argv, options.config.c_str());
  if (argc > 1 && std::string_view(argv[1]) == "import") return run_import(argc, argv);
  if (int code = parse_options(argc, argv, options); code >= 0) return code;

  LoadResult loaded = load_config(options.config);
  if (!loaded.config) {
    std::fprintf(stderr, "sitehost: %s\n", loaded.error.c_str());
    if (options.check)
      std::fprintf(stderr, "sitehost: configuration file %s test failed\n", options.config.c_str());
    return 1;
  }
  if (options.check) {
    for (const auto& w : loaded.config->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    std::printf("sitehost: configuration file %s test is successful (%zu site(s))\n",
                loaded.config->file.c_str(), loaded.config->sites.size());
    return 0;
  }

  std::signal(SIGPIPE, SIG_IGN);
  // One descriptor per connection: allow as many as the hard limit does (max_connections is the
  // configured bound).
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  Logger log;
  int code = 0;
  {
    Server server(&loop, log,
                  {{HostingModel::kInProcess, make_inproc_site},
                   {HostingModel::kOutOfProcess, make_proxy_site}});
    server.enable_admin();
    // The control thread (signals, admin API, reload, child supervision) serves no connection, so
    // a busy loop never delays it.
    server.set_control_serves_loop0(false);
    std::string error = server.start(std::move(*loaded.config));
    if (!error.empty()) {
      log.error("cannot start: {}", error);
      uv_run(&loop, UV_RUN_DEFAULT);  // let the handles close
      code = 1;
    } else {
      log.info("sitehost {} started (pid {}, {} event loop(s))", SITEHOST_VERSION,
               static_cast<int>(getpid()), server.event_loops());
      code = server.run();
    }
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  uv_loop_close(&loop);
  return code;
}
