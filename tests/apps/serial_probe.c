/* serial_probe: an app that is NOT thread-safe and says so (SITEHOST_THREADING_SERIAL), for the
 * tests of the server's serialization on several event loops. Every call into it (the request
 * entry point and every callback) marks itself busy with an atomic exchange, stays a little
 * (so overlapping calls would really overlap) and bumps plain, non-atomic counters: a second call
 * running at the same time is counted as an overlap and logged (and, under ThreadSanitizer, the
 * counters race). GET /overlaps answers "overlaps=N calls=M".
 *
 * Other builds of the same source: serial_probe_abi12 reports ABI 1.2 and exports
 * sitehost_handler_threading() = CONCURRENT, which the server must ignore (a 1.2 library cannot
 * know the 1.3 contract): it is serialized too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sitehost/handler.h>

#ifdef SERIAL_PROBE_ABI_1_2
SITEHOST_HANDLER_EXPORT uint32_t sitehost_handler_abi_version(void) {
  return (uint32_t)((1u << 16) | 2u);
}
SITEHOST_HANDLER_DEFINE_THREADING(SITEHOST_THREADING_CONCURRENT)
#else
SITEHOST_HANDLER_DEFINE_ABI_VERSION()
SITEHOST_HANDLER_DEFINE_THREADING(SITEHOST_THREADING_SERIAL)
#endif

typedef struct {
  sitehost_site_t* site;
  int busy;       /* atomic: a call is running */
  long overlaps;  /* atomic: calls that found another one running */
  long calls;     /* plain: only ever touched by one call at a time (if the server serializes) */
  long in_flight; /* plain */
} probe_t;

static void stay(void) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) < 20000);
}

static void enter(probe_t* p) {
  if (__atomic_exchange_n(&p->busy, 1, __ATOMIC_ACQ_REL)) {
    __atomic_fetch_add(&p->overlaps, 1, __ATOMIC_RELAXED);
    sitehost_site_log(p->site, SITEHOST_LOG_ERROR, "serial_probe: overlapping calls");
  }
  p->calls++;
  stay();
}

static void leave(probe_t* p) {
  __atomic_store_n(&p->busy, 0, __ATOMIC_RELEASE);
}

static void on_written(sitehost_request_t* req, int status, void* arg) {
  (void)status;
  probe_t* p = (probe_t*)arg;
  enter(p);
  p->in_flight--;
  sitehost_response_finish(req);
  leave(p);
}

static void answer(probe_t* p, sitehost_request_t* req) {
  char body[96];
  int n = snprintf(body, sizeof body, "ok %ld\n", p->calls);
  sitehost_response_add_header(req, "Content-Type", "text/plain");
  sitehost_response_write(req, body, (size_t)n, SITEHOST_WRITE_COPY, on_written, p);
}

static void on_read(sitehost_request_t* req, ssize_t nread, const char* data) {
  (void)data;
  probe_t* p = (probe_t*)req->data;
  enter(p);
  if (nread == SITEHOST_EOF)
    answer(p, req);
  else if (nread < 0) {
    p->in_flight--;
    sitehost_response_abort(req);
  }
  leave(p);
}

int sitehost_handler_init(const sitehost_site_info_t* info, void** app, char* error,
                          size_t error_size) {
  probe_t* p = (probe_t*)calloc(1, sizeof *p);
  if (!p) {
    snprintf(error, error_size, "out of memory");
    return 1;
  }
  p->site = info->site;
  *app = p;
  return 0;
}

void sitehost_handler_request(void* app, sitehost_request_t* req) {
  probe_t* p = (probe_t*)app;
  enter(p);
  sitehost_str_t path = sitehost_request_path(req);
  if (path.len == 9 && memcmp(path.data, "/overlaps", 9) == 0) {
    char body[96];
    int n = snprintf(body, sizeof body, "overlaps=%ld calls=%ld\n",
                     __atomic_load_n(&p->overlaps, __ATOMIC_RELAXED), p->calls);
    sitehost_response_write(req, body, (size_t)n, SITEHOST_WRITE_COPY, NULL, NULL);
    sitehost_response_finish(req);
  } else {
    p->in_flight++;
    if (sitehost_request_content_length(req) > 0) {
      req->data = p;
      sitehost_request_read_start(req, on_read); /* the callback runs later, never in here */
    } else {
      answer(p, req);
    }
  }
  leave(p);
}

void sitehost_handler_shutdown(void* app) {
  free(app);
}
