#!/usr/bin/env python3
"""A small PyNet Chat client: Python 3.8+ standard library only.

It joins a PyNet server (protocol version 2, see docs/protocol.md; --protocol 1 for the first
version), sends every line of stdin as a public message to the current room
and prints what arrives as readable lines. End of input (Ctrl-D, or the end
of a pipe) leaves the chat politely.

    python3 pynet_client.py --name alice
    python3 pynet_client.py --name bob --rooms lobby,go
    echo "hello" | python3 pynet_client.py --name bot --room ci
    python3 pynet_client.py --name alice --tls --tls-ca cert.pem

Lines starting with / are commands: /join ROOM, /part [ROOM], /room ROOM,
/rooms, /users, /msg NAME TEXT, /me ACTION, /nick NAME, /quit. Start a
message with // to send a line that begins with /.

How it works, in the protocol's terms:
  * Frames are JSON objects, one per line, ending in LF (NDJSON). TCP is a
    byte stream, so the reader keeps a buffer and cuts lines out of it; it
    never buffers more than one maximum frame (64 KiB), whatever the server
    sends.
  * The main thread reads the socket; a second thread reads stdin. Both send,
    so sends go through a lock: frames from the two never interleave.
  * Every message carries a ref and waits in an outbox until its ack: one is
    in flight at a time, so a message the rate limit refuses is sent again
    after retry_after_ms without being overtaken. Your message is printed
    when the server accepts it, at the server's time.
  * The welcome gives a session token, the server's epoch and its last id.
    If the connection drops, the client joins again with them and with the
    highest id it has seen ("since"): the server takes the session back and
    replays exactly what was missed. Messages are told apart by id, so none
    is shown twice, and unacknowledged ones are sent again with the same ref
    (the server acknowledges a resend instead of delivering it twice).
  * The server pings a silent client now and then; the reader answers pong.
  * Everything received is shown with control characters neutralised, so
    nothing a server or another user sends can drive your terminal. When
    you type at a terminal, incoming lines are printed above what you are
    typing, which is drawn again below them.
"""

import argparse
import collections
import json
import os
import random
import socket
import ssl
import sys
import threading
import time

DEFAULT_PORT = 5050
MAX_FRAME = 65536  # longest line the client accepts from the server, bytes
MAX_TEXT = 4096  # longest message text the server takes, bytes
RECV_SIZE = 16384
LEAVE_GRACE = 5.0  # seconds to wait for the server's bye after leave
BACKOFF_MIN, BACKOFF_MAX = 0.5, 10.0  # seconds between reconnection attempts
SEEN_MAX = 4096  # message ids remembered to drop duplicates
LOBBY = "lobby"


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


def names(users):
    return ", ".join(show(u) for u in users or [])


def render(frame, me="", current=LOBBY):
    """Return the line to print for a frame from the server, or None.

    me is our name (our own messages), current the room plain lines go to:
    messages of other rooms are marked with theirs.
    """
    t = frame.get("type")
    room = frame.get("room")
    mark = ""
    if isinstance(room, str) and room != current:
        mark = "#%s " % show(room)
    if t == "message":
        who = show(frame.get("from", "?"))
        if frame.get("action"):
            head = "[%s] %s* %s " % (clock(frame.get("ts")), mark, who)
        else:
            head = "[%s] %s<%s> " % (clock(frame.get("ts")), mark, who)
        if frame.get("history"):
            head = "(earlier) " + head
        return head + indent(show(frame.get("text", "")), len(head))
    if t == "private":
        head = "[%s] *%s -> %s* " % (clock(frame.get("ts")), show(frame.get("from", "?")),
                                     show(frame.get("to", "?")))
        return head + indent(show(frame.get("text", "")), len(head))
    if t == "welcome":
        if frame.get("protocol", 1) >= 2:
            return None  # the rooms' entered frames say who is there
        return "* joined as %s; online: %s" % (show(frame.get("username", "?")), names(frame.get("users")))
    if t == "entered":
        who = names(frame.get("users")) or "%d members" % frame.get("count", 0)
        return "* in #%s; online: %s" % (show(room), who)
    if t == "exited":
        return "* you left #%s" % show(room)
    if t == "joined":
        return "* %s joined%s" % (show(frame.get("username", "?")), (" " + mark.strip()) if mark else "")
    if t == "left":
        return "* %s left (%s)%s" % (show(frame.get("username", "?")), show(frame.get("reason", "?")),
                                     (" " + mark.strip()) if mark else "")
    if t == "renamed":
        return "* %s is now %s" % (show(frame.get("from", "?")), show(frame.get("to", "?")))
    if t == "users":
        where = ("#%s: " % show(room)) if isinstance(room, str) else ""
        return "* %sonline: %s" % (where, names(frame.get("users")))
    if t == "rooms":
        rooms = ", ".join("#%s (%s)" % (show(r.get("room", "?")), show(r.get("count", "?")))
                          for r in frame.get("rooms") or [] if isinstance(r, dict))
        return "* rooms: " + (rooms or "none") + (", and more" if frame.get("more") else "")
    if t == "error":
        return "! %s: %s" % (show(frame.get("code", "?")), show(frame.get("message", "")))
    if t == "bye":
        return "* the server closed the connection (%s)" % show(frame.get("reason", "?"))
    if t in ("ack", "ping", "pong", "fetched", "registered", "password_changed"):
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


