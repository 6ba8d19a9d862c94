/* clash_a.so and clash_b.so export the same global names with different values. Loaded with
 * RTLD_LOCAL each keeps its own; with RTLD_GLOBAL the second would bind to the first's. */
#ifndef SITEHOST_TEST_CLASH_COMMON_H_
#define SITEHOST_TEST_CLASH_COMMON_H_

#include <string.h>

#include <sitehost/handler.h>

SITEHOST_HANDLER_DEFINE_ABI_VERSION()

/* Deliberately exported, deliberately the same names in both libraries. */
__attribute__((visibility("default"))) const char* clash_identity = CLASH_IDENTITY;
__attribute__((visibility("default"))) int clash_counter = 0;
__attribute__((visibility("default"), noinline)) const char* clash_who(void) {
  return clash_identity;
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
  const char* who = clash_who(); /* through the PLT/GOT: interposable if loaded globally */
  ++clash_counter;
  sitehost_response_add_header(req, "Content-Type", "text/plain");
  sitehost_response_write(req, who, strlen(who), SITEHOST_WRITE_COPY, NULL, NULL);
  sitehost_response_finish(req);
}

void sitehost_handler_shutdown(void* app) {
  (void)app;
}

#endif /* SITEHOST_TEST_CLASH_COMMON_H_ */
