/* view_probe: holds each request on an app thread and reads every request view late. The thread
 * reads all views at once (keeping the views themselves), waits for the abort callback (a hot
 * swap's force_abort, or a client disconnect), then waits for the file VIEW_PROBE_FILE + ".go"
 * (the test creates it once other requests have run), reads every view again and appends both
 * readings to VIEW_PROBE_FILE ("early <views>" from the kept views, "late <views>" from fresh
 * calls), then finishes the request. The abort callback appends "aborted <target>". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sitehost/handler.h>

SITEHOST_HANDLER_DEFINE_ABI_VERSION()

#define MAX_HEADERS 16

typedef struct {
  sitehost_str_t method, target, path_base, path, query, protocol, host, cert;
  sitehost_str_t names[MAX_HEADERS], values[MAX_HEADERS];
  size_t header_count;
  const struct sockaddr* remote;
  const struct sockaddr* local;
  int tls;
  int64_t content_length;
} views_t;

typedef struct {
  char file[1024];
  pthread_mutex_t mutex;
  pthread_cond_t cond;
} probe_t;

typedef struct {
  probe_t* probe;
  sitehost_request_t* req;
  int aborted; /* under probe->mutex */
  pthread_t thread;
} held_t;

static void read_views(sitehost_request_t* req, views_t* v) {
  v->method = sitehost_request_method(req);
  v->target = sitehost_request_target(req);
  v->path_base = sitehost_request_path_base(req);
  v->path = sitehost_request_path(req);
  v->query = sitehost_request_query(req);
  v->protocol = sitehost_request_protocol(req);
  if (!sitehost_request_header(req, "Host", &v->host)) v->host.len = 0;
  v->cert = sitehost_request_client_certificate(req);
  v->header_count = sitehost_request_header_count(req);
  if (v->header_count > MAX_HEADERS) v->header_count = MAX_HEADERS;
  for (size_t i = 0; i < v->header_count; i++)
    sitehost_request_header_at(req, i, &v->names[i], &v->values[i]);
  v->remote = sitehost_request_remote_addr(req);
  v->local = sitehost_request_local_addr(req);
  v->tls = sitehost_request_is_tls(req);
  v->content_length = sitehost_request_content_length(req);
}

static int port_of(const struct sockaddr* sa) {
  if (!sa) return -1;
  if (sa->sa_family == AF_INET) return ntohs(((const struct sockaddr_in*)sa)->sin_port);
  if (sa->sa_family == AF_INET6) return ntohs(((const struct sockaddr_in6*)sa)->sin6_port);
  return -1;
}

#define S(x) (int)(x).len, (x).data

static void print_views(FILE* f, const char* what, const views_t* v) {
  fprintf(f, "%s method=%.*s target=%.*s path_base=%.*s path=%.*s query=%.*s protocol=%.*s", what,
          S(v->method), S(v->target), S(v->path_base), S(v->path), S(v->query), S(v->protocol));
  fprintf(f, " host=%.*s cert=%zu remote_port=%d local_port=%d tls=%d content_length=%lld",
          S(v->host), v->cert.len, port_of(v->remote), port_of(v->local), v->tls,
          (long long)v->content_length);
  fprintf(f, " headers=%zu", v->header_count);
  for (size_t i = 0; i < v->header_count; i++)
    fprintf(f, " [%.*s: %.*s]", S(v->names[i]), S(v->values[i]));
  fprintf(f, "\n");
}

static void append_line(const probe_t* p, const char* what, sitehost_str_t text) {
  FILE* f = fopen(p->file, "a");
  if (!f) return;
  fprintf(f, "%s %.*s\n", what, S(text));
  fclose(f);
}

/* Waits (bounded: 20 s) for `path` to exist. */
static void wait_for_file(const char* path) {
  for (int i = 0; i < 2000 && access(path, F_OK) != 0; i++) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

static void* hold(void* arg) {
  held_t* h = (held_t*)arg;
  probe_t* p = h->probe;
  views_t early, late;
  read_views(h->req, &early);
  pthread_mutex_lock(&p->mutex);
  while (!h->aborted) pthread_cond_wait(&p->cond, &p->mutex);
  pthread_mutex_unlock(&p->mutex);
  char go[1100];
  snprintf(go, sizeof go, "%s.go", p->file);
  wait_for_file(go);
  read_views(h->req, &late);
  FILE* f = fopen(p->file, "a");
  if (f) {
    print_views(f, "early", &early);
    print_views(f, "late", &late);
    fclose(f);
  }
  sitehost_response_finish(h->req);
  return NULL;
}

static void on_abort(sitehost_request_t* req) {
  held_t* h = (held_t*)req->data;
  append_line(h->probe, "aborted", sitehost_request_target(req));
  pthread_mutex_lock(&h->probe->mutex);
  h->aborted = 1;
  pthread_cond_broadcast(&h->probe->cond);
  pthread_mutex_unlock(&h->probe->mutex);
}

int sitehost_handler_init(const sitehost_site_info_t* info, void** app, char* error,
                          size_t error_size) {
  probe_t* p = (probe_t*)calloc(1, sizeof *p);
  sitehost_str_t file;
  if (!p || !sitehost_site_info_env(info, "VIEW_PROBE_FILE", &file) || file.len >= sizeof p->file) {
    free(p);
    snprintf(error, error_size, "VIEW_PROBE_FILE is not set in the site's environment");
    return 1;
  }
  memcpy(p->file, file.data, file.len);
  pthread_mutex_init(&p->mutex, NULL);
  pthread_cond_init(&p->cond, NULL);
  *app = p;
  return 0;
}

/* One request at a time is enough for the tests; its thread is joined at shutdown. */
static held_t* g_held;

void sitehost_handler_request(void* app, sitehost_request_t* req) {
  probe_t* p = (probe_t*)app;
  held_t* h = (held_t*)calloc(1, sizeof *h);
  if (!h || g_held) {
    free(h);
    sitehost_response_abort(req);
    return;
  }
  h->probe = p;
  h->req = req;
  req->data = h;
  g_held = h;
  sitehost_request_on_abort(req, on_abort);
  append_line(p, "started", sitehost_request_target(req));
  if (pthread_create(&h->thread, NULL, hold, h) != 0) {
    g_held = NULL;
    free(h);
    sitehost_response_abort(req);
  }
}

void sitehost_handler_shutdown(void* app) {
  probe_t* p = (probe_t*)app;
  if (g_held) {
    pthread_join(g_held->thread, NULL);
    free(g_held);
    g_held = NULL;
  }
  pthread_cond_destroy(&p->cond);
  pthread_mutex_destroy(&p->mutex);
  free(p);
}
