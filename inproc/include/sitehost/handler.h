/* sitehost/handler.h: the in-process handler ABI. The only header an application needs.
 *
 * An in-process application is a shared library that sitehost loads into its own process and calls
 * directly. The library exports four C functions (the entry points); sitehost gives it a table of
 * server functions (sitehost_server_t) to answer requests with. Plain C types cross the boundary;
 * no allocation ever changes owner: the server never frees what the app allocated, and the reverse.
 *
 * Lifecycle of one loaded copy of the library (a "generation"):
 *
 *   load      sitehost checks the ELF header, dlopen()s the file with RTLD_NOW | RTLD_LOCAL (so
 *             two applications can export the same symbol names), resolves the entry points and
 *             calls sitehost_handler_abi_version(): the major must equal the server's, the minor
 *             must not be newer than the server's.
 *   init      sitehost_handler_init(info, &app, error, error_size) runs once, on a thread of its
 *             own (never the event loop), and must return within the site's startup_time_limit.
 *             Return 0 and set *app (any pointer, NULL allowed), or non-zero after writing a
 *             NUL-terminated message into `error`. What the library writes to stderr from dlopen
 *             until init returns is captured and shown on the error page (500.30 / 500.37).
 *   request   sitehost_handler_request(app, req) once per request. Requests that arrive while init
 *             runs wait for it. With allow_synchronous_io = false (the default) it runs on the
 *             event-loop thread that owns the request's connection and must not block; with true
 *             it runs on a worker thread and may block (sitehost_request_read,
 *             sitehost_response_write_sync). Either way the request belongs to the app until it
 *             calls sitehost_response_finish (or _abort) exactly once, from any thread, at any
 *             time (also after the client went away).
 *   shutdown  sitehost_handler_shutdown(app) runs off the loop once every request was finished and
 *             every handler call returned. It must stop every thread the app started: the library
 *             is dlclose()d right after it returns.
 *
 * Threads (1.3): sitehost may run several event loops (`[server] event_loops`), each on a thread
 * of its own; a connection, and every request on it, belongs to one loop. One app instance (one
 * init) serves all loops, so:
 *   - sitehost_handler_request may run on several loop threads AT THE SAME TIME (one call per
 *     loop at most; with allow_synchronous_io, on several worker threads at once).
 *   - Callbacks (read, write, abort) of a request run on that request's own loop thread, never
 *     on another loop's, and must not block. Callbacks of requests on different loops may run
 *     at the same time as each other and as sitehost_handler_request calls.
 *   - init and shutdown never overlap with any other call into the app.
 *   - Every server function may be called from any thread; work is marshalled onto the request's
 *     own loop. Calls on one request from one thread take effect in order (a call made on the
 *     loop thread while other threads' calls on the same request are still queued is queued
 *     behind them; its return value is still decided at once).
 * An app whose code is not safe to run on several threads at once says so (see
 * sitehost_handler_threading below): the server then serializes it, so that no two calls into
 * the app (sitehost_handler_request, read/write/abort callbacks) ever run at the same time, on
 * any threads. Every library built for ABI 1.0 to 1.2, and every library that does not export
 * sitehost_handler_threading, is treated as serial. A serial app is still called on several
 * threads (one call at a time), so it must not rely on thread-local state or on being called from
 * one particular thread. While a serial app's thread is blocked inside sitehost_request_read or
 * sitehost_response_write_sync (allow_synchronous_io), the server may make other calls into the
 * app: it lets go of its serialization there, exactly as the app must let go of its own lock
 * (see Re-entrancy).
 *
 * Re-entrancy: a server function never runs a callback before it returns (neither the calling
 * request's nor another request's, on any loop) and never applies another request's queued
 * calls. So an app may guard its state with one ordinary, non-recursive mutex held around every
 * server call and inside every callback (this is also how the server serializes a serial app).
 * It must not hold that mutex across a blocking call (sitehost_request_read,
 * sitehost_response_write_sync): the request's loop thread completes those and may need the
 * mutex for a callback meanwhile.
 *
 * Upgrades (1.2): a request offering one (sitehost_request_is_upgrade, e.g. a WebSocket handshake)
 * is accepted with sitehost_response_upgrade, which sends the 101; the request then carries raw
 * bytes both ways (body reads and response writes, unframed) until the app finishes it, which
 * closes the connection. The app may also answer it as a normal request.
 *
 * Views: every sitehost_str_t the server hands out points into the server's memory (the request
 * line and headers point into the connection's receive buffer) and stays valid until the app
 * calls sitehost_response_finish (or _abort), also after a client disconnect or a hot-swap abort,
 * except body data, which is valid only during the read callback that delivers it.
 */
