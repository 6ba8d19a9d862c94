/* ws_echo: a minimal RFC 6455 WebSocket echo server over the upgrade functions of ABI 1.2.
 *
 * The handshake answers "101 Switching Protocols" with Sec-WebSocket-Accept (SHA-1 + base64 from
 * OpenSSL's libcrypto), then frames are parsed from the raw stream: masked client frames of any
 * length (7-bit, 16-bit and 64-bit), text and binary frames (and their continuations) echoed
 * unmasked with the same opcode and FIN bit, ping answered with pong, close answered with close
 * (the same status code), after which the request is finished (the server closes the
 * connection). A protocol error gets close 1002, a frame over kMaxFrame close 1009. Text is not
 * checked for valid UTF-8.
 *
 * Both dispatch modes: with allow_synchronous_io = true the handler runs on a worker thread and
 * uses the blocking sitehost_request_read / sitehost_response_write_sync on the raw stream; else
 * it reads with callbacks on the loop and writes with back-pressure (reading stops above kHigh
 * bytes written but not flushed, resumes below kLow).
 *
 * A request that is not a WebSocket handshake gets 426 Upgrade Required with a short text. The
 * environment variable WS_ECHO_PREFIX (from the site's `environment`, or the process environment
 * under sitehost-app) is put in front of every echoed message. The path /probe reports what the
 * upgrade functions return: in the body of a plain request, or in the first WebSocket message
 * (set_status 101, a write before the upgrade, the upgrade, a second one, a status after it).
 *
 * Built a second time with WS_ECHO_ABI_1_1 as ws_echo_abi11.so: a library built for ABI 1.1,
 * which knows nothing of upgrades and answers every request with the 426 text, naming 1.1. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <sitehost/handler.h>

#ifdef WS_ECHO_ABI_1_1
SITEHOST_HANDLER_EXPORT uint32_t sitehost_handler_abi_version(void) {
  return (uint32_t)((1u << 16) | 1u);
}
#define WS_ECHO_ABI "1.1"
#else
SITEHOST_HANDLER_DEFINE_ABI_VERSION()
#define WS_ECHO_ABI "1.2"
#endif

enum {
  kHigh = 1024 * 1024,
  kLow = 256 * 1024,
  kMaxFrame = 16 * 1024 * 1024,
  kMaxPrefix = 256,
  kReadSize = 64 * 1024
};

enum {
  OP_CONT = 0x0,
  OP_TEXT = 0x1,
  OP_BINARY = 0x2,
  OP_CLOSE = 0x8,
  OP_PING = 0x9,
  OP_PONG = 0xA
};

typedef struct {
  int sync_io;
  size_t prefix_len;
  char prefix[kMaxPrefix];
} ws_app_t;

typedef struct ws_conn ws_conn_t;
/* Sends one whole frame; 0 or a negative SITEHOST_E_* code. */
typedef int (*ws_send_fn)(ws_conn_t* c, const char* data, size_t len);

struct ws_conn {
  const ws_app_t* app;
  sitehost_request_t* req;
  ws_send_fn send;
  char* in; /* received bytes not yet parsed into a whole frame */
  size_t in_len, in_cap;
  char* out; /* the frame being sent (the server copies it, or waits while it is written) */
  size_t out_cap;
  size_t outstanding; /* async: bytes written, callback not yet run */
  int paused;         /* async: reads stopped for back-pressure */
  int done;           /* a close frame was sent (or sending failed): no more frames */
  int read_over;      /* the stream ended: EOF, error or abort */
  int finished;
};

/* --- frames -------------------------------------------------------------------------------- */

static int reserve(char** buf, size_t* cap, size_t need) {
  if (need <= *cap) return 1;
  size_t n = *cap ? *cap : 4096;
  while (n < need) n *= 2;
  char* p = (char*)realloc(*buf, n);
  if (!p) return 0;
  *buf = p;
  *cap = n;
  return 1;
}

/* Builds an unmasked frame: header, then `prefix`, then `payload` unmasked with `mask` (NULL when
 * the payload is plain), and sends it. */