class Seen:
    """The ids of the last SEEN_MAX messages shown, to drop duplicates.

    The time stamp is part of the key: a server without -data starts its ids
    again at every start.
    """

    def __init__(self, size=SEEN_MAX):
        self.keys = set()
        self.order = collections.deque()
        self.size = size

    def add(self, frame):
        """Record frame; return False if it was seen before."""
        key = (frame.get("id"), frame.get("ts"))
        if key[0] is None:
            return True
        if key in self.keys:
            return False
        self.keys.add(key)
        self.order.append(key)
        if len(self.order) > self.size:
            self.keys.discard(self.order.popleft())
        return True


class Outbox:
    """Frames waiting to be sent or acknowledged, in order, one in flight.

    send is called (with the lock of the caller's choosing) to write a frame.
    The owner calls pump after each change; it sends the head when nothing is
    in flight, the link is up and no retry wait is running.
    """

    def __init__(self, send):
        self.send = send
        self.queue = collections.deque()  # dicts (frames), each with a ref
        self.inflight = None  # the ref of the frame sent and not answered
        self.online = False
        self.not_before = 0.0  # after rate_limited: monotonic time to wait for
        self.prefix = "%06x-" % random.getrandbits(24)  # refs unique to this run
        self.count = 0
        self.tried = set()  # refs sent at least once: they may have arrived

    def add(self, frame):
        self.count += 1
        frame["ref"] = self.prefix + str(self.count)
        self.queue.append(frame)

    def pump(self, now=None):
        """Send the head if it may go; return seconds to wait, or 0."""
        if not self.online or self.inflight is not None or not self.queue:
            return 0
        now = time.monotonic() if now is None else now
        if now < self.not_before:
            return self.not_before - now
        head = self.queue[0]
        self.inflight = head["ref"]
        self.tried.add(head["ref"])
        self.send(head)
        return 0

    def answered(self, ref):
        """An ack (or another reply) for ref: return its frame, or None."""
        if ref is None or ref != self.inflight or not self.queue:
            return None
        self.inflight = None
        self.tried.discard(ref)
        return self.queue.popleft()

    def rate_limited(self, ref, retry_after_ms, now=None):
        """The head was refused for the rate: it is sent again later."""
        if ref is not None and ref == self.inflight:
            self.inflight = None
            now = time.monotonic() if now is None else now
            self.not_before = now + max(0, retry_after_ms) / 1000.0

    def down(self):
        """The connection is lost: what was in flight goes again, same ref."""
        self.online = False
        self.inflight = None

    def arrived(self, frame):
        """A replayed message of our own: if it is the head, sent before the
        connection was lost and never acknowledged, it did arrive and is not
        sent again. Returns True then."""
        if not self.queue or self.inflight is not None:
            return False
        head = self.queue[0]
        if (head["ref"] in self.tried and head.get("type") == "message"
                and head.get("text", "").strip() == frame.get("text")
                and bool(head.get("action")) == bool(frame.get("action"))
                and head.get("room", LOBBY) == frame.get("room", LOBBY)):
            self.tried.discard(head["ref"])
            self.queue.popleft()
            return True
        return False


