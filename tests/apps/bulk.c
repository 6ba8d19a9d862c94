/* bulk: answers ?bytes=N (default 8 MiB) zero bytes with a Content-Length, one static 64 KiB
 * chunk at a time: the next is written only when the last was handed to the socket, so memory
 * stays bounded however slowly the client reads (the slow-read tests). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sitehost/handler.h>

SITEHOST_HANDLER_DEFINE_ABI_VERSION()
SITEHOST_HANDLER_DEFINE_THREADING(SITEHOST_THREADING_CONCURRENT) /* kChunk is read-only */

enum { kChunkSize = 64 * 1024 };
static const char kChunk[kChunkSize]; /* zeros */

typedef struct {
  uint64_t remaining;
} bulk_t;

static void write_next(sitehost_request_t* req);

static void on_written(sitehost_request_t* req, int status, void* arg) {
  (void)arg;
  if (status < 0) { /* the client is gone: these bytes will never be sent */
    free(req->data);
    req->data = NULL;
    sitehost_response_abort(req);
    return;
  }
  write_next(req);
}

static void write_next(sitehost_request_t* req) {
  bulk_t* b = (bulk_t*)req->data;
  if (b->remaining == 0) {
    free(b);
    req->data = NULL;
    sitehost_response_finish(req);
    return;
  }
  size_t n = b->remaining < kChunkSize ? (size_t)b->remaining : kChunkSize;
  b->remaining -= n;
  if (sitehost_response_write(req, kChunk, n, 0, on_written, NULL) != SITEHOST_OK) {
    free(b);
    req->data = NULL;
    sitehost_response_abort(req);
  }
}

static uint64_t bytes_asked(sitehost_request_t* req) {
  sitehost_str_t q = sitehost_request_query(req);
  char text[32] = {0};
  if (q.len > 6 && q.len < sizeof text && memcmp(q.data, "bytes=", 6) == 0) {
    memcpy(text, q.data + 6, q.len - 6);
    return strtoull(text, NULL, 10);
  }
  return 8u * 1024 * 1024;
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
  bulk_t* b = (bulk_t*)calloc(1, sizeof *b);
  if (!b) {
    sitehost_response_set_status(req, 503, NULL);
    sitehost_response_finish(req);
    return;
  }
  b->remaining = bytes_asked(req);
  req->data = b;
  char length[32];
  snprintf(length, sizeof length, "%llu", (unsigned long long)b->remaining);
  sitehost_response_add_header(req, "Content-Type", "application/octet-stream");
  sitehost_response_add_header(req, "Content-Length", length);
  write_next(req);
}

void sitehost_handler_shutdown(void* app) {
  (void)app;
}
