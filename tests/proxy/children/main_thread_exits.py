#!/usr/bin/env python3
"""Test child whose main thread exits while a second thread keeps serving: the process is alive
and answers, but its thread-group leader shows as a zombie ('Z') in /proc/PID/stat. Every
response closes its connection (each request is a new connection); the body is the pid."""
import ctypes
import http.server
import os
import threading

PORT = int(os.environ["ASPNETCORE_PORT"])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        body = str(os.getpid()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


with open("pids", "a") as f:
    f.write(f"{os.getpid()}\n")
server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
threading.Thread(target=server.serve_forever).start()
# Ends the main thread only (ctypes releases the GIL for the call); the process lives on.
ctypes.CDLL(None).pthread_exit(None)
