/* missing_entry: a bad handler library (500.33): exports the version and init, but neither
 * sitehost_handler_request nor sitehost_handler_shutdown. */
#include <sitehost/handler.h>

SITEHOST_HANDLER_DEFINE_ABI_VERSION()

int sitehost_handler_init(const sitehost_site_info_t* info, void** app, char* error,
                          size_t error_size) {
  (void)info;
  (void)error;
  (void)error_size;
  *app = NULL;
  return 0;
}
