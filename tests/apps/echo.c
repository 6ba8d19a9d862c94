/* echo: streams the request body back as it arrives, with back-pressure: reading stops while
 * more than kHigh bytes are written but not yet flushed, and resumes below kLow. Memory stays
 * bounded whatever the body's size. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <sitehost/handler.h>

SITEHOST_HANDLER_DEFINE_ABI_VERSION()
SITEHOST_HANDLER_DEFINE_THREADING(SITEHOST_THREADING_CONCURRENT) /* no shared mutable state */

enum { kHigh = 1024 * 1024, kLow = 256 * 1024 };

typedef struct {
  size_t outstanding; /* bytes written, callback not yet run */
  int paused;
  int body_over;
  int body_error; /* the body did not arrive whole: the echo is incomplete */
  int finished;
} echo_t;

static void maybe_finish(sitehost_request_t* req) {
  echo_t* e = (echo_t*)req->data;
  if (!e->body_over || e->outstanding != 0 || e->finished) return;
  e->finished = 1;
  int failed = e->body_error;
  req->data = NULL;
  free(e);
  if (failed)
    sitehost_response_abort(req); /* never let a cut echo look complete */
  else
    sitehost_response_finish(req);
}

static void on_read(sitehost_request_t* req, ssize_t nread, const char* data);

static void on_written(sitehost_request_t* req, int status, void* arg) {
  (void)status;
  echo_t* e = (echo_t*)req->data;
  e->outstanding -= (size_t)(uintptr_t)arg;
  if (e->paused && e->outstanding <= kLow && !e->body_over) {
    e->paused = 0;
    sitehost_request_read_start(req, on_read);
  }
  maybe_finish(req);
}

static void on_read(sitehost_request_t* req, ssize_t nread, const char* data) {
  echo_t* e = (echo_t*)req->data;
  if (nread > 0) {
    if (sitehost_response_write(req, data, (size_t)nread, SITEHOST_WRITE_COPY, on_written,
                                (void*)(uintptr_t)nread) == SITEHOST_OK)
      e->outstanding += (size_t)nread;
    if (e->outstanding > kHigh && !e->paused) {
      e->paused = 1;
      sitehost_request_read_stop(req);
    }
    return;
  }
  /* SITEHOST_EOF, or an error (413 from the server when nothing was sent yet, client gone...) */
  e->body_over = 1;
  e->body_error = nread != SITEHOST_EOF;
  maybe_finish(req);
}

int sitehost_handler_init(const sitehost_site_info_t* info, void** app, char* error,
                          size_t error_size) {
  (void)info;
  (void)error;
  (void)error_size;
  *app = NULL;
  return 0;
}

void sitehost_handler_request(void* app, sitehost_request_t* req) {
  (void)app;
  echo_t* e = (echo_t*)calloc(1, sizeof *e);
  if (!e) {
    sitehost_response_set_status(req, 503, NULL);
    sitehost_response_finish(req);
    return;
  }
  req->data = e;
  sitehost_response_add_header(req, "Content-Type", "application/octet-stream");
  int64_t length = sitehost_request_content_length(req);
  if (length >= 0) {
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)length);
    sitehost_response_add_header(req, "Content-Length", text);
  }
  if (sitehost_request_read_start(req, on_read) != SITEHOST_OK) {
    e->body_over = 1;
    maybe_finish(req);
  }
}

void sitehost_handler_shutdown(void* app) {
  (void)app;
}
