/* abi_mismatch: a bad handler library (500.33): built for a future major version of the ABI. */
#include <sitehost/handler.h>

SITEHOST_HANDLER_EXPORT uint32_t sitehost_handler_abi_version(void) {
  return (uint32_t)((SITEHOST_HANDLER_ABI_MAJOR + 1) << 16);
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
  sitehost_response_finish(req);
}

void sitehost_handler_shutdown(void* app) {
  (void)app;
}