#ifndef SITEHOST_HANDLER_H_
#define SITEHOST_HANDLER_H_

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- version -------------------------------------------------------------------------------- */

/* The major changes when the ABI breaks; the minor when functions are appended to
 * sitehost_server_t (an app built for minor N runs on any server with minor >= N).
 *   1.0  the first table
 *   1.1  request_client_certificate (the TLS client certificate, DER)
 *   1.2  request_is_upgrade, response_upgrade (WebSockets and other HTTP Upgrades)
 *   1.3  the threading contract for several event loops, and the optional export
 *        sitehost_handler_threading() (no table change) */
#define SITEHOST_HANDLER_ABI_MAJOR 1
#define SITEHOST_HANDLER_ABI_MINOR 3
#define SITEHOST_HANDLER_ABI_VERSION \
  ((uint32_t)((SITEHOST_HANDLER_ABI_MAJOR << 16) | SITEHOST_HANDLER_ABI_MINOR))
#define SITEHOST_HANDLER_ABI_VERSION_MAJOR(v) ((uint32_t)(v) >> 16)
#define SITEHOST_HANDLER_ABI_VERSION_MINOR(v) ((uint32_t)(v)&0xffffu)

/* --- errors --------------------------------------------------------------------------------- */

/* Every server function that can fail returns 0 or one of these (negative) codes. */
typedef enum {
  SITEHOST_OK = 0,
  SITEHOST_EOF = -1,         /* end of the request body (read callback) */
  SITEHOST_E_INVAL = -2,     /* bad argument: CR/LF/NUL in a header, status outside 100..999 */
  SITEHOST_E_STATE = -3,     /* not now: head already sent, finished twice, read started twice */
  SITEHOST_E_SYNC_IO = -4,   /* synchronous I/O is off for this site (allow_synchronous_io) */
  SITEHOST_E_DEADLOCK = -5,  /* a blocking call on the event-loop thread */
  SITEHOST_E_TOO_LARGE = -6, /* the request body is over max_request_body_size */
  SITEHOST_E_BAD_BODY = -7,  /* the request body's framing is malformed */
  SITEHOST_E_ABORTED = -8    /* the client went away, or the server ended the exchange */
} sitehost_errno_t;

static inline const char* sitehost_strerror(int code) {
  switch (code) {
    case SITEHOST_OK:
      return "success";
    case SITEHOST_EOF:
      return "end of request body";
    case SITEHOST_E_INVAL:
      return "invalid argument";
    case SITEHOST_E_STATE:
      return "operation not valid in the request's current state";
    case SITEHOST_E_SYNC_IO:
      return "synchronous I/O is disallowed for this site (set allow_synchronous_io = true)";
    case SITEHOST_E_DEADLOCK:
      return "blocking call on the event-loop thread";
    case SITEHOST_E_TOO_LARGE:
      return "request body exceeds max_request_body_size";
    case SITEHOST_E_BAD_BODY:
      return "malformed request body";
    case SITEHOST_E_ABORTED:
      return "request aborted";
    default:
      return "unknown error";
  }
}

/* --- types ---------------------------------------------------------------------------------- */

