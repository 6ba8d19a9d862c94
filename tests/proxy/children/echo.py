#!/usr/bin/env python3
"""Test child for out-of-process hosting: an HTTP/1.1 keep-alive server on 127.0.0.1:$ASPNETCORE_PORT.

Every start appends its pid to ./pids (the working directory is the site's physical_path).
GET/POST anything -> JSON: method, path, headers, body length/checksum, pid, client port, env
(systemd_env: which of systemd's service variables it sees), cwd.
Special paths (query ?ms=N / ?n=N):
  /sleep?ms=N      answer after N ms            /big?n=N        N bytes, Content-Length
  /chunked?n=N     N bytes, chunked             /crash          process exits, no answer
  /crash-mid       head + part of the body, then the process exits
  /short           Content-Length 100, 5 bytes, close          /garbage   not HTTP, close
  /drop            closes the connection without answering (the process lives on)
  /wait-close?id=X writes ./open-X, blocks until the connection closes, writes ./closed-X
  /head-then-wait?id=X  sends its head (chunked), writes ./head-X, waits until ./release-X exists
                   (30 s at most), then sends one chunk "released\n" and ends: an app that
                   flushes its head and then works (server-sent events, long polls)
  /continue        sends 100 Continue and 103 before the answer
  /upgrade         101 to an "echo" protocol: raw bytes echoed until EOF
Env: ECHO_START_DELAY_MS (sleep before listening), ECHO_REQUIRE_TOKEN=1 (400 without the right
MS-ASPNETCORE-TOKEN, like Kestrel's IIS integration), ECHO_IGNORE_SIGTERM=1. A request with an X-Close header gets Connection: close.
"""
import hashlib
import http.server
import json
import os
import signal
import socketserver
import sys
import time
import urllib.parse

PORT = int(os.environ["ASPNETCORE_PORT"])
TOKEN = os.environ.get("ASPNETCORE_TOKEN", "")
# What systemd hands a service, meant for sitehost alone: a child must not see them.
SYSTEMD_VARIABLES = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_PID", "LISTEN_FDS",
                     "LISTEN_FDNAMES", "JOURNAL_STREAM")


def query_int(query, name, default):
    values = urllib.parse.parse_qs(query).get(name)
    return int(values[0]) if values else default


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: stdout is for the tests' log checks
        pass

    def read_body(self):
        digest = hashlib.sha256()
        total = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    data = self.rfile.read(min(left, 65536))
                    if not data:
                        raise ConnectionError("short chunk")
                    digest.update(data)
                    total += len(data)
                    left -= len(data)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left:
                data = self.rfile.read(min(left, 65536))
                if not data:
                    raise ConnectionError("short body")
                digest.update(data)
                total += len(data)
                left -= len(data)
        return total, digest.hexdigest()

    def send_json(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        if self.headers.get("X-Close"):
            self.send_header("Connection", "close")
            self.close_connection = True
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, url.query
        if os.environ.get("ECHO_REQUIRE_TOKEN") == "1" and self.headers.get("MS-ASPNETCORE-TOKEN") != TOKEN:
            self.read_body()
            self.send_json(400, {"error": "missing or wrong MS-ASPNETCORE-TOKEN"})
            return
        if path == "/crash":
            os._exit(3)
        if path == "/sleep":
            time.sleep(query_int(query, "ms", 1000) / 1000)
        if path == "/big":
            n = query_int(query, "n", 1 << 20)
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            if self.command == "HEAD":
                return
            block = bytes(range(256)) * 256
            while n:
                k = min(n, len(block))
                self.wfile.write(block[:k])
                n -= k
            return
        if path == "/chunked":
            n = query_int(query, "n", 100000)
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            block = b"x" * 4000
            while n:
                k = min(n, len(block))
                self.wfile.write(b"%x\r\n%s\r\n" % (k, block[:k]))
                n -= k
            self.wfile.write(b"0\r\n\r\n")
            return
        if path == "/crash-mid":
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self.wfile.write(b"y" * 1000)
            self.wfile.flush()
            time.sleep(0.1)
            os._exit(4)
        if path == "/short":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
            self.wfile.flush()
            self.close_connection = True
            return
        if path == "/drop":
            self.close_connection = True
            return
        if path == "/garbage":
            self.wfile.write(b"this is not HTTP at all\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True
            return
        if path == "/wait-close":
            marker = "closed-" + urllib.parse.parse_qs(query).get("id", ["x"])[0]
            with open("open-" + marker[7:], "w") as f:
                f.write("open\n")
            self.connection.settimeout(30)
            try:
                while self.connection.recv(65536):
                    pass
            except OSError:
                pass
            with open(marker, "w") as f:
                f.write("closed\n")
            self.close_connection = True
            return
        if path == "/head-then-wait":
            name = urllib.parse.parse_qs(query).get("id", ["x"])[0]
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.flush()
            with open("head-" + name, "w") as f:
                f.write("sent\n")
            deadline = time.monotonic() + 30
            while not os.path.exists("release-" + name) and time.monotonic() < deadline:
                time.sleep(0.01)
            self.wfile.write(b"9\r\nreleased\n\r\n0\r\n\r\n")
            return
        if path == "/continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n")
        if path == "/upgrade":
            self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
            self.wfile.flush()
            while True:
                data = self.connection.recv(65536)
                if not data:
                    break
                self.connection.sendall(data)
            self.close_connection = True
            return
        length, digest = self.read_body()
        self.send_json(200, {
            "method": self.command,
            "target": self.path,
            "path": path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_length": length,
            "body_sha256": digest,
            "pid": os.getpid(),
            "client_port": self.client_address[1],
            "port": PORT,
            "token": TOKEN,
            "appl_path": os.environ.get("ASPNETCORE_APPL_PATH"),
            "physical_path": os.environ.get("ASPNETCORE_IIS_PHYSICAL_PATH"),
            "cwd": os.getcwd(),
            "env_extra": os.environ.get("ECHO_EXTRA"),
            "https_port": os.environ.get("ASPNETCORE_ANCM_HTTPS_PORT"),
            "systemd_env": sorted(n for n in SYSTEMD_VARIABLES if n in os.environ),
        })

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    if os.environ.get("ECHO_IGNORE_SIGTERM") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with open("pids", "a") as f:
        f.write(f"{os.getpid()}\n")
    delay = int(os.environ.get("ECHO_START_DELAY_MS", "0"))
    if delay:
        time.sleep(delay / 1000)
    server = Server(("127.0.0.1", PORT), Handler)
    print(f"echo: listening on 127.0.0.1:{PORT} pid {os.getpid()}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