class Screen:
    """Prints lines; at a terminal, above the line being typed.

    The stdin thread reads with input() and readline: while readline shows
    the prompt (from its pre-input hook until input() returns), a line
    printed clears the prompt row, prints, and draws the prompt and what was
    typed so far again below it, so the two never mix.
    """

    def __init__(self, out, interactive):
        self.out = out
        self.lock = threading.Lock()
        self.interactive = interactive
        self.prompt = ""
        self.readline = None
        self.editing = False  # readline shows the prompt and the line
        if interactive:
            try:
                import readline
                self.readline = readline
                readline.set_pre_input_hook(self._editing)
            except (ImportError, AttributeError):
                pass

    def _editing(self):
        with self.lock:
            self.editing = True

    def read(self):
        """input() at the prompt; the line, or None at the end of input."""
        try:
            return input(self.prompt)
        except (EOFError, KeyboardInterrupt):
            return None
        finally:
            with self.lock:
                self.editing = False

    def say(self, line):
        with self.lock:
            if self.editing:
                typed = self.readline.get_line_buffer()
                self.out.write(("\r\x1b[K" + line + "\n" + self.prompt + typed).encode("utf-8", "replace"))
            else:
                self.out.write((line + "\n").encode("utf-8", "replace"))
            self.out.flush()