/* A view: `len` bytes at `data`, not NUL-terminated. */
typedef struct sitehost_str_s {
  const char* data;
  size_t len;
} sitehost_str_t;

/* One `environment` entry from the site's configuration. */
typedef struct sitehost_env_s {
  sitehost_str_t name;
  sitehost_str_t value;
} sitehost_env_t;

typedef struct sitehost_server_s sitehost_server_t;
typedef struct sitehost_site_s sitehost_site_t;
typedef struct sitehost_site_info_s sitehost_site_info_t;
typedef struct sitehost_request_s sitehost_request_t;

/* The site an app instance serves (one per generation). Valid until shutdown returns. */
struct sitehost_site_s {
  const sitehost_server_t* server; /* read-only */
  void* data;                      /* the app's to use */
  /* private fields follow */
};

/* One request. Valid from sitehost_handler_request until the app's sitehost_response_finish and
 * every write callback it is owed have run. */
struct sitehost_request_s {
  const sitehost_server_t* server; /* read-only */
  void* data;                      /* the app's to use (NULL for a new request) */
  /* private fields follow */
};

/* What init gets. Everything it points to stays valid until shutdown returns. */
struct sitehost_site_info_s {
  uint32_t abi_version; /* the server's SITEHOST_HANDLER_ABI_VERSION */
  uint32_t size;        /* sizeof(sitehost_site_info_t) as the server knows it */
  const sitehost_server_t* server;
  sitehost_site_t* site;             /* for sitehost_site_log */
  sitehost_str_t name;               /* the site's name from the config */
  sitehost_str_t path_base;          /* "" for a site at "/", else e.g. "/app" */
  sitehost_str_t physical_path;      /* the app's folder */
  sitehost_str_t handler_path;       /* the library file as configured */
  const sitehost_env_t* environment; /* the site's `environment` table, sorted by name */
  size_t environment_count;
  int allow_synchronous_io;       /* 0 or 1 */
  uint64_t max_request_body_size; /* 0 = unlimited */
};

/* Log levels for sitehost_site_log. */
typedef enum {
  SITEHOST_LOG_DEBUG = 0,
  SITEHOST_LOG_INFO = 1,
  SITEHOST_LOG_WARN = 2,
  SITEHOST_LOG_ERROR = 3
} sitehost_log_level_t;

/* Flags for sitehost_response_write. */
enum {
  /* The server copies the bytes before the call returns; without it they must stay valid until
   * the write callback runs (or, without a callback, as long as the app is loaded). */
  SITEHOST_WRITE_COPY = 1u << 0
};

/* --- callbacks ------------------------------------------------------------------------------ */

/* Body data: nread > 0 bytes at `data` (valid during the call only), SITEHOST_EOF at the end, or
 * another negative code (SITEHOST_E_TOO_LARGE, SITEHOST_E_BAD_BODY, SITEHOST_E_ABORTED), after
 * which no more calls come. */
typedef void (*sitehost_read_cb)(sitehost_request_t* req, ssize_t nread, const char* data);
/* One write is done: status 0 (handed to the socket) or negative (the bytes will never be sent).
 * Runs exactly once for every sitehost_response_write that returned 0 with a callback. */
typedef void (*sitehost_write_cb)(sitehost_request_t* req, int status, void* arg);
/* The client disconnected (or the server ended the exchange) before the response was finished.
 * Runs at most once; the app still calls sitehost_response_finish to release the request. */
typedef void (*sitehost_abort_cb)(sitehost_request_t* req);

/* --- the server function table -------------------------------------------------------------- */

/* Functions are only ever appended (minor version bump). Call them through the inline wrappers
 * below, which read the table from the request or site. */
struct sitehost_server_s {
  uint32_t abi_version; /* the server's SITEHOST_HANDLER_ABI_VERSION */
  uint32_t size;        /* sizeof(sitehost_server_t) as the server knows it */

