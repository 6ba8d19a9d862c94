/* hello: the smallest handler, and the benchmark's fast path: a fixed body, zero-copy, no
 * allocation, answered on the loop thread inside the handler call. */
#include <sitehost/handler.h>

SITEHOST_HANDLER_DEFINE_ABI_VERSION()
SITEHOST_HANDLER_DEFINE_THREADING(SITEHOST_THREADING_CONCURRENT) /* no shared mutable state */

static const char kBody[] = "Hello, World!";

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
  const sitehost_server_t* s = req->server;
  s->response_add_header(req, "Content-Type", 12, "text/plain", 10);
  s->response_add_header(req, "Content-Length", 14, "13", 2);
  s->response_write(req, kBody, sizeof kBody - 1, 0, NULL, NULL); /* static: no copy, no cb */
  s->response_finish(req);
}

void sitehost_handler_shutdown(void* app) {
  (void)app;
}