static int send_frame(ws_conn_t* c, unsigned first_byte, const char* prefix, size_t prefix_len,
                      const unsigned char* payload, size_t len, const unsigned char* mask) {
  size_t total = prefix_len + len;
  size_t header = total < 126 ? 2 : total <= 0xffff ? 4 : 10;
  if (!reserve(&c->out, &c->out_cap, header + total)) return SITEHOST_E_ABORTED;
  unsigned char* o = (unsigned char*)c->out;
  o[0] = (unsigned char)first_byte;
  if (total < 126) {
    o[1] = (unsigned char)total;
  } else if (total <= 0xffff) {
    o[1] = 126;
    o[2] = (unsigned char)(total >> 8);
    o[3] = (unsigned char)total;
  } else {
    o[1] = 127;
    for (int i = 0; i < 8; i++) o[2 + i] = (unsigned char)((uint64_t)total >> (56 - 8 * i));
  }
  if (prefix_len) memcpy(o + header, prefix, prefix_len);
  unsigned char* p = o + header + prefix_len;
  for (size_t i = 0; i < len; i++)
    p[i] = mask ? (unsigned char)(payload[i] ^ mask[i & 3]) : payload[i];
  return c->send(c, c->out, header + total);
}

static void send_close(ws_conn_t* c, unsigned code) {
  unsigned char body[2] = {(unsigned char)(code >> 8), (unsigned char)code};
  send_frame(c, 0x80 | OP_CLOSE, NULL, 0, body, code ? 2 : 0, NULL);
  c->done = 1;
}

/* Parses and answers every whole frame in c->in. */
static void process_frames(ws_conn_t* c) {
  size_t at = 0;
  while (!c->done) {
    const unsigned char* f = (const unsigned char*)c->in + at;
    size_t avail = c->in_len - at;
    if (avail < 2) break;
    unsigned fin = f[0] & 0x80, rsv = f[0] & 0x70, op = f[0] & 0x0f;
    uint64_t len = f[1] & 0x7f;
    size_t header = 2;
    if (len == 126) {
      if (avail < 4) break;
      len = ((uint64_t)f[2] << 8) | f[3];
      header = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; i++) len = (len << 8) | f[2 + i];
      header = 10;
    }
    const int control = op >= 0x8;
    if (rsv || !(f[1] & 0x80) ||
        (op > OP_BINARY && op != OP_CLOSE && op != OP_PING && op != OP_PONG) ||
        (control && (!fin || len > 125))) {
      send_close(c, 1002); /* no extensions, clients must mask, no unknown opcodes */
      break;
    }
    if (len > kMaxFrame) {
      send_close(c, 1009);
      break;
    }
    if (avail < header + 4 + len) break; /* the rest of the frame is still on its way */
    const unsigned char* mask = f + header;
    const unsigned char* payload = mask + 4;
    at += header + 4 + (size_t)len;
    int rc = 0;
    switch (op) {
      case OP_PING:
        rc = send_frame(c, 0x80 | OP_PONG, NULL, 0, payload, (size_t)len, mask);
        break;
      case OP_PONG:
        break;
      case OP_CLOSE: {
        unsigned code = 0;
        if (len == 1) {
          code = 1002;
        } else if (len >= 2) {
          code = ((unsigned)(payload[0] ^ mask[0]) << 8) | (unsigned)(payload[1] ^ mask[1]);
        }
        send_close(c, code);
        break;
      }
      default: { /* text, binary, continuation: the same frame back, unmasked */
        int first = op != OP_CONT;
        rc = send_frame(c, fin | op, first ? c->app->prefix : NULL, first ? c->app->prefix_len : 0,
                        payload, (size_t)len, mask);
      }
    }
    if (rc != 0) c->done = 1; /* the client is gone */
  }
  memmove(c->in, c->in + at, c->in_len - at);
  c->in_len -= at;
}

static void feed(ws_conn_t* c, const char* data, size_t len) {
  if (c->done) return;
  if (!reserve(&c->in, &c->in_cap, c->in_len + len)) {
    send_close(c, 1011);
    return;
  }
  memcpy(c->in + c->in_len, data, len);
  c->in_len += len;
  process_frames(c);
}

static void conn_free(ws_conn_t* c) {
  free(c->in);
  free(c->out);
  free(c);
}

/* --- asynchronous mode (event loop) -------------------------------------------------------- */

static void async_maybe_finish(ws_conn_t* c) {
  if (c->finished || !(c->done || c->read_over) || c->outstanding != 0) return;
  c->finished = 1;
  sitehost_request_t* req = c->req;
  req->data = NULL;
  conn_free(c);
  sitehost_response_finish(req); /* closes the connection */
}

