#!/usr/bin/env python3
"""Test child that ignores SIGTERM (needs SIGKILL) and has a grandchild in its process group.

Writes its pid and the grandchild's pid to ./pids, then serves like a minimal HTTP server."""
import http.server
import os
import signal
import subprocess

signal.signal(signal.SIGTERM, signal.SIG_IGN)
helper = subprocess.Popen(["sleep", "3600"])  # same process group: must die with the group
with open("pids", "a") as f:
    f.write(f"{os.getpid()}\n{helper.pid}\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        body = f'{{"pid": {os.getpid()}, "helper": {helper.pid}}}'.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["ASPNETCORE_PORT"])), Handler).serve_forever()
