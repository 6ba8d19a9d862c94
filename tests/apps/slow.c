/* slow: answers after ?ms=N (default 100) from the app's own timer thread: the loop is never
 * blocked, and the response is written and finished from another thread. */
#include <stdio.h>
#include <stdlib.h>

#include <sitehost/handler.h>

#include "app_timers.h"

SITEHOST_HANDLER_DEFINE_ABI_VERSION()
SITEHOST_HANDLER_DEFINE_THREADING(SITEHOST_THREADING_CONCURRENT) /* no shared mutable state */

typedef struct {
  sitehost_request_t* req;
  uint64_t ms;
  char body[64];
} pending_t;

static void answer(void* arg) {
  pending_t* p = (pending_t*)arg;
  int n = snprintf(p->body, sizeof p->body, "slept %llu ms\n", (unsigned long long)p->ms);
  char length[16];
  snprintf(length, sizeof length, "%d", n);
  sitehost_response_add_header(p->req, "Content-Type", "text/plain");
  sitehost_response_add_header(p->req, "Content-Length", length);
  sitehost_response_write(p->req, p->body, (size_t)n, SITEHOST_WRITE_COPY, NULL, NULL);
  sitehost_response_finish(p->req);
  free(p);
}

int sitehost_handler_init(const sitehost_site_info_t* info, void** app, char* error,
                          size_t error_size) {
  (void)info;
  app_timers_t* t = (app_timers_t*)calloc(1, sizeof *t);
  if (!t || app_timers_start(t) != 0) {
    free(t);
    snprintf(error, error_size, "cannot start the timer thread");
    return 1;
  }
  *app = t;
  return 0;
}

void sitehost_handler_request(void* app, sitehost_request_t* req) {
  pending_t* p = (pending_t*)calloc(1, sizeof *p);
  if (!p) abort();
  p->req = req;
  p->ms = app_query_number(sitehost_request_query(req), "ms", 100);
  app_timers_add((app_timers_t*)app, p->ms, answer, p);
}

void sitehost_handler_shutdown(void* app) {
  app_timers_stop((app_timers_t*)app); /* every request was finished before shutdown */
  free(app);
}