static void on_read(sitehost_request_t* req, ssize_t nread, const char* data);

static void on_written(sitehost_request_t* req, int status, void* arg) {
  (void)status; /* a failed write means the client is gone: the read or abort says so too */
  ws_conn_t* c = (ws_conn_t*)req->data;
  if (!c) return;
  c->outstanding -= (size_t)(uintptr_t)arg;
  if (c->paused && c->outstanding <= kLow && !c->done && !c->read_over) {
    c->paused = 0;
    sitehost_request_read_start(req, on_read);
  }
  async_maybe_finish(c);
}

static int async_send(ws_conn_t* c, const char* data, size_t len) {
  int rc = sitehost_response_write(c->req, data, len, SITEHOST_WRITE_COPY, on_written,
                                   (void*)(uintptr_t)len);
  if (rc == SITEHOST_OK) c->outstanding += len;
  return rc;
}

static void on_read(sitehost_request_t* req, ssize_t nread, const char* data) {
  ws_conn_t* c = (ws_conn_t*)req->data;
  if (!c) return;
  if (nread > 0) {
    feed(c, data, (size_t)nread);
    if (c->done) {
      sitehost_request_read_stop(req);
    } else if (c->outstanding > kHigh && !c->paused) {
      c->paused = 1;
      sitehost_request_read_stop(req);
    }
  } else {
    c->read_over = 1; /* SITEHOST_EOF: the client closed its side; or it is gone */
  }
  async_maybe_finish(c);
}

static void on_abort(sitehost_request_t* req) {
  ws_conn_t* c = (ws_conn_t*)req->data;
  if (!c) return;
  c->read_over = 1;
  async_maybe_finish(c);
}

/* --- synchronous mode (worker thread) ------------------------------------------------------ */

static int sync_send(ws_conn_t* c, const char* data, size_t len) {
  return sitehost_response_write_sync(c->req, data, len); /* zero-copy: returns once written */
}

static void serve_sync(ws_conn_t* c) {
  char* buf = (char*)malloc(kReadSize);
  while (buf && !c->done) {
    ssize_t n = sitehost_request_read(c->req, buf, kReadSize);
    if (n <= 0) break; /* 0: the client closed its side; < 0: gone, or the server stops */
    feed(c, buf, (size_t)n);
  }
  free(buf);
  sitehost_request_t* req = c->req;
  conn_free(c);
  sitehost_response_finish(req);
}

/* --- the handshake ------------------------------------------------------------------------- */

static int header_is(sitehost_request_t* req, const char* name, const char* want) {
  sitehost_str_t v;
  if (!sitehost_request_header(req, name, &v)) return 0;
  size_t n = strlen(want);
  return v.len == n && strncasecmp(v.data, want, n) == 0;
}

static void answer_text(sitehost_request_t* req, int status, const char* text) {
  char length[24];
  snprintf(length, sizeof length, "%zu", strlen(text));
  sitehost_response_set_status(req, status, NULL);
  sitehost_response_add_header(req, "Content-Type", "text/plain; charset=utf-8");
  sitehost_response_add_header(req, "Content-Length", length);
  if (status == 426) {
    sitehost_response_add_header(req, "Upgrade", "websocket");
    sitehost_response_add_header(req, "Sec-WebSocket-Version", "13");
  }
  sitehost_response_write(req, text, strlen(text), SITEHOST_WRITE_COPY, NULL, NULL);
  sitehost_response_finish(req);
}

/* Sec-WebSocket-Accept: base64(SHA-1(key + the RFC 6455 GUID)), 28 characters + NUL. */
static int accept_key(sitehost_str_t key, char out[29]) {
  static const char kGuid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  while (key.len && (key.data[0] == ' ' || key.data[0] == '\t')) key.data++, key.len--;
  while (key.len && (key.data[key.len - 1] == ' ' || key.data[key.len - 1] == '\t')) key.len--;
  if (key.len != 24) return 0; /* base64 of 16 bytes */
  unsigned char text[24 + sizeof kGuid];
  memcpy(text, key.data, 24);
  memcpy(text + 24, kGuid, sizeof kGuid - 1);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(text, 24 + sizeof kGuid - 1, digest);
  return EVP_EncodeBlock((unsigned char*)out, digest, SHA_DIGEST_LENGTH) == 28;
}

static const char kNotWebSocket[] =
    "ws_echo (ABI " WS_ECHO_ABI "): a WebSocket echo endpoint; connect with a WebSocket client\n";

