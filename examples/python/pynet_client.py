#!/usr/bin/env python3
"""A small PyNet Chat client: Python 3.8+ standard library only.

It joins a PyNet server (PROTOCOL.md, version 1), sends every line of stdin
as a public message and prints what arrives as readable lines. End of input
(Ctrl-D, or the end of a pipe) leaves the chat politely.

    python3 pynet_client.py --name alice
    python3 pynet_client.py --host chat.example --port 5050 --name bob
    echo "hello" | python3 pynet_client.py --name bot
    python3 pynet_client.py --name alice --tls --tls-ca cert.pem

A few lines are commands: /users, /msg NAME TEXT, /nick NAME, /quit.
Start a message with // to send a line that begins with /.

How it works, in the protocol's terms:
  * Frames are JSON objects, one per line, ending in LF (NDJSON). TCP is a
    byte stream, so the reader keeps a buffer and cuts lines out of it; it
    never buffers more than one maximum frame (64 KiB), whatever the server
    sends.
  * The main thread reads the socket; a second thread reads stdin. Both send,
    so sends go through a lock: frames from the two never interleave.
  * The server pings a silent client now and then; the reader answers pong.
  * Everything received is shown with control characters neutralised, so
    nothing a server or another user sends can drive your terminal.
"""

import argparse
import json
import socket
import ssl
import sys
import threading
import time

DEFAULT_PORT = 5050
MAX_FRAME = 65536  # longest line the client accepts from the server, bytes
RECV_SIZE = 16384
LEAVE_GRACE = 5.0  # seconds to wait for the server's bye after leave


def neutralise(text):
    """Return text safe to print on a terminal.

    C0 controls (except TAB), DEL and C1 controls become visible escapes such
    as \\x1b, so an escape sequence is shown, not obeyed. LF is left to the
    caller, which indents continuation lines.
    """
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\t\n":
            out.append(ch)
        elif code < 0x20 or code == 0x7F or 0x80 <= code <= 0x9F:
            out.append("\\x%02x" % code)
        elif code in (0x2028, 0x2029) or 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
            # Line separators and bidi overrides: they can reorder or split
            # what the terminal shows.
            out.append("\\u%04x" % code)
        else:
            out.append(ch)
    return "".join(out)


def show(value):
    """neutralise any JSON value for display."""
    if isinstance(value, str):
        return neutralise(value)
    return neutralise(json.dumps(value, ensure_ascii=False))


def clock(ts):
    """HH:MM:SS from an RFC 3339 timestamp, or the local time if it is odd."""
    if isinstance(ts, str) and len(ts) >= 19 and ts[10] == "T":
        return neutralise(ts[11:19])
    return time.strftime("%H:%M:%S")


def indent(text, width):
    """Indent continuation lines of a multi-line message under its first."""
    return text.replace("\n", "\n" + " " * width)


def render(frame):
    """Return the line to print for a frame from the server, or None."""
    t = frame.get("type")
    if t == "message":
        head = "[%s] <%s> " % (clock(frame.get("ts")), show(frame.get("from", "?")))
        if frame.get("history"):
            head = "(earlier) " + head
        return head + indent(show(frame.get("text", "")), len(head))
    if t == "private":
        head = "[%s] *%s -> %s* " % (clock(frame.get("ts")), show(frame.get("from", "?")),
                                     show(frame.get("to", "?")))
        return head + indent(show(frame.get("text", "")), len(head))
    if t == "welcome":
        users = ", ".join(show(u) for u in frame.get("users") or [])
        return "* joined as %s; online: %s" % (show(frame.get("username", "?")), users)
    if t == "joined":
        return "* %s joined" % show(frame.get("username", "?"))
    if t == "left":
        return "* %s left (%s)" % (show(frame.get("username", "?")), show(frame.get("reason", "?")))
    if t == "renamed":
        return "* %s is now %s" % (show(frame.get("from", "?")), show(frame.get("to", "?")))
    if t == "users":
        return "* online: " + ", ".join(show(u) for u in frame.get("users") or [])
    if t == "error":
        return "! %s: %s" % (show(frame.get("code", "?")), show(frame.get("message", "")))
    if t == "bye":
        return "* the server closed the connection (%s)" % show(frame.get("reason", "?"))
    if t in ("ack", "ping", "pong"):
        return None
    return "? " + show(frame)


class LineBuffer:
    """Cuts a byte stream into LF-terminated lines of at most max_line bytes.

    A longer line is dropped through its LF without being kept, and reported
    once as None, so a misbehaving server cannot make the client grow.
    """

    def __init__(self, max_line=MAX_FRAME):
        self.max_line = max_line
        self.buf = bytearray()
        self.discarding = False

    def feed(self, data):
        """Add received bytes; return the complete lines (bytes, or None for
        a line that was too long), without LF or a CR before it."""
        lines = []
        self.buf += data
        while True:
            i = self.buf.find(b"\n")
            if i < 0:
                if len(self.buf) > self.max_line + 1:  # + 1: a CR may follow
                    self.buf.clear()
                    if not self.discarding:
                        self.discarding = True
                        lines.append(None)
                return lines
            line = bytes(self.buf[:i])
            del self.buf[: i + 1]
            if self.discarding:
                self.discarding = False
                continue
            if line.endswith(b"\r"):
                line = line[:-1]
            if len(line) > self.max_line:
                lines.append(None)
            elif line.strip(b" \t\r"):
                lines.append(line)


