/* abort_probe: answers after ?ms=N (default 30000) from its timer thread, unless the client
 * disconnects first: then the abort callback appends "aborted <target>" to the file named by
 * ABORT_PROBE_FILE in the site's environment, and finishes the request. Each request also
 * appends "started <target>" when the app receives it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sitehost/handler.h>

#include "app_timers.h"

SITEHOST_HANDLER_DEFINE_ABI_VERSION()

typedef struct {
  app_timers_t timers;
  char file[1024];
} probe_t;

static void answer(void* arg) {
  sitehost_request_t* req = (sitehost_request_t*)arg;
  static const char body[] = "not aborted\n";
  sitehost_response_write(req, body, sizeof body - 1, 0, NULL, NULL);
  sitehost_response_finish(req);
}

static void record(const probe_t* p, const char* what, sitehost_request_t* req) {
  FILE* f = fopen(p->file, "a");
  if (!f) return;
  sitehost_str_t target = sitehost_request_target(req);
  fprintf(f, "%s %.*s\n", what, (int)target.len, target.data);
  fclose(f);
}

static void on_abort(sitehost_request_t* req) {
  probe_t* p = (probe_t*)req->data;
  if (!app_timers_cancel(&p->timers, req)) return; /* the timer thread got there first */
  record(p, "aborted", req);
  sitehost_response_finish(req);
}

int sitehost_handler_init(const sitehost_site_info_t* info, void** app, char* error,
                          size_t error_size) {
  probe_t* p = (probe_t*)calloc(1, sizeof *p);
  sitehost_str_t file;
  if (!p || !sitehost_site_info_env(info, "ABORT_PROBE_FILE", &file) ||
      file.len >= sizeof p->file) {
    free(p);
    snprintf(error, error_size, "ABORT_PROBE_FILE is not set in the site's environment");
    return 1;
  }
  memcpy(p->file, file.data, file.len);
  if (app_timers_start(&p->timers) != 0) {
    free(p);
    snprintf(error, error_size, "cannot start the timer thread");
    return 1;
  }
  *app = p;
  return 0;
}

void sitehost_handler_request(void* app, sitehost_request_t* req) {
  probe_t* p = (probe_t*)app;
  uint64_t ms = app_query_number(sitehost_request_query(req), "ms", 30000);
  req->data = p; /* the abort callback finds the app through the request */
  record(p, "started", req);
  sitehost_request_on_abort(req, on_abort);
  app_timers_add(&p->timers, ms, answer, req);
}

void sitehost_handler_shutdown(void* app) {
  probe_t* p = (probe_t*)app;
  app_timers_stop(&p->timers);
  free(p);
}
