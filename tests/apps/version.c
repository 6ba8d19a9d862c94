/* version: names its build in the body ("version v1\n"), for hot-swap tests. VERSION is a
 * build-time define: version.so is v1, version_v2.so (the same source, see CMakeLists.txt) is v2.
 * ?ms=N answers after N ms from the app's timer thread, so a request can outlive a swap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sitehost/handler.h>

#include "app_timers.h"

#ifndef VERSION
#define VERSION "v1"
#endif

SITEHOST_HANDLER_DEFINE_ABI_VERSION()
SITEHOST_HANDLER_DEFINE_THREADING(SITEHOST_THREADING_CONCURRENT) /* no shared mutable state */

static const char kBody[] = "version " VERSION "\n";

static void answer(void* arg) {
  sitehost_request_t* req = (sitehost_request_t*)arg;
  char length[16];
  snprintf(length, sizeof length, "%zu", sizeof kBody - 1);
  sitehost_response_add_header(req, "Content-Type", "text/plain");
  sitehost_response_add_header(req, "Content-Length", length);
  sitehost_response_write(req, kBody, sizeof kBody - 1, 0, NULL, NULL); /* static: no copy */
  sitehost_response_finish(req);
}

int sitehost_handler_init(const sitehost_site_info_t* info, void** app, char* error,
                          size_t error_size) {
  app_timers_t* t = (app_timers_t*)calloc(1, sizeof *t);
  if (!t || app_timers_start(t) != 0) {
    free(t);
    snprintf(error, error_size, "cannot start the timer thread");
    return 1;
  }
  sitehost_site_log(info->site, SITEHOST_LOG_INFO, "version " VERSION ": started");
  *app = t;
  return 0;
}

void sitehost_handler_request(void* app, sitehost_request_t* req) {
  uint64_t ms = app_query_number(sitehost_request_query(req), "ms", 0);
  if (ms == 0) {
    answer(req);
    return;
  }
  app_timers_add((app_timers_t*)app, ms, answer, req);
}

void sitehost_handler_shutdown(void* app) {
  app_timers_stop((app_timers_t*)app); /* every request was finished before shutdown */
  free(app);
}