class Session:
    """One connection to the server. send may be called from any thread."""

    def __init__(self, sock, out):
        self.sock = sock
        self.out = out
        self.send_lock = threading.Lock()
        self.leaving = False

    def send(self, frame):
        data = (json.dumps(frame, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        with self.send_lock:
            try:
                self.sock.sendall(data)
            except OSError:
                pass  # the reader sees the connection go and says so

    def say(self, line):
        self.out.write((line + "\n").encode("utf-8", "replace"))
        self.out.flush()

    def leave(self):
        """Send leave once; if no bye arrives in time, hang up anyway."""
        if self.leaving:
            return
        self.leaving = True
        self.send({"type": "leave"})
        timer = threading.Timer(LEAVE_GRACE, self.hang_up)
        timer.daemon = True
        timer.start()

    def hang_up(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def frames(self):
        """Yield the frames (dicts) the server sends until it closes."""
        lb = LineBuffer()
        while True:
            try:
                data = self.sock.recv(RECV_SIZE)
            except (OSError, ssl.SSLError) as e:
                if not self.leaving:
                    self.say("! connection lost: %s" % neutralise(str(e)))
                return
            if not data:
                return
            for line in lb.feed(data):
                if line is None:
                    self.say("! the server sent a line over %d bytes; skipped" % MAX_FRAME)
                    continue
                try:
                    frame = json.loads(line.decode("utf-8", "replace"))
                except ValueError:
                    self.say("! the server sent something that is not JSON; skipped")
                    continue
                if isinstance(frame, dict):
                    yield frame
                else:
                    self.say("! the server sent a frame that is not an object; skipped")


def command(session, line):
    """Turn one line of input into a frame and send it."""
    if line.startswith("//"):
        session.send({"type": "message", "text": line[1:]})
        return
    if not line.startswith("/"):
        session.send({"type": "message", "text": line})
        return
    word, _, rest = line.partition(" ")
    rest = rest.strip()
    if word == "/quit":
        session.leave()
    elif word == "/users":
        session.send({"type": "users"})
    elif word == "/nick" and rest:
        session.send({"type": "nick", "username": rest})
    elif word == "/msg" and " " in rest:
        to, _, text = rest.partition(" ")
        session.send({"type": "private", "to": to, "text": text})
    else:
        session.say("! commands: /users, /msg NAME TEXT, /nick NAME, /quit (// sends a line starting with /)")


def read_stdin(session, stdin):
    """The stdin thread: each line is a message; end of input leaves."""
    for raw in iter(stdin.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if session.leaving:
            break
        if line.strip():
            command(session, line)
    session.leave()


def connect(args):
    sock = socket.create_connection((args.host, args.port), timeout=10)
    if args.tls:
        ctx = ssl.create_default_context(cafile=args.tls_ca)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if args.tls_insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        sock = ctx.wrap_socket(sock, server_hostname=args.host)
    sock.settimeout(None)  # the server pings a quiet connection; no timeout needed
    return sock


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Join a PyNet chat server, send each line of stdin as a message and "
        "print what arrives. End of input leaves. Commands: /users, /msg NAME TEXT, "
        "/nick NAME, /quit.")
    p.add_argument("--host", default="127.0.0.1", help="server host (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="server port (default %d)" % DEFAULT_PORT)
    p.add_argument("--name", help="username to join as (asked for when missing on a terminal)")
    p.add_argument("--tls", action="store_true", help="connect with TLS")
    p.add_argument("--tls-ca", metavar="FILE", help="trust this CA certificate (PEM) instead of the system roots")
    p.add_argument("--tls-insecure", action="store_true", help="with --tls: do not verify the server (testing only)")
    args = p.parse_args(argv)
    if not 0 < args.port < 65536:
        p.error("--port must be between 1 and 65535")
    if (args.tls_ca or args.tls_insecure) and not args.tls:
        p.error("--tls-ca and --tls-insecure go with --tls")
    return args


def main(argv=None):
    args = parse_args(argv)
    stdin = sys.stdin.buffer
    name = args.name
    if not name:
        if not sys.stdin.isatty():
            print("pynet_client: --name is required when stdin is not a terminal", file=sys.stderr)
            return 2
        sys.stdout.write("name: ")
        sys.stdout.flush()
        name = stdin.readline().decode("utf-8", "replace").strip()

    try:
        sock = connect(args)
    except (OSError, ssl.SSLError) as e:
        print("pynet_client: cannot connect to %s:%d: %s" % (args.host, args.port, e), file=sys.stderr)
        return 1

    session = Session(sock, sys.stdout.buffer)
    session.send({"type": "join", "username": name})
    joined = False
    status = 1
    try:
        for frame in session.frames():
            t = frame.get("type")
            if t == "ping":
                reply = {"type": "pong"}
                if isinstance(frame.get("ref"), str):
                    reply["ref"] = frame["ref"]
                session.send(reply)
            line = render(frame)
            if line is not None:
                session.say(line)
            if not joined and t == "welcome":
                joined = True
                threading.Thread(target=read_stdin, args=(session, stdin), daemon=True).start()
            elif not joined and t == "error":
                session.leave()  # the join was refused; the error says why
            elif t == "bye":
                status = 0 if joined and frame.get("reason") == "quit" else 1
                break
        else:
            if not session.leaving:
                session.say("* the server closed the connection")
            status = 0 if joined and session.leaving else 1
    except KeyboardInterrupt:
        session.leave()
        status = 130
    finally:
        sock.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
