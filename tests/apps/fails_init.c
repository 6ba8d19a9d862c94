/* fails_init: init writes to stderr and to the site log, then fails (500.30). */
#include <stdio.h>

#include <sitehost/handler.h>

SITEHOST_HANDLER_DEFINE_ABI_VERSION()

int sitehost_handler_init(const sitehost_site_info_t* info, void** app, char* error,
                          size_t error_size) {
  (void)app;
  fprintf(stderr, "fails_init: cannot open database 'orders': connection refused\n");
  fflush(stderr);
  sitehost_site_log(info->site, SITEHOST_LOG_ERROR, "fails_init: giving up");
  snprintf(error, error_size, "missing setting ORDERS_DB");
  return 7;
}

void sitehost_handler_request(void* app, sitehost_request_t* req) {
  (void)app;
  sitehost_response_finish(req);
}

void sitehost_handler_shutdown(void* app) {
  (void)app;
}