class Client:
    """One user in the chat, across reconnections."""

    def __init__(self, args, screen, stdin=None):
        self.args = args
        self.screen = screen
        self.stdin = stdin
        self.reader = None  # the stdin thread, started at the first welcome
        self.name = args.name
        self.v2 = args.protocol >= 2
        self.rooms = [r for r in (args.rooms or "").split(",") if r.strip()] or None
        if args.room and self.rooms is not None and args.room not in self.rooms:
            self.rooms.append(args.room)
        elif args.room and self.rooms is None:
            self.rooms = [args.room]
        self.current = args.room or (self.rooms[0] if self.rooms else LOBBY)
        self.token = None
        self.epoch = None
        self.pos = 0  # every message with a lower or equal id was shown
        self.sync_pos = 0
        self.syncing = False
        self.seen = Seen()
        self.sock = None
        self.send_lock = threading.Lock()
        self.state_lock = threading.RLock()  # outbox, flags; the two threads share them
        self.outbox = Outbox(self._write)
        self.leaving = False
        self.eof = False
        self.joined = False  # welcomed at least once
        self.replaced = False
        self.resumed = False  # the last welcome resumed the session after a drop
        self.welcomes = 0
        self.first_entered = True
        self.pump_timer = None

    # ---- sending ----

    def _write(self, frame):
        data = (json.dumps(frame, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        with self.send_lock:
            sock = self.sock
            if sock is None:
                return
            try:
                sock.sendall(data)
            except OSError:
                pass  # the reader sees the connection go and says so

    def send(self, frame):
        """Queue a frame that needs an answer (it is resent after a drop)."""
        with self.state_lock:
            self.outbox.add(frame)
            self.pump()

    def pump(self):
        with self.state_lock:
            wait = self.outbox.pump()
            if wait > 0 and self.pump_timer is None:
                def later():
                    with self.state_lock:
                        self.pump_timer = None
                    self.pump()
                self.pump_timer = threading.Timer(wait, later)
                self.pump_timer.daemon = True
                self.pump_timer.start()

    def leave(self):
        """Send leave once; if no bye arrives in time, hang up anyway."""
        with self.state_lock:
            if self.leaving:
                return
            self.leaving = True
        self._write({"type": "leave"})
        timer = threading.Timer(LEAVE_GRACE, self.hang_up)
        timer.daemon = True
        timer.start()

    def hang_up(self):
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # ---- input ----

    def command(self, line):
        """Turn one line of input into a frame, or act on it."""
        if line.startswith("//"):
            line = line[1:]
        elif line.startswith("/"):
            word, _, rest = line.partition(" ")
            rest = rest.strip()
            room = rest.lstrip("#")
            if word in ("/quit", "/exit"):
                self.leave()
            elif word in ("/users", "/who"):
                frame = {"type": "users"}
                if self.v2:
                    frame["room"] = room or self.current
                self.send(frame)
            elif word == "/nick" and rest:
                self.send({"type": "nick", "username": rest})
            elif word == "/msg" and " " in rest:
                to, _, text = rest.partition(" ")
                self.send({"type": "private", "to": to, "text": text})
            elif word == "/me" and rest:
                self.say(rest, action=True)
            elif word == "/join" and room and self.v2:
                self.send({"type": "enter", "room": room})
                self.current = room.lower()  # what follows goes there (sent after the enter)
            elif word == "/part" and self.v2:
                self.send({"type": "exit", "room": room or self.current})
            elif word == "/room" and room and self.v2:
                self.current = room.lower()
                self.screen.say("* plain lines now go to #%s" % show(self.current))
            elif word == "/rooms" and self.v2:
                self.send({"type": "rooms"})
            else:
                self.screen.say("! commands: /join ROOM, /part [ROOM], /room ROOM, /rooms, /users, "
                                "/msg NAME TEXT, /me ACTION, /nick NAME, /quit (// sends a line starting with /)")
            return
        self.say(line)

    def say(self, text, action=False):
        if len(text.strip().encode("utf-8")) > MAX_TEXT:
            self.screen.say("! not sent: longer than %d bytes" % MAX_TEXT)
            return
        frame = {"type": "message", "text": text}
        if self.v2:
            frame["room"] = self.current
        if action:
            frame["action"] = True
        self.send(frame)

    def read_stdin(self, stdin):
        """The stdin thread: each line is a message or a command; end of
        input leaves once everything was accepted."""
        while True:
            if self.screen.interactive:
                line = self.screen.read()
                if line is None:
                    break
            else:
                raw = stdin.readline()
                if not raw:
                    break
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if self.leaving:
                break
            if line.strip():
                self.command(line)
        with self.state_lock:
            self.eof = True
        self.maybe_leave()

    def maybe_leave(self):
        """At the end of input, leave once nothing waits for an answer."""
        with self.state_lock:
            done = self.eof and not self.outbox.queue and self.outbox.online
        if done:
            self.leave()

    # ---- the connection ----

    def join_frame(self):
        frame = {"type": "join", "username": self.name}
        if not self.v2:
            return frame
        frame["protocol"] = 2
        if self.rooms is not None:
            frame["rooms"] = self.rooms
        if self.token:
            frame["session"] = self.token
        if self.epoch and self.pos > 0:
            frame["epoch"] = self.epoch
            frame["since"] = self.pos
        return frame

    def connect(self):
        sock = socket.create_connection((self.args.host, self.args.port), timeout=10)
        if self.args.tls:
            ctx = ssl.create_default_context(cafile=self.args.tls_ca)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            if self.args.tls_insecure:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock, server_hostname=self.args.host)
        sock.settimeout(None)  # the server pings a quiet connection; no timeout needed
        return sock

    def session(self):
        """One connection: join, then handle frames until it ends. Returns
        "quit" (done), "refused" (the first join was refused), "replaced"
        or "lost"."""
        sock = self.connect()
        with self.send_lock:
            self.sock = sock
        self._write(self.join_frame())
        welcomed = False
        lb = LineBuffer()
        try:
            while True:
                try:
                    data = sock.recv(RECV_SIZE)
                except (OSError, ssl.SSLError) as e:
                    if not self.leaving:
                        self.screen.say("! connection lost: %s" % neutralise(str(e)))
                    return "lost"
                if not data:
                    if not welcomed and not self.joined:
                        hint = "" if self.args.tls else " — if it uses TLS, add --tls"
                        self.screen.say("! the server closed the connection before welcoming us" + hint)
                        return "refused"
                    if not self.leaving:
                        self.screen.say("* the server closed the connection")
                    return "lost"
                for line in lb.feed(data):
                    if line is None:
                        self.screen.say("! the server sent a line over %d bytes; skipped" % MAX_FRAME)
                        continue
                    try:
                        frame = json.loads(line.decode("utf-8", "replace"))
                    except ValueError:
                        self.screen.say("! the server sent something that is not JSON; skipped")
                        continue
                    if not isinstance(frame, dict):
                        self.screen.say("! the server sent a frame that is not an object; skipped")
                        continue
                    t = frame.get("type")
                    if not welcomed:
                        if t == "welcome":
                            welcomed = True
                        elif t == "error":
                            if self.token and frame.get("code") == "auth_failed":
                                self.token = None  # the session is gone: join afresh
                                self._write(self.join_frame())
                                continue
                            self.screen.say(render(frame))
                            return "lost" if self.joined else "refused"  # a rejoin: try again later
                    end = self.frame(frame)
                    if end:
                        return end
        finally:
            with self.send_lock:
                self.sock = None
            sock.close()

    def frame(self, frame):
        """Handle one frame; return "quit" or "replaced" when it ends the
        session, else None."""
        t = frame.get("type")
        if t == "ping":
            reply = {"type": "pong"}
            if isinstance(frame.get("ref"), str):
                reply["ref"] = frame["ref"]
            self._write(reply)
            return None
        if t == "welcome":
            return self.welcome(frame)
        if t == "pong" and frame.get("ref") == "sync":
            self.syncing = False
            self.pos = max(self.pos, self.sync_pos)
            if self.reader is None and self.stdin is not None:
                # Now that the join is told, input may start (and its prompt).
                self.reader = threading.Thread(target=self.read_stdin, args=(self.stdin,), daemon=True)
                self.reader.start()
            with self.state_lock:
                self.outbox.online = True
            self.pump()
            self.maybe_leave()
            return None
        if t in ("message", "private"):
            if not self.seen.add(frame):
                return None  # shown before
            if (t == "message" and frame.get("history") and self.syncing
                    and frame.get("from", "").lower() == self.name.lower()):
                with self.state_lock:
                    self.outbox.arrived(frame)
            if not frame.get("history") and not self.syncing:
                self.pos = max(self.pos, frame.get("id") or 0)
            if t == "private" and frame.get("from", "").lower() == self.name.lower() and not frame.get("history"):
                return None  # our own, to ourselves: shown with its ack
        if t == "ack":
            self.seen.add(frame)
            if not self.syncing:
                self.pos = max(self.pos, frame.get("id") or 0)
            with self.state_lock:
                sent = self.outbox.answered(frame.get("ref"))
            if sent is not None:
                self.echo(sent, frame)
                self.pump()
                self.maybe_leave()
            return None
        if t == "error":
            with self.state_lock:
                if frame.get("code") == "rate_limited" and frame.get("ref") == self.outbox.inflight:
                    self.outbox.rate_limited(frame.get("ref"), frame.get("retry_after_ms", 1000))
                    handled = True
                else:
                    handled = self.outbox.answered(frame.get("ref")) is not None
            self.pump()
            self.maybe_leave()
            if handled and frame.get("code") == "rate_limited":
                return None
        if t in ("users", "entered", "exited", "renamed", "rooms"):
            with self.state_lock:
                self.outbox.answered(frame.get("ref"))
            self.pump()
        if t == "entered":
            room = frame.get("room")
            if isinstance(room, str):
                if self.rooms is None:
                    self.rooms = []
                if room not in self.rooms:
                    self.rooms.append(room)
            if not self.syncing or not self.resumed:
                line = render(frame, self.name, self.current)
                if self.first_entered and room == LOBBY:
                    users = names(frame.get("users")) or "%d members" % frame.get("count", 0)
                    line = "* joined as %s; online: %s" % (show(self.name), users)
                self.first_entered = False
                self.screen.say(line)
            self.maybe_leave()
            return None
        if t == "exited" and self.rooms is not None:
            self.rooms = [r for r in self.rooms if r != frame.get("room")]
            if self.current == frame.get("room") and self.rooms:
                self.current = self.rooms[0]
        if t == "renamed" and frame.get("from", "").lower() == self.name.lower():
            self.name = frame.get("to", self.name)
        if t == "bye":
            self.screen.say(render(frame))
            reason = frame.get("reason")
            if reason == "quit":
                return "quit"
            if reason == "replaced":
                self.replaced = True
                return "replaced"
            return None  # the connection ends: the reader reconnects
        line = render(frame, self.name, self.current)
        if line is not None:
            self.screen.say(line)
        return None

    def welcome(self, frame):
        self.name = frame.get("username", self.name)
        resumed = bool(frame.get("resumed"))
        if self.joined:
            missed = "" if frame.get("protocol", 1) < 2 else (" (session resumed)" if resumed else " (a new session)")
            self.screen.say("* reconnected as %s%s" % (show(self.name), missed))
        self.welcomes += 1
        self.resumed = resumed and self.joined
        self.first_entered = not self.joined
        self.joined = True
        if frame.get("protocol", 1) >= 2:
            self.token = frame.get("session")
            if frame.get("epoch") != self.epoch:
                self.epoch, self.pos = frame.get("epoch"), 0
        else:
            self.v2 = False
        line = render(frame, self.name, self.current)
        if line is not None:
            self.screen.say(line)
        # The server answers a ping after everything queued before it: its
        # pong marks the end of the join's replays (our position is safe
        # to move then) and sending can go on.
        self.syncing = True
        self.sync_pos = frame.get("last_id") or 0
        self._write({"type": "ping", "ref": "sync"})
        return None

    def echo(self, sent, ack):
        """Show our own message once the server accepted it."""
        if sent.get("type") == "message":
            self.screen.say(render({"type": "message", "from": self.name, "text": sent.get("text", ""),
                                    "room": sent.get("room"), "ts": ack.get("ts"),
                                    "action": sent.get("action", False)}, self.name, self.current))
        elif sent.get("type") == "private":
            self.screen.say(render({"type": "private", "from": self.name, "to": sent.get("to", "?"),
                                    "text": sent.get("text", ""), "ts": ack.get("ts")}))

    def run(self):
        """Join, chat, reconnect after drops; return the exit status."""
        delay = BACKOFF_MIN
        while True:
            welcomes = self.welcomes
            try:
                end = self.session()
            except (OSError, ssl.SSLError) as e:
                if not self.joined:
                    self.screen.say("! cannot connect to %s:%d: %s" % (self.args.host, self.args.port,
                                                                      neutralise(str(e))))
                    return 1
                end = "lost"
                self.screen.say("! still offline: %s" % neutralise(str(e)))
            if end == "refused":
                return 1
            if end == "quit":
                return 0
            if end == "replaced":
                self.screen.say("! another connection took over this session: not reconnecting")
                return 1
            if self.leaving:
                return 0
            with self.state_lock:
                self.outbox.down()
            self.syncing = False
            if self.welcomes > welcomes:
                delay = BACKOFF_MIN  # it worked for a while: start again quickly
            self.screen.say("* reconnecting in %.1f s" % delay)
            time.sleep(delay * random.uniform(0.75, 1.0))
            delay = min(delay * 2, BACKOFF_MAX)


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Join a PyNet chat server, send each line of stdin as a message and "
        "print what arrives. End of input leaves. Commands: /join ROOM, /part, /room ROOM, "
        "/rooms, /users, /msg NAME TEXT, /me ACTION, /nick NAME, /quit.")
    p.add_argument("--host", default="127.0.0.1", help="server host (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="server port (default %d)" % DEFAULT_PORT)
    p.add_argument("--name", help="username to join as (asked for when missing on a terminal)")
    p.add_argument("--rooms", help="comma-separated rooms to enter (default lobby)")
    p.add_argument("--room", help="the room plain lines go to (entered if --rooms lacks it)")
    p.add_argument("--protocol", type=int, default=2, choices=(1, 2),
                   help="protocol version: 2 (rooms, resume) or 1 (default 2)")
    p.add_argument("--tls", action="store_true", help="connect with TLS")
    p.add_argument("--tls-ca", metavar="FILE", help="trust this CA certificate (PEM) instead of the system roots")
    p.add_argument("--tls-insecure", action="store_true", help="with --tls: do not verify the server (testing only)")
    args = p.parse_args(argv)
    if not 0 < args.port < 65536:
        p.error("--port must be between 1 and 65535")
    if (args.tls_ca or args.tls_insecure) and not args.tls:
        p.error("--tls-ca and --tls-insecure go with --tls")
    if args.room:
        args.room = args.room.lstrip("#").lower()
    if args.rooms:
        args.rooms = ",".join(r.strip().lstrip("#").lower() for r in args.rooms.split(",") if r.strip())
    if args.protocol < 2 and (args.rooms or args.room):
        p.error("--rooms and --room need --protocol 2")
    return args


def main(argv=None):
    args = parse_args(argv)
    stdin = sys.stdin.buffer
    interactive = sys.stdin.isatty() and sys.stdout.isatty() and os.environ.get("TERM") != "dumb"
    if not args.name:
        if not sys.stdin.isatty():
            print("pynet_client: --name is required when stdin is not a terminal", file=sys.stderr)
            return 2
        try:
            args.name = input("name: ").strip()
        except (EOFError, KeyboardInterrupt):
            return 0
    screen = Screen(sys.stdout.buffer, interactive)
    if interactive:
        screen.prompt = "%s> " % args.name
    client = Client(args, screen, stdin)
    saved = None
    if interactive:
        try:
            import termios
            saved = (termios, termios.tcgetattr(sys.stdin.fileno()))
        except (ImportError, OSError):
            pass
    try:
        return client.run()
    except KeyboardInterrupt:
        client.leave()
        return 130
    finally:
        if saved is not None:  # line editing may still hold the terminal: give it back
            saved[0].tcsetattr(sys.stdin.fileno(), saved[0].TCSADRAIN, saved[1])


if __name__ == "__main__":
    sys.exit(main())
