/* one_lock: an app that holds ONE non-recursive mutex (the "app lock") around each of its server
 * calls and inside each of its callbacks, as a simple thread-safe app would. It deadlocks itself
 * if a server function runs another request's callback before returning.
 *
 *   GET /thread    answered by the app thread (write + finish under the app lock)
 *   GET /loop      answered at once on the loop thread (under the app lock)
 *   POST /victim   reads its body; when the read fails (client gone) it records
 *                  "victim-read <code>" in ONE_LOCK_FILE and waits for a /trigger
 *   GET /trigger   on the loop thread: has the app thread register the victim's abort callback
 *                  (after the fact, so it is owed "soon"), waits until it has, then answers
 *                  under the app lock. The victim's abort callback takes the app lock, records
 *                  "victim-abort" and finishes the victim.
 *
 * A thread that would lock the app lock twice writes "one_lock: self-deadlock in <what>" to
 * stderr first (and then deadlocks, as a real app would). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sitehost/handler.h>

SITEHOST_HANDLER_DEFINE_ABI_VERSION()

#define QUEUE_MAX 256

typedef struct {
  char file[1024];
  pthread_mutex_t app_lock; /* the one lock: around every server call and callback */
  /* The app thread's queue and the trigger handshake (never held across a server call). */
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  pthread_t thread;
  sitehost_request_t* queue[QUEUE_MAX];
  size_t head, count;
  sitehost_request_t* victim;
  int register_victim; /* the trigger asks the app thread to register the victim's abort cb */
  int registered;
  int stopping;
} app_t;

static __thread int holding; /* this thread holds app_lock */

static void lock_app(app_t* a, const char* what) {
  if (holding) fprintf(stderr, "one_lock: self-deadlock in %s\n", what);
  pthread_mutex_lock(&a->app_lock);
  holding = 1;
}

static void unlock_app(app_t* a) {
  holding = 0;
  pthread_mutex_unlock(&a->app_lock);
}

static void record(app_t* a, const char* line) {
  FILE* f = fopen(a->file, "a");
  if (!f) return;
  fprintf(f, "%s\n", line);
  fclose(f);
}

static void answer(sitehost_request_t* req, const char* body) {
  sitehost_response_add_header(req, "Content-Type", "text/plain");
  sitehost_response_write(req, body, strlen(body), SITEHOST_WRITE_COPY, NULL, NULL);
  sitehost_response_finish(req);
}

static void on_victim_abort(sitehost_request_t* req) {
  app_t* a = (app_t*)req->data;
  lock_app(a, "the victim's abort callback");
  record(a, "victim-abort");
  sitehost_response_finish(req);
  unlock_app(a);
}

static void on_victim_read(sitehost_request_t* req, ssize_t nread, const char* data) {
  (void)data;
  app_t* a = (app_t*)req->data;
  if (nread >= 0) return;
  lock_app(a, "the victim's read callback");
  char line[64];
  snprintf(line, sizeof line, "victim-read %d", (int)nread);
  pthread_mutex_lock(&a->mutex);
  a->victim = req;
  pthread_mutex_unlock(&a->mutex);
  record(a, line);
  unlock_app(a);
}

/* The app thread: answers queued requests, and registers the victim's abort callback when the
 * trigger asks. */
static void* run(void* arg) {
  app_t* a = (app_t*)arg;
  pthread_mutex_lock(&a->mutex);
  while (!a->stopping) {
    if (a->register_victim) {
      sitehost_request_t* victim = a->victim;
      a->register_victim = 0;
      pthread_mutex_unlock(&a->mutex);
      lock_app(a, "the app thread");
      if (victim) sitehost_request_on_abort(victim, on_victim_abort);
      unlock_app(a);
      pthread_mutex_lock(&a->mutex);
      a->registered = 1;
      pthread_cond_broadcast(&a->cond);
      continue;
    }
    if (a->count == 0) {
      pthread_cond_wait(&a->cond, &a->mutex);
      continue;
    }
    sitehost_request_t* req = a->queue[a->head];
    a->head = (a->head + 1) % QUEUE_MAX;
    a->count--;
    pthread_mutex_unlock(&a->mutex);
    lock_app(a, "the app thread");
    answer(req, "from the app thread\n");
    unlock_app(a);
    pthread_mutex_lock(&a->mutex);
  }
  pthread_mutex_unlock(&a->mutex);
  return NULL;
}

/* Loop thread: asks the app thread to register the victim's abort callback and waits (bounded)
 * until it has. 1 when it did. */
static int have_victim_registered(app_t* a) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 5;
  pthread_mutex_lock(&a->mutex);
  a->registered = 0;
  a->register_victim = 1;
  pthread_cond_broadcast(&a->cond);
  int rc = 0;
  while (!a->registered && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&a->cond, &a->mutex, &until);
  int ok = a->registered && a->victim != NULL;
  a->victim = NULL;
  pthread_mutex_unlock(&a->mutex);
  return ok;
}

static int is(sitehost_str_t s, const char* text) {
  return s.len == strlen(text) && memcmp(s.data, text, s.len) == 0;
}

void sitehost_handler_request(void* app, sitehost_request_t* req) {
  app_t* a = (app_t*)app;
  req->data = a;
  sitehost_str_t path = sitehost_request_path(req);
  if (is(path, "/thread")) {
    pthread_mutex_lock(&a->mutex);
    int queued = a->count < QUEUE_MAX;
    if (queued) {
      a->queue[(a->head + a->count) % QUEUE_MAX] = req;
      a->count++;
      pthread_cond_broadcast(&a->cond);
    }
    pthread_mutex_unlock(&a->mutex);
    if (queued) return;
  }
  if (is(path, "/victim")) {
    lock_app(a, "the victim's handler");
    record(a, "victim-started");
    sitehost_request_read_start(req, on_victim_read);
    unlock_app(a);
    return;
  }
  const char* body = "from the loop thread\n";
  if (is(path, "/trigger")) body = have_victim_registered(a) ? "triggered\n" : "no victim\n";
  lock_app(a, "a loop-thread handler");
  answer(req, body);
  unlock_app(a);
}

int sitehost_handler_init(const sitehost_site_info_t* info, void** app, char* error,
                          size_t error_size) {
  app_t* a = (app_t*)calloc(1, sizeof *a);
  sitehost_str_t file;
  if (!a || !sitehost_site_info_env(info, "ONE_LOCK_FILE", &file) || file.len >= sizeof a->file) {
    free(a);
    snprintf(error, error_size, "ONE_LOCK_FILE is not set in the site's environment");
    return 1;
  }
  memcpy(a->file, file.data, file.len);
  pthread_mutex_init(&a->app_lock, NULL); /* default type: not recursive */
  pthread_mutex_init(&a->mutex, NULL);
  pthread_cond_init(&a->cond, NULL);
  if (pthread_create(&a->thread, NULL, run, a) != 0) {
    snprintf(error, error_size, "cannot start the app thread");
    free(a);
    return 1;
  }
  *app = a;
  return 0;
}

void sitehost_handler_shutdown(void* app) {
  app_t* a = (app_t*)app;
  pthread_mutex_lock(&a->mutex);
  a->stopping = 1;
  pthread_cond_broadcast(&a->cond);
  pthread_mutex_unlock(&a->mutex);
  pthread_join(a->thread, NULL);
  pthread_cond_destroy(&a->cond);
  pthread_mutex_destroy(&a->mutex);
  pthread_mutex_destroy(&a->app_lock);
  free(a);
}
