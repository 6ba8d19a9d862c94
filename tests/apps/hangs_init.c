/* hangs_init: init does not return in time (500.37). It sleeps HANGS_INIT_MS (from the site's
 * environment; default one hour), then succeeds, so a late return can be tested too. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sitehost/handler.h>

SITEHOST_HANDLER_DEFINE_ABI_VERSION()

static const char kBody[] = "started late\n";

int sitehost_handler_init(const sitehost_site_info_t* info, void** app, char* error,
                          size_t error_size) {
  (void)error;
  (void)error_size;
  unsigned long ms = 3600UL * 1000UL;
  sitehost_str_t value;
  if (sitehost_site_info_env(info, "HANGS_INIT_MS", &value)) {
    char text[32] = {0};
    size_t n = value.len < sizeof text - 1 ? value.len : sizeof text - 1;
    for (size_t i = 0; i < n; i++) text[i] = value.data[i];
    ms = strtoul(text, NULL, 10);
  }
  fprintf(stderr, "hangs_init: waiting %lu ms before starting\n", ms);
  fflush(stderr);
  struct timespec ts = {(time_t)(ms / 1000UL), (long)(ms % 1000UL) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
  *app = NULL;
  return 0;
}

void sitehost_handler_request(void* app, sitehost_request_t* req) {
  (void)app;
  sitehost_response_write(req, kBody, sizeof kBody - 1, 0, NULL, NULL);
  sitehost_response_finish(req);
}

void sitehost_handler_shutdown(void* app) {
  (void)app;
}
