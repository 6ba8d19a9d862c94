/* matrix_app: the matrix's handler for what the other sample apps do not do, routed by path
 * (after the site's base path):
 *   /status?code=N          answers status N with no body (204, 304 with an ETag, ...)
 *   /headers                response headers of its own (X-Matrix, two Set-Cookie, Cache-Control)
 *                           and the request's X-Echo-Me back as X-Echoed
 *   /chunked?chunks=K&size=S  K writes of S bytes, no Content-Length: a chunked response
 *   /download?bytes=N       N bytes with Content-Length
 *   /count                  reads the whole body, answers "N bytes" (a body over the limit: 413)
 * Bodies of /chunked and /download are the pattern byte i = 'a' + i % 23 (i counted over the
 * whole body), so a test can check them byte-exact. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sitehost/handler.h>

#include "app_timers.h" /* app_query_number */

SITEHOST_HANDLER_DEFINE_ABI_VERSION()

/* 23 * 2800 bytes: consecutive writes of the whole block continue the pattern. */
enum { kPeriod = 23, kBlock = kPeriod * 2800 };
static char pattern[kBlock];

int sitehost_handler_init(const sitehost_site_info_t* info, void** app, char* error,
                          size_t error_size) {
  (void)info;
  (void)error;
  (void)error_size;
  for (size_t i = 0; i < kBlock; i++) pattern[i] = (char)('a' + i % kPeriod);
  *app = NULL;
  return 0;
}

static int path_is(const sitehost_request_t* req, const char* want) {
  sitehost_str_t p = sitehost_request_path(req);
  return p.len == strlen(want) && memcmp(p.data, want, p.len) == 0;
}

static void set_length(sitehost_request_t* req, uint64_t n) {
  char text[32];
  snprintf(text, sizeof text, "%llu", (unsigned long long)n);
  sitehost_response_add_header(req, "Content-Length", text);
}

/* Writes n pattern bytes (zero-copy from the static block) in pieces of at most `piece`. */
static void write_pattern(sitehost_request_t* req, uint64_t n, size_t piece) {
  uint64_t at = 0;
  while (at < n) {
    size_t offset = (size_t)(at % kBlock);
    size_t len = kBlock - offset;
    if (len > piece) len = piece;
    if (len > n - at) len = (size_t)(n - at);
    if (sitehost_response_write(req, pattern + offset, len, 0, NULL, NULL) != SITEHOST_OK) return;
    at += len;
  }
}

static void on_count(sitehost_request_t* req, ssize_t nread, const char* data) {
  (void)data;
  uint64_t* total = (uint64_t*)req->data;
  if (nread > 0) {
    *total += (uint64_t)nread;
    return;
  }
  uint64_t n = *total;
  free(total);
  req->data = NULL;
  if (nread != SITEHOST_EOF) { /* over the limit: the server answers 413; else cut */
    if (nread == SITEHOST_E_TOO_LARGE)
      sitehost_response_finish(req);
    else
      sitehost_response_abort(req);
    return;
  }
  char body[48];
  int len = snprintf(body, sizeof body, "%llu bytes\n", (unsigned long long)n);
  set_length(req, (uint64_t)len);
  sitehost_response_write(req, body, (size_t)len, SITEHOST_WRITE_COPY, NULL, NULL);
  sitehost_response_finish(req);
}

void sitehost_handler_request(void* app, sitehost_request_t* req) {
  (void)app;
  sitehost_str_t query = sitehost_request_query(req);
  if (path_is(req, "/status")) {
    int code = (int)app_query_number(query, "code", 204);
    sitehost_response_set_status(req, code, NULL);
    if (code == 304) sitehost_response_add_header(req, "ETag", "\"matrix-1\"");
    sitehost_response_finish(req);
  } else if (path_is(req, "/headers")) {
    static const char body[] = "ok\n";
    sitehost_str_t echo;
    sitehost_response_add_header(req, "X-Matrix", "out");
    sitehost_response_add_header(req, "Set-Cookie", "a=1; Path=/");
    sitehost_response_add_header(req, "Set-Cookie", "b=2; Path=/");
    sitehost_response_add_header(req, "Cache-Control", "no-store");
    if (sitehost_request_header(req, "X-Echo-Me", &echo)) {
      char value[256];
      snprintf(value, sizeof value, "%.*s", (int)echo.len, echo.data);
      sitehost_response_add_header(req, "X-Echoed", value);
    }
    set_length(req, sizeof body - 1);
    sitehost_response_write(req, body, sizeof body - 1, 0, NULL, NULL);
    sitehost_response_finish(req);
  } else if (path_is(req, "/chunked")) {
    uint64_t chunks = app_query_number(query, "chunks", 3);
    uint64_t size = app_query_number(query, "size", 10);
    if (size == 0 || size > kBlock) size = kBlock;
    sitehost_response_add_header(req, "Content-Type", "text/plain");
    write_pattern(req, chunks * size, (size_t)size);
    sitehost_response_finish(req);
  } else if (path_is(req, "/download")) {
    uint64_t n = app_query_number(query, "bytes", 1000);
    sitehost_response_add_header(req, "Content-Type", "application/octet-stream");
    set_length(req, n);
    write_pattern(req, n, kBlock);
    sitehost_response_finish(req);
  } else if (path_is(req, "/count")) {
    uint64_t* total = (uint64_t*)calloc(1, sizeof *total);
    if (!total) abort();
    req->data = total;
    if (sitehost_request_read_start(req, on_count) != SITEHOST_OK)
      on_count(req, SITEHOST_EOF, NULL);
  } else {
    sitehost_response_set_status(req, 404, NULL);
    set_length(req, 0);
    sitehost_response_finish(req);
  }
}

void sitehost_handler_shutdown(void* app) {
  (void)app;
}