int sitehost_handler_init(const sitehost_site_info_t* info, void** app, char* error,
                          size_t error_size) {
  ws_app_t* a = (ws_app_t*)calloc(1, sizeof *a);
  if (!a) {
    snprintf(error, error_size, "out of memory");
    return 1;
  }
  a->sync_io = info->allow_synchronous_io;
  sitehost_str_t prefix;
  if (sitehost_site_info_env(info, "WS_ECHO_PREFIX", &prefix)) {
    a->prefix_len = prefix.len < kMaxPrefix ? prefix.len : kMaxPrefix;
    memcpy(a->prefix, prefix.data, a->prefix_len);
  }
  *app = a;
  return 0;
}

void sitehost_handler_request(void* app, sitehost_request_t* req) {
#ifdef WS_ECHO_ABI_1_1
  (void)app;
  answer_text(req, 426, kNotWebSocket);
#else
  const ws_app_t* a = (const ws_app_t*)app;
  sitehost_str_t upgrade, key, path = sitehost_request_path(req);
  const int probe = path.len == 6 && memcmp(path.data, "/probe", 6) == 0;
  int websocket = sitehost_request_is_upgrade(req) &&
                  sitehost_request_header(req, "Upgrade", &upgrade) && upgrade.len == 9 &&
                  strncasecmp(upgrade.data, "websocket", 9) == 0;
  if (!websocket && probe) { /* what the upgrade functions say to a request without upgrade */
    char text[128];
    int status_101 = sitehost_response_set_status(req, 101, NULL);
    int accepted = sitehost_response_upgrade(req);
    snprintf(text, sizeof text, "probe: status_101=%d upgrade=%d\n", status_101, accepted);
    answer_text(req, 200, text);
    return;
  }
  if (!websocket) {
    answer_text(req, 426, kNotWebSocket);
    return;
  }
  char accept[29];
  if (!header_is(req, "Sec-WebSocket-Version", "13") ||
      !sitehost_request_header(req, "Sec-WebSocket-Key", &key) || !accept_key(key, accept)) {
    answer_text(req, 400, "ws_echo: bad WebSocket handshake (version 13 and a key required)\n");
    return;
  }
  ws_conn_t* c = (ws_conn_t*)calloc(1, sizeof *c);
  if (!c) {
    answer_text(req, 503, "ws_echo: out of memory\n");
    return;
  }
  c->app = a;
  c->req = req;
  c->send = a->sync_io ? sync_send : async_send;
  if (!a->sync_io) req->data = c;
  sitehost_response_add_header(req, "Upgrade", "websocket");
  sitehost_response_add_header(req, "Sec-WebSocket-Accept", accept);
  char report[160];
  int report_len = 0, accepted;
  if (probe) {
    /* The upgrade's rules, reported in the first message: 101 may be set first, but nothing is
     * written before the upgrade; one upgrade; no status change after it. */
    int status_101 = sitehost_response_set_status(req, 101, NULL);
    int early = a->sync_io ? sitehost_response_write_sync(req, "x", 1)
                           : sitehost_response_write(req, "x", 1, SITEHOST_WRITE_COPY, NULL, NULL);
    accepted = sitehost_response_upgrade(req);
    int again = sitehost_response_upgrade(req);
    int late_status = sitehost_response_set_status(req, 200, NULL);
    report_len = snprintf(report, sizeof report,
                          "probe: status_101=%d write_before_upgrade=%d upgrade=%d "
                          "upgrade_again=%d set_status_after=%d",
                          status_101, early, accepted, again, late_status);
  } else {
    accepted = sitehost_response_upgrade(req);
  }
  if (accepted != SITEHOST_OK) { /* the client is already gone */
    req->data = NULL;
    conn_free(c);
    sitehost_response_finish(req);
    return;
  }
  if (report_len > 0)
    send_frame(c, 0x80 | OP_TEXT, NULL, 0, (const unsigned char*)report, (size_t)report_len, NULL);
  if (a->sync_io) {
    serve_sync(c);
    return;
  }
  sitehost_request_on_abort(req, on_abort);
  if (sitehost_request_read_start(req, on_read) != SITEHOST_OK) {
    c->read_over = 1;
    async_maybe_finish(c);
  }
#endif
}

void sitehost_handler_shutdown(void* app) {
  free(app);
}