  /* request line and headers: views valid until the request is finished */
  sitehost_str_t (*request_method)(const sitehost_request_t* req);
  sitehost_str_t (*request_target)(const sitehost_request_t* req); /* raw, as sent */
  sitehost_str_t (*request_path_base)(const sitehost_request_t* req);
  sitehost_str_t (*request_path)(const sitehost_request_t* req);  /* raw, starts with '/' */
  sitehost_str_t (*request_query)(const sitehost_request_t* req); /* without '?' */
  /* "HTTP/1.1", "HTTP/1.0" or "HTTP/2" */
  sitehost_str_t (*request_protocol)(const sitehost_request_t* req);
  int (*request_header)(const sitehost_request_t* req, const char* name, size_t name_len,
                        sitehost_str_t* value);
  size_t (*request_header_count)(const sitehost_request_t* req);
  int (*request_header_at)(const sitehost_request_t* req, size_t index, sitehost_str_t* name,
                           sitehost_str_t* value);
  const struct sockaddr* (*request_remote_addr)(const sitehost_request_t* req);
  const struct sockaddr* (*request_local_addr)(const sitehost_request_t* req);
  int (*request_is_tls)(const sitehost_request_t* req);
  int64_t (*request_content_length)(const sitehost_request_t* req);

  /* request body */
  int (*request_read_start)(sitehost_request_t* req, sitehost_read_cb cb);
  int (*request_read_stop)(sitehost_request_t* req);
  ssize_t (*request_read)(sitehost_request_t* req, char* buf, size_t len);

  /* response */
  int (*response_set_status)(sitehost_request_t* req, int status, const char* reason,
                             size_t reason_len);
  int (*response_add_header)(sitehost_request_t* req, const char* name, size_t name_len,
                             const char* value, size_t value_len);
  int (*response_write)(sitehost_request_t* req, const char* data, size_t len, unsigned flags,
                        sitehost_write_cb cb, void* arg);
  int (*response_write_sync)(sitehost_request_t* req, const char* data, size_t len);
  int (*response_finish)(sitehost_request_t* req);

  /* lifetime */
  int (*request_on_abort)(sitehost_request_t* req, sitehost_abort_cb cb);
  int (*request_is_aborted)(const sitehost_request_t* req);

  /* site */
  void (*site_log)(sitehost_site_t* site, int level, const char* message, size_t len);

  /* response, abnormal end */
  int (*response_abort)(sitehost_request_t* req);

  /* --- 1.1 --- */
  /* the verified TLS client certificate, DER bytes (binary, not a C string); len 0 when none */
  sitehost_str_t (*request_client_certificate)(const sitehost_request_t* req);

  /* --- 1.2 --- */
  /* 1 when the request offers a protocol upgrade (HTTP/1.1, Connection: upgrade + Upgrade, no
   * body), else 0 */
  int (*request_is_upgrade)(const sitehost_request_t* req);
  /* accepts the upgrade: sends the 101 head; from then on the request is a raw byte stream */
  int (*response_upgrade)(sitehost_request_t* req);
};

/* Whether `server`'s table has the function `member`: a table from an older server (minor) is
 * shorter. The inline wrappers for functions appended after 1.0 check it themselves. */
#define SITEHOST_SERVER_HAS(server, member) \
  ((server)->size >= offsetof(sitehost_server_t, member) + sizeof((server)->member))

/* --- entry points the library exports ------------------------------------------------------- */

#if defined(__GNUC__)
#define SITEHOST_HANDLER_EXPORT __attribute__((visibility("default")))
#else
#define SITEHOST_HANDLER_EXPORT
#endif

