/* A tiny timer thread for the sample apps (header-only, C): entries fire on the app's own thread
 * at their deadline, so a handler can answer later without blocking sitehost's loop. Entries can
 * be cancelled (e.g. by an abort callback); whoever removes an entry first owns its request. */
#ifndef SITEHOST_TEST_APP_TIMERS_H_
#define SITEHOST_TEST_APP_TIMERS_H_

#include <pthread.h>
#include <sitehost/handler.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*app_timer_fn)(void* arg);

typedef struct app_timer_s {
  uint64_t deadline_ms;
  app_timer_fn fn;
  void* arg;
  struct app_timer_s* next;
} app_timer_t;

typedef struct app_timers_s {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  pthread_t thread;
  app_timer_t* head; /* sorted by deadline */
  int stopping;
} app_timers_t;

static inline uint64_t app_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void* app_timers_run(void* p) {
  app_timers_t* t = (app_timers_t*)p;
  pthread_mutex_lock(&t->mutex);
  while (!t->stopping) {
    if (!t->head) {
      pthread_cond_wait(&t->cond, &t->mutex);
      continue;
    }
    uint64_t now = app_now_ms();
    if (t->head->deadline_ms > now) {
      struct timespec until;
      uint64_t wake = t->head->deadline_ms;
      until.tv_sec = (time_t)(wake / 1000u);
      until.tv_nsec = (long)(wake % 1000u) * 1000000L;
      pthread_cond_timedwait(&t->cond, &t->mutex, &until);
      continue;
    }
    app_timer_t* e = t->head;
    t->head = e->next;
    pthread_mutex_unlock(&t->mutex);
    e->fn(e->arg);
    free(e);
    pthread_mutex_lock(&t->mutex);
  }
  pthread_mutex_unlock(&t->mutex);
  return NULL;
}

/* 0 on success. */
static inline int app_timers_start(app_timers_t* t) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_mutex_init(&t->mutex, NULL);
  pthread_cond_init(&t->cond, &attr);
  pthread_condattr_destroy(&attr);
  t->head = NULL;
  t->stopping = 0;
  return pthread_create(&t->thread, NULL, app_timers_run, t);
}

/* Runs fn(arg) on the timer thread after `ms`. */
static inline void app_timers_add(app_timers_t* t, uint64_t ms, app_timer_fn fn, void* arg) {
  app_timer_t* e = (app_timer_t*)calloc(1, sizeof *e);
  if (!e) abort();
  e->deadline_ms = app_now_ms() + ms;
  e->fn = fn;
  e->arg = arg;
  pthread_mutex_lock(&t->mutex);
  app_timer_t** at = &t->head;
  while (*at && (*at)->deadline_ms <= e->deadline_ms) at = &(*at)->next;
  e->next = *at;
  *at = e;
  pthread_cond_signal(&t->cond);
  pthread_mutex_unlock(&t->mutex);
}

/* Removes the pending entry whose arg is `arg`: 1 if it was pending (it will not run), else 0. */
static inline int app_timers_cancel(app_timers_t* t, void* arg) {
  int found = 0;
  pthread_mutex_lock(&t->mutex);
  for (app_timer_t** at = &t->head; *at; at = &(*at)->next) {
    if ((*at)->arg == arg) {
      app_timer_t* e = *at;
      *at = e->next;
      free(e);
      found = 1;
      break;
    }
  }
  pthread_mutex_unlock(&t->mutex);
  return found;
}

/* Stops and joins the thread; entries still pending are dropped (their fn does not run). */
static inline void app_timers_stop(app_timers_t* t) {
  pthread_mutex_lock(&t->mutex);
  t->stopping = 1;
  pthread_cond_signal(&t->cond);
  pthread_mutex_unlock(&t->mutex);
  pthread_join(t->thread, NULL);
  while (t->head) {
    app_timer_t* e = t->head;
    t->head = e->next;
    free(e);
  }
  pthread_cond_destroy(&t->cond);
  pthread_mutex_destroy(&t->mutex);
}

/* The value of query parameter `name` as a number (`fallback` when absent). */
static inline uint64_t app_query_number(sitehost_str_t query, const char* name, uint64_t fallback) {
  size_t n = strlen(name);
  const char* p = query.data;
  const char* end = query.data + query.len;
  while (p < end) {
    const char* amp = (const char*)memchr(p, '&', (size_t)(end - p));
    const char* stop = amp ? amp : end;
    if ((size_t)(stop - p) > n && memcmp(p, name, n) == 0 && p[n] == '=') {
      uint64_t v = 0;
      for (const char* d = p + n + 1; d < stop && *d >= '0' && *d <= '9'; d++)
        v = v * 10u + (uint64_t)(*d - '0');
      return v;
    }
    p = stop + 1;
  }
  return fallback;
}

#endif /* SITEHOST_TEST_APP_TIMERS_H_ */
