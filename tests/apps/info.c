/* info: answers a JSON description of the request: method, target, path_base, path, query,
 * protocol, headers, remote and local address, tls, the size of the TLS client certificate
 * (client_cert_bytes, 0 when none) and the site (name, environment). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sitehost/handler.h>

SITEHOST_HANDLER_DEFINE_ABI_VERSION()

typedef struct {
  char* data;
  size_t len, cap;
} buf_t;

static void put(buf_t* b, const char* s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1) cap *= 2;
    char* p = (char*)realloc(b->data, cap);
    if (!p) abort();
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
}

static void puts_(buf_t* b, const char* s) {
  put(b, s, strlen(s));
}

static void put_json(buf_t* b, sitehost_str_t s) {
  put(b, "\"", 1);
  for (size_t i = 0; i < s.len; i++) {
    unsigned char c = (unsigned char)s.data[i];
    if (c == '"' || c == '\\') {
      char esc[2] = {'\\', (char)c};
      put(b, esc, 2);
    } else if (c < 0x20) {
      char esc[8];
      snprintf(esc, sizeof esc, "\\u%04x", c);
      put(b, esc, 6);
    } else {
      put(b, (const char*)&c, 1);
    }
  }
  put(b, "\"", 1);
}

static void put_field(buf_t* b, const char* name, sitehost_str_t value, int comma) {
  if (comma) puts_(b, ",");
  puts_(b, "\"");
  puts_(b, name);
  puts_(b, "\":");
  put_json(b, value);
}

static sitehost_str_t cstr(const char* s) {
  sitehost_str_t v = {s, strlen(s)};
  return v;
}

static void put_addr(buf_t* b, const char* name, const struct sockaddr* sa) {
  char ip[INET6_ADDRSTRLEN] = "", text[INET6_ADDRSTRLEN + 16] = "";
  if (sa && sa->sa_family == AF_INET) {
    const struct sockaddr_in* in = (const struct sockaddr_in*)sa;
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    snprintf(text, sizeof text, "%s:%u", ip, ntohs(in->sin_port));
  } else if (sa && sa->sa_family == AF_INET6) {
    const struct sockaddr_in6* in6 = (const struct sockaddr_in6*)sa;
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
    snprintf(text, sizeof text, "[%s]:%u", ip, ntohs(in6->sin6_port));
  }
  put_field(b, name, cstr(text), 1);
}

typedef struct {
  const sitehost_site_info_t* info;
} info_app_t;

int sitehost_handler_init(const sitehost_site_info_t* info, void** app, char* error,
                          size_t error_size) {
  info_app_t* a = (info_app_t*)calloc(1, sizeof *a);
  if (!a) {
    snprintf(error, error_size, "out of memory");
    return 1;
  }
  a->info = info; /* valid until shutdown */
  *app = a;
  return 0;
}

static void on_written(sitehost_request_t* req, int status, void* arg) {
  (void)req;
  (void)status;
  free(arg);
}

void sitehost_handler_request(void* app, sitehost_request_t* req) {
  const sitehost_site_info_t* si = ((info_app_t*)app)->info;
  buf_t b = {0};
  puts_(&b, "{");
  put_field(&b, "method", sitehost_request_method(req), 0);
  put_field(&b, "target", sitehost_request_target(req), 1);
  put_field(&b, "path_base", sitehost_request_path_base(req), 1);
  put_field(&b, "path", sitehost_request_path(req), 1);
  put_field(&b, "query", sitehost_request_query(req), 1);
  put_field(&b, "protocol", sitehost_request_protocol(req), 1);
  put_addr(&b, "remote", sitehost_request_remote_addr(req));
  put_addr(&b, "local", sitehost_request_local_addr(req));
  puts_(&b, sitehost_request_is_tls(req) ? ",\"tls\":true" : ",\"tls\":false");
  char cert_bytes[48];
  snprintf(cert_bytes, sizeof cert_bytes, ",\"client_cert_bytes\":%zu",
           sitehost_request_client_certificate(req).len);
  puts_(&b, cert_bytes);
  put_field(&b, "site", si->name, 1);
  puts_(&b, ",\"headers\":[");
  sitehost_str_t name, value;
  for (size_t i = 0; sitehost_request_header_at(req, i, &name, &value); i++) {
    puts_(&b, i ? ",[" : "[");
    put_json(&b, name);
    puts_(&b, ",");
    put_json(&b, value);
    puts_(&b, "]");
  }
  puts_(&b, "],\"environment\":{");
  for (size_t i = 0; i < si->environment_count; i++) {
    if (i) puts_(&b, ",");
    put_json(&b, si->environment[i].name);
    puts_(&b, ":");
    put_json(&b, si->environment[i].value);
  }
  puts_(&b, "}}\n");

  char length[32];
  snprintf(length, sizeof length, "%zu", b.len);
  sitehost_response_add_header(req, "Content-Type", "application/json");
  sitehost_response_add_header(req, "Content-Length", length);
  /* Zero-copy: the buffer is freed when the write is done. */
  if (sitehost_response_write(req, b.data, b.len, 0, on_written, b.data) != SITEHOST_OK)
    free(b.data);
  sitehost_response_finish(req);
}

void sitehost_handler_shutdown(void* app) {
  free(app);
}