#define SITEHOST_HANDLER_SYMBOL_ABI_VERSION "sitehost_handler_abi_version"
#define SITEHOST_HANDLER_SYMBOL_INIT "sitehost_handler_init"
#define SITEHOST_HANDLER_SYMBOL_REQUEST "sitehost_handler_request"
#define SITEHOST_HANDLER_SYMBOL_SHUTDOWN "sitehost_handler_shutdown"
#define SITEHOST_HANDLER_SYMBOL_THREADING "sitehost_handler_threading" /* optional, 1.3 */

typedef uint32_t (*sitehost_handler_abi_version_fn)(void);
typedef int (*sitehost_handler_init_fn)(const sitehost_site_info_t* info, void** app, char* error,
                                        size_t error_size);
typedef void (*sitehost_handler_request_fn)(void* app, sitehost_request_t* req);
typedef void (*sitehost_handler_shutdown_fn)(void* app);
typedef int (*sitehost_handler_threading_fn)(void);

/* What sitehost_handler_threading() returns (1.3). */
typedef enum {
  /* Not thread-safe: the server makes sure no two calls into the app (request entry point and
   * callbacks) run at the same time. The default when the export is absent. */
  SITEHOST_THREADING_SERIAL = 0,
  /* Thread-safe: sitehost_handler_request and callbacks may run on several threads at once
   * (see Threads above). */
  SITEHOST_THREADING_CONCURRENT = 1
} sitehost_threading_t;

SITEHOST_HANDLER_EXPORT uint32_t sitehost_handler_abi_version(void);
SITEHOST_HANDLER_EXPORT int sitehost_handler_init(const sitehost_site_info_t* info, void** app,
                                                  char* error, size_t error_size);
SITEHOST_HANDLER_EXPORT void sitehost_handler_request(void* app, sitehost_request_t* req);
SITEHOST_HANDLER_EXPORT void sitehost_handler_shutdown(void* app);
/* Optional (1.3): called once after the library is loaded, before init, on the thread that runs
 * init. Ignored for libraries that report an ABI older than 1.3. Use the macro below. */
SITEHOST_HANDLER_EXPORT int sitehost_handler_threading(void);

/* Defines sitehost_handler_abi_version() for the version this header describes. Put it in one
 * source file of the library. */
#define SITEHOST_HANDLER_DEFINE_ABI_VERSION()                           \
  SITEHOST_HANDLER_EXPORT uint32_t sitehost_handler_abi_version(void) { \
    return SITEHOST_HANDLER_ABI_VERSION;                                \
  }

/* Defines sitehost_handler_threading() returning `mode` (SITEHOST_THREADING_CONCURRENT or
 * SITEHOST_THREADING_SERIAL). Put it in one source file of the library. */
#define SITEHOST_HANDLER_DEFINE_THREADING(mode)                  \
  SITEHOST_HANDLER_EXPORT int sitehost_handler_threading(void) { \
    return (mode);                                               \
  }

/* --- inline wrappers: sitehost_<noun>_<verb>(req, ...) -------------------------------------- */

static inline sitehost_str_t sitehost_request_method(const sitehost_request_t* req) {
  return req->server->request_method(req);
}
static inline sitehost_str_t sitehost_request_target(const sitehost_request_t* req) {
  return req->server->request_target(req);
}
static inline sitehost_str_t sitehost_request_path_base(const sitehost_request_t* req) {
  return req->server->request_path_base(req);
}
static inline sitehost_str_t sitehost_request_path(const sitehost_request_t* req) {
  return req->server->request_path(req);
}
static inline sitehost_str_t sitehost_request_query(const sitehost_request_t* req) {
  return req->server->request_query(req);
}
static inline sitehost_str_t sitehost_request_protocol(const sitehost_request_t* req) {
  return req->server->request_protocol(req);
}
/* First value of a header (case-insensitive name): 1 and *value set, or 0 when absent. */
static inline int sitehost_request_header(const sitehost_request_t* req, const char* name,
                                          sitehost_str_t* value) {
  return req->server->request_header(req, name, strlen(name), value);
}
static inline size_t sitehost_request_header_count(const sitehost_request_t* req) {
  return req->server->request_header_count(req);
}
/* Header `index` in arrival order: 1, or 0 when index >= count. */
static inline int sitehost_request_header_at(const sitehost_request_t* req, size_t index,
                                             sitehost_str_t* name, sitehost_str_t* value) {
  return req->server->request_header_at(req, index, name, value);
}
static inline const struct sockaddr* sitehost_request_remote_addr(const sitehost_request_t* req) {
  return req->server->request_remote_addr(req);
}
static inline const struct sockaddr* sitehost_request_local_addr(const sitehost_request_t* req) {
  return req->server->request_local_addr(req);
}
static inline int sitehost_request_is_tls(const sitehost_request_t* req) {
  return req->server->request_is_tls(req);
}
/* The TLS client certificate the server verified (client_certificate = "optional" or
 * "required"), as DER bytes: binary, not NUL-terminated, valid until the request is finished.
 * len 0 when there is none (plain HTTP, no certificate sent, or a server older than 1.1). */
