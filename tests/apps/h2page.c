/* h2page: a page with sub-resources for the browser test (tests/frontend/browser_h2_test.cpp),
 * served from memory: / (HTML), /a.js, /b.css and /c.png (a 1x1 PNG); anything else is a 404.
 * After the load event the page's inline script writes one line per navigation and resource
 * timing entry ("navigation / h2 200", "resource /a.js h2 200": kind, path, nextHopProtocol,
 * responseStatus) and whether the script ran, the image decoded and the stylesheet applied into
 * <pre id="protocols">, ending with "end", so that a headless browser's --dump-dom shows which
 * protocol it used for each. */
#include <stdio.h>
#include <string.h>

#include <sitehost/handler.h>

SITEHOST_HANDLER_DEFINE_ABI_VERSION()
SITEHOST_HANDLER_DEFINE_THREADING(SITEHOST_THREADING_CONCURRENT) /* read-only data only */

static const char kIndex[] =
    "<!doctype html>\n"
    "<html><head><meta charset=\"utf-8\"><title>h2page</title>\n"
    "<link rel=\"stylesheet\" href=\"/b.css\"><script src=\"/a.js\"></script></head>\n"
    "<body><img id=\"img\" src=\"/c.png\" alt=\"\"><pre id=\"protocols\">pending</pre>\n"
    "<script>\n"
    "window.addEventListener('load', function () {\n"
    "  var lines = [];\n"
    "  function add(kind, e) {\n"
    "    lines.push(kind + ' ' + new URL(e.name).pathname + ' ' + (e.nextHopProtocol || '-') +\n"
    "               ' ' + (e.responseStatus === undefined ? '-' : e.responseStatus));\n"
    "  }\n"
    "  performance.getEntriesByType('navigation').forEach(function (e) { add('navigation', e); "
    "});\n"
    "  performance.getEntriesByType('resource').forEach(function (e) { add('resource', e); });\n"
    "  var img = document.getElementById('img');\n"
    "  lines.push('script ' + (window.h2pageScript === true ? 'ran' : 'missing'));\n"
    "  lines.push('image ' + img.naturalWidth + 'x' + img.naturalHeight);\n"
    "  lines.push('css ' + getComputedStyle(document.body).getPropertyValue('--h2page').trim());\n"
    "  document.getElementById('protocols').textContent = lines.join('\\n') + '\\nend';\n"
    "});\n"
    "</script></body></html>\n";
static const char kScript[] = "window.h2pageScript = true;\n";
static const char kStyle[] = "body { --h2page: applied; }\n";
/* A 1x1 transparent RGBA PNG. */
static const unsigned char kPng[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
    0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
    0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78,
    0x9c, 0x63, 0x60, 0x00, 0x02, 0x00, 0x00, 0x05, 0x00, 0x01, 0x7a, 0x5e, 0xab, 0x3f,
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
static const char kNotFound[] = "not found\n";

typedef struct {
  const char* path;
  const char* type;
  const char* body;
  size_t size;
} file_t;

static const file_t kFiles[] = {
    {"/", "text/html; charset=utf-8", kIndex, sizeof kIndex - 1},
    {"/a.js", "text/javascript", kScript, sizeof kScript - 1},
    {"/b.css", "text/css", kStyle, sizeof kStyle - 1},
    {"/c.png", "image/png", (const char*)kPng, sizeof kPng},
};

int sitehost_handler_init(const sitehost_site_info_t* info, void** app, char* error,
                          size_t error_size) {
  (void)info;
  (void)error;
  (void)error_size;
  *app = NULL;
  return 0;
}

static void answer(sitehost_request_t* req, int status, const char* type, const char* body,
                   size_t size) {
  char length[24];
  int n = snprintf(length, sizeof length, "%zu", size);
  sitehost_response_set_status(req, status, NULL);
  req->server->response_add_header(req, "Content-Type", 12, type, strlen(type));
  req->server->response_add_header(req, "Content-Length", 14, length, (size_t)n);
  req->server->response_add_header(req, "Cache-Control", 13, "no-store", 8);
  req->server->response_write(req, body, size, 0, NULL, NULL); /* static: no copy, no cb */
  req->server->response_finish(req);
}

void sitehost_handler_request(void* app, sitehost_request_t* req) {
  (void)app;
  sitehost_str_t path = sitehost_request_path(req);
  for (size_t i = 0; i < sizeof kFiles / sizeof kFiles[0]; i++) {
    const file_t* f = &kFiles[i];
    if (path.len == strlen(f->path) && memcmp(path.data, f->path, path.len) == 0) {
      answer(req, 200, f->type, f->body, f->size);
      return;
    }
  }
  answer(req, 404, "text/plain", kNotFound, sizeof kNotFound - 1);
}

void sitehost_handler_shutdown(void* app) {
  (void)app;
}
