/* sync_io: blocking reads and writes. With allow_synchronous_io = true it runs on a worker
 * thread and echoes the body with sitehost_request_read / sitehost_response_write_sync. Without
 * it the first blocking call fails and the app answers 500 naming the error code. */
#include <stdio.h>
#include <string.h>

#include <sitehost/handler.h>

SITEHOST_HANDLER_DEFINE_ABI_VERSION()
SITEHOST_HANDLER_DEFINE_THREADING(SITEHOST_THREADING_CONCURRENT) /* no shared mutable state */

int sitehost_handler_init(const sitehost_site_info_t* info, void** app, char* error,
                          size_t error_size) {
  (void)info;
  (void)error;
  (void)error_size;
  *app = NULL;
  return 0;
}

static void report(sitehost_request_t* req, const char* what, long code) {
  char body[256];
  int n = snprintf(body, sizeof body, "%s failed: %ld (%s)\n", what, code,
                   sitehost_strerror((int)code));
  sitehost_response_set_status(req, 500, NULL);
  sitehost_response_add_header(req, "Content-Type", "text/plain");
  sitehost_response_add_header(req, "X-Sync-Error",
                               code == SITEHOST_E_SYNC_IO ? "SITEHOST_E_SYNC_IO" : "other");
  sitehost_response_write(req, body, (size_t)n, SITEHOST_WRITE_COPY, NULL, NULL);
  sitehost_response_finish(req);
}

void sitehost_handler_request(void* app, sitehost_request_t* req) {
  (void)app;
  char buf[16384];
  ssize_t n = sitehost_request_read(req, buf, sizeof buf);
  if (n < 0) {
    report(req, "sitehost_request_read", (long)n);
    return;
  }
  sitehost_response_add_header(req, "Content-Type", "application/octet-stream");
  while (n > 0) {
    int rc = sitehost_response_write_sync(req, buf, (size_t)n); /* zero-copy: we wait */
    if (rc != SITEHOST_OK) break;
    n = sitehost_request_read(req, buf, sizeof buf);
  }
  sitehost_response_finish(req);
}

void sitehost_handler_shutdown(void* app) {
  (void)app;
}