static inline sitehost_str_t sitehost_request_client_certificate(const sitehost_request_t* req) {
  sitehost_str_t none = {"", 0};
  if (!SITEHOST_SERVER_HAS(req->server, request_client_certificate)) return none;
  return req->server->request_client_certificate(req);
}
/* 1 when the request offers a protocol upgrade (a WebSocket handshake, or any other Upgrade):
 * HTTP/1.1 with Connection: upgrade and an Upgrade header, and no body. Which protocol is asked
 * for is in the Upgrade header. 0 otherwise, and on a server older than 1.2. */
static inline int sitehost_request_is_upgrade(const sitehost_request_t* req) {
  if (!SITEHOST_SERVER_HAS(req->server, request_is_upgrade)) return 0;
  return req->server->request_is_upgrade(req);
}
/* The Content-Length, or -1 when the request has none (chunked, or no body). */
static inline int64_t sitehost_request_content_length(const sitehost_request_t* req) {
  return req->server->request_content_length(req);
}

/* Starts (or, after read_stop, resumes) delivering the body to `cb` on the loop thread. A request
 * without a body gets SITEHOST_EOF. The callback may run before read_start returns when data is
 * already there. */
static inline int sitehost_request_read_start(sitehost_request_t* req, sitehost_read_cb cb) {
  return req->server->request_read_start(req, cb);
}
/* Back-pressure: stops reading from the client until read_start is called again. Data already
 * received (at most one socket read) may still be delivered. */
static inline int sitehost_request_read_stop(sitehost_request_t* req) {
  return req->server->request_read_stop(req);
}
/* Blocking read (allow_synchronous_io = true only, never on the loop thread): bytes read, 0 at the
 * end of the body, or a negative code (SITEHOST_E_SYNC_IO when the site does not allow it). */
static inline ssize_t sitehost_request_read(sitehost_request_t* req, char* buf, size_t len) {
  return req->server->request_read(req, buf, len);
}

/* Status and headers accumulate until the first write or finish (the default status is 200).
 * `reason` may be NULL for the standard phrase. Transfer-Encoding and Connection are the
 * server's business; Content-Length set here frames the body. 101 is for upgrades only (see
 * sitehost_response_upgrade): SITEHOST_E_INVAL on a request that offers none. */
static inline int sitehost_response_set_status(sitehost_request_t* req, int status,
                                               const char* reason) {
  return req->server->response_set_status(req, status, reason, reason ? strlen(reason) : 0);
}
static inline int sitehost_response_add_header(sitehost_request_t* req, const char* name,
                                               const char* value) {
  return req->server->response_add_header(req, name, strlen(name), value, strlen(value));
}
/* Queues body bytes (the head goes first). Returns 0 and calls `cb` later (if not NULL), or a
 * negative code and never calls `cb`. See SITEHOST_WRITE_COPY for who keeps the bytes. For
 * back-pressure, keep the number of writes whose callback has not run bounded. */
