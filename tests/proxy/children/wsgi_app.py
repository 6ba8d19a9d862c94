"""Test child for out-of-process hosting: a plain WSGI app served by gunicorn (gunicorn_conf.py).

  any other path   JSON: method, path, status, body_length, body_sha256, pid (the worker),
                   master_pid, the token in the environment and in MS-ASPNETCORE-TOKEN,
                   X-Forwarded-For, X-Test; ?status=N sets the status; X-Child: gunicorn and
                   X-Echo-Test: <X-Test> on the response
  /download?n=N    N bytes, Content-Length, byte i = i % 251
  /stream?id=X     chunked (no Content-Length): "part 1 of 3\n", then each next part once
                   /release?id=X was asked (30 s bound: then "timeout\n" and the end)
  /release?id=X    releases the next part of stream X: 200, or 409 when X is not waiting
  /die-mid?who=W   Content-Length 1000000, 1000 bytes, then the worker exits (code 7); with who=master it
                   SIGKILLs the gunicorn master first (the process sitehost supervises)
"""
import hashlib
import json
import os
import signal
import threading
import urllib.parse

TOKEN = os.environ.get("ASPNETCORE_TOKEN", "")
PATTERN = bytes(range(251)) * 4096  # a multiple of 251 long: every block starts at byte 0 of it
STATUS_TEXT = {200: "OK", 201: "Created", 409: "Conflict"}

_lock = threading.Lock()
_waiting = {}  # stream id -> threading.Event that releases its next part


def _status(code):
    return f"{code} {STATUS_TEXT.get(code, 'Status')}"


def _json(start_response, code, obj, headers=()):
    data = json.dumps(obj).encode()
    start_response(_status(code), [("Content-Type", "application/json"),
                                   ("Content-Length", str(len(data))), *headers])
    return [data]


def _download(start_response, n):
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(n))])
    while n:
        k = min(n, len(PATTERN))
        yield PATTERN[:k]
        n -= k


def _stream(start_response, stream_id):
    start_response("200 OK", [("Content-Type", "text/plain")])  # no Content-Length: chunked
    for part in (1, 2):
        released = threading.Event()
        # Registered before the part is written: a /release sent after the part arrived finds it.
        with _lock:
            _waiting[stream_id] = released
        yield f"part {part} of 3\n".encode()  # gunicorn sends it before asking for the next item
        ok = released.wait(30)
        with _lock:
            _waiting.pop(stream_id, None)
        if not ok:
            yield b"timeout\n"
            return
    yield b"part 3 of 3\n"


def _release(start_response, stream_id):
    with _lock:
        released = _waiting.pop(stream_id, None)
    if released is None:
        return _json(start_response, 409, {"released": False})
    released.set()
    return _json(start_response, 200, {"released": True})


def _die_mid(start_response, who):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "1000000")])
    yield b"y" * 1000
    # Reached once gunicorn has sent the part: the proxy has a started response to cut.
    if who == "master":
        os.kill(os.getppid(), signal.SIGKILL)
    os._exit(7)  # not 3 or 4: gunicorn's master halts when a worker exits with those (boot errors)


def _echo(environ, start_response, query):
    digest = hashlib.sha256()
    length = 0
    body = environ["wsgi.input"]
    while True:
        data = body.read(65536)
        if not data:
            break
        digest.update(data)
        length += len(data)
    extra = [("X-Child", "gunicorn")]
    if "HTTP_X_TEST" in environ:
        extra.append(("X-Echo-Test", environ["HTTP_X_TEST"]))
    return _json(start_response, int(query.get("status", "200")), {
        "server": "gunicorn",
        "method": environ["REQUEST_METHOD"],
        "path": environ["PATH_INFO"],
        "body_length": length,
        "body_sha256": digest.hexdigest(),
        "pid": os.getpid(),
        "master_pid": os.getppid(),
        "token_env": TOKEN,
        "token_header": environ.get("HTTP_MS_ASPNETCORE_TOKEN", ""),
        "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR", ""),
        "x_test": environ.get("HTTP_X_TEST", ""),
    }, extra)


def app(environ, start_response):
    path = environ["PATH_INFO"]
    query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    if path == "/download":
        return _download(start_response, int(query.get("n", "1048576")))
    if path == "/stream":
        return _stream(start_response, query.get("id", "x"))
    if path == "/release":
        return _release(start_response, query.get("id", "x"))
    if path == "/die-mid":
        return _die_mid(start_response, query.get("who", "worker"))
    return _echo(environ, start_response, query)
