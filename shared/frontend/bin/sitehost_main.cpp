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
#include "shared/service/service_environment.h"
#include "shared/service/service_notifier.h"

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

// Raises the soft limit on open files to the hard one: one descriptor per connection
// (max_connections is the configured bound).
void raise_file_limit() {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
}

// Starts the server on `config` and runs it; the exit code. The service manager (systemd) hears
// READY=1 once every listener is open, or why the start failed.
int run_server(uv_loop_t* loop, sitehost::Logger& log, sitehost::service::ServiceNotifier& notifier,
               sitehost::service::InheritedListeners inherited, sitehost::Config config) {
  using namespace sitehost;
  Server server(loop, log,
                {{HostingModel::kInProcess, make_inproc_site},
                 {HostingModel::kOutOfProcess, make_proxy_site}});
  server.enable_admin();
  // The control thread (signals, admin API, reload, child supervision) serves no connection, so
  // a busy loop never delays it.
  server.set_control_serves_loop0(false);
  server.set_notifier(&notifier);
  server.inherit_listeners(std::move(inherited));
  std::string error = server.start(std::move(config));
  if (!error.empty()) {
    log.error("cannot start: {}", error);
    notifier.start_failed(error);
    uv_run(loop, UV_RUN_DEFAULT);  // let the handles close
    return 1;
  }
  log.info("sitehost {} started (pid {}, {} event loop(s))", SITEHOST_VERSION,
           static_cast<int>(getpid()), server.event_loops());
  notifier.ready(
      loop, [&server] { return server.service_status(); },
      [&server](std::function<void()> alive) { server.probe_loops(std::move(alive)); });
  return server.run();
}

// `sitehost [-c FILE]`: serve until stopped.
int serve(const Options& options) {
  using namespace sitehost;
  // Before any thread starts: the variables are read, then removed from the environment.
  service::ServiceEnvironment env = service::take_service_environment();
  Logger log;
  log.set_stderr_is_journal(env.journal_stderr);
  uv_loop_t loop;
  uv_loop_init(&loop);
  int code = 1;
  {
    service::ServiceNotifier notifier(std::move(env.notify), env.watchdog, log);
    if (!env.notify_error.empty()) log.warn("{}", env.notify_error);
    LoadResult loaded = load_config(options.config);
    std::string error = loaded.config ? env.listeners_error : loaded.error;
    if (!error.empty()) {
      std::fprintf(stderr, "%ssitehost: %s\n", env.journal_stderr ? "<3>" : "", error.c_str());
      notifier.start_failed(error);
    } else {
      std::signal(SIGPIPE, SIG_IGN);
      raise_file_limit();
      code = run_server(&loop, log, notifier, std::move(env.listeners), std::move(*loaded.config));
    }
  }  // the notifier's timers close here, the loop runs their close callbacks below
  uv_run(&loop, UV_RUN_NOWAIT);
  uv_loop_close(&loop);
  return code;
}

// `sitehost -t`: validate the configuration.
int check(const Options& options) {
  using namespace sitehost;
  LoadResult loaded = load_config(options.config);
  if (!loaded.config) {
    std::fprintf(stderr, "sitehost: %s\n", loaded.error.c_str());
    std::fprintf(stderr, "sitehost: configuration file %s test failed\n", options.config.c_str());
    return 1;
  }
  for (const auto& w : loaded.config->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  std::printf("sitehost: configuration file %s test is successful (%zu site(s))\n",
              loaded.config->file.c_str(), loaded.config->sites.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sitehost;
  Options options;
  if (argc > 1 && std::string_view(argv[1]) == "ctl")
    return run_ctl(argc, argv, options.config.c_str());
  if (argc > 1 && std::string_view(argv[1]) == "import") return run_import(argc, argv);
  if (int code = parse_options(argc, argv, options); code >= 0) return code;
  return options.check ? check(options) : serve(options);
}