static inline int sitehost_response_write(sitehost_request_t* req, const char* data, size_t len,
                                          unsigned flags, sitehost_write_cb cb, void* arg) {
  return req->server->response_write(req, data, len, flags, cb, arg);
}
/* Blocking write (allow_synchronous_io = true only, never on the loop thread): returns when the
 * bytes were handed to the socket, or with a negative code. */
static inline int sitehost_response_write_sync(sitehost_request_t* req, const char* data,
                                               size_t len) {
  return req->server->response_write_sync(req, data, len);
}
/* Ends the response. Call it exactly once per request, also after an abort or an error. Writes
 * still queued are sent; their callbacks still run. */
static inline int sitehost_response_finish(sitehost_request_t* req) {
  return req->server->response_finish(req);
}
/* Ends the response abnormally, instead of sitehost_response_finish: a 500 page when nothing was
 * sent yet, else the connection is cut so the client can tell the response is incomplete (the
 * analogue of HttpContext.Abort()). Releases the request like finish. */
static inline int sitehost_response_abort(sitehost_request_t* req) {
  return req->server->response_abort(req);
}
/* Accepts the upgrade the request offers (sitehost_request_is_upgrade): sends "101 Switching
 * Protocols" with the headers added so far (e.g. Upgrade, Sec-WebSocket-Accept; the server adds
 * Connection: upgrade). From then on the request is a raw byte stream both ways: body reads
 * (sitehost_request_read_start, or sitehost_request_read with allow_synchronous_io) deliver the
 * client's bytes as they arrive until it closes its side (SITEHOST_EOF), response writes send
 * bytes as they are (no framing), no timeout applies, and sitehost_response_finish closes the
 * connection. A client disconnect is an abort as for any request.
 * Errors: SITEHOST_E_INVAL when the request offers no upgrade (or the server is older than 1.2),
 * SITEHOST_E_STATE after a write, finish or an earlier upgrade, SITEHOST_E_ABORTED when the
 * client is gone. Setting status 101 first is optional (and SITEHOST_E_INVAL on a request that
 * offers no upgrade); writes between it and this call return SITEHOST_E_STATE. */
static inline int sitehost_response_upgrade(sitehost_request_t* req) {
  if (!SITEHOST_SERVER_HAS(req->server, response_upgrade)) return SITEHOST_E_INVAL;
  return req->server->response_upgrade(req);
}
/* Registers the abort callback (replacing any earlier one). When the request was already aborted
 * the callback runs soon on the loop thread. */
static inline int sitehost_request_on_abort(sitehost_request_t* req, sitehost_abort_cb cb) {
  return req->server->request_on_abort(req, cb);
}
static inline int sitehost_request_is_aborted(const sitehost_request_t* req) {
  return req->server->request_is_aborted(req);
}

/* Writes one line to sitehost's error log, prefixed with the site's name. During init the lines
 * are also shown on the 500.30 / 500.37 page (with detailed_errors). Any thread. */
static inline void sitehost_site_log(sitehost_site_t* site, int level, const char* message) {
  site->server->site_log(site, level, message, strlen(message));
}
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static inline void
sitehost_site_logf(sitehost_site_t* site, int level, const char* format, ...) {
  char line[1024];
  va_list args;
  va_start(args, format);
  int n = vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (n < 0) return;
  site->server->site_log(site, level, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* Looks `name` up in info->environment: 1 and *value set, or 0. */
static inline int sitehost_site_info_env(const sitehost_site_info_t* info, const char* name,
                                         sitehost_str_t* value) {
  size_t len = strlen(name);
  for (size_t i = 0; i < info->environment_count; i++) {
    const sitehost_env_t* e = &info->environment[i];
    if (e->name.len == len && memcmp(e->name.data, name, len) == 0) {
      *value = e->value;
      return 1;
    }
  }
  return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* SITEHOST_HANDLER_H_ */
