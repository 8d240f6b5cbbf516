#!/usr/bin/env python3
"""Run every experiment of docs/learn.md against a fresh build, and check the
lines the text quotes.

    python3 examples/learn/run_all.py [--out DIR] [--only WORD]

It builds pynet (and the echo server) into a temporary directory, then runs
each section's experiment the way the text says, on loopback only, each
server on a free port (-addr 127.0.0.1:0). Deterministic things are checked
against the output *and* against the text: byte counts of frames, frame
counts in traces, goroutine counts at rest, the RST of an abortive close,
what the store holds after kill -9. Timings are printed, never checked.
What needs root, tcpdump, strace or prlimit is skipped with a clear message
where it cannot run. Every wait has a deadline; the exit status is 1 if a
check failed.

--out DIR keeps every experiment's raw output there (to paste into the text).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LEARN_PATH = os.path.join(ROOT, "docs", "learn.md")
LEARN = open(LEARN_PATH, encoding="utf-8").read()
PY = sys.executable


class Failure(Exception):
    pass


# ---------------------------------------------------------------- reporting

class Report:
    def __init__(self):
        self.ok = self.failed = self.skipped = 0
        self.failures = []
        self.section = ""

    def check(self, cond, what, detail=""):
        if cond:
            self.ok += 1
            print(f"  ok    {what}")
        else:
            self.failed += 1
            self.failures.append(f"{self.section}: {what}")
            print(f"  FAIL  {what}" + (f"\n        {detail}" if detail else ""))
        return cond

    def skip(self, what, why):
        self.skipped += 1
        print(f"  skip  {what}: {why}")


R = Report()


def quote(fragment, output, what):
    """The text quotes fragment, and the experiment printed it."""
    R.check(fragment in LEARN, f"docs/learn.md quotes {what}", f"missing from the text: {fragment!r}")
    R.check(fragment in output, f"the run shows {what}", f"missing from the output: {fragment!r}")


def in_text(fragment, what):
    R.check(fragment in LEARN, f"docs/learn.md says {what}", f"missing from the text: {fragment!r}")


# ---------------------------------------------------------------- processes

class Proc:
    """A child process; its output lines are collected as they arrive."""

    live = []

    def __init__(self, argv, name, stdin=False, env=None):
        self.name = name
        self.lines = []
        self.cv = threading.Condition()
        self.p = subprocess.Popen(
            argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace", bufsize=1, cwd=ROOT, env=env)
        Proc.live.append(self)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.p.stdout:
            with self.cv:
                self.lines.append(line.rstrip("\n"))
                self.cv.notify_all()
        with self.cv:
            self.cv.notify_all()

    def text(self):
        with self.cv:
            return "\n".join(self.lines)

    def wait_for(self, pattern, timeout=5.0, start=0):
        """The first line from index start that matches pattern."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cv:
            i = start
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    if m:
                        return m
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or (self.p.poll() is not None and not self.reader.is_alive()):
                    raise Failure(f"{self.name}: no line matching {pattern!r} within {timeout} s")
                self.cv.wait(min(left, 0.1))

    def count(self, pattern):
        rx = re.compile(pattern)
        with self.cv:
            return sum(1 for l in self.lines if rx.search(l))

    def finish(self, timeout=10.0):
        """Wait for the process to exit on its own."""
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise Failure(f"{self.name} did not finish within {timeout} s")
        self.reader.join(2)
        return self.p.returncode

    def close_stdin(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass

    def stop(self, sig=signal.SIGINT, timeout=8.0):
        if self.p.poll() is None:
            try:
                self.p.send_signal(sig)
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self.reader.join(2)
        return self.p.returncode


def run(argv, timeout=20.0):
    """Run a command to the end and return its output (stdout and stderr)."""
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors="replace", timeout=timeout, cwd=ROOT)
    return r.stdout


def example(name):
    return os.path.join(HERE, name)


def pyexp(name, *args, stdin=False):
    return Proc([PY, "-u", example(name), *map(str, args)], name, stdin=stdin)


def poll(fn, want, timeout, what):
    """Call fn until it returns want (or a value want accepts), at most timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if (want(got) if callable(want) else got == want):
            return got
        if time.monotonic() > deadline:
            raise Failure(f"{what}: still {got!r} after {timeout} s")
        time.sleep(0.05)


# ---------------------------------------------------------------- the tools

PYNET = ECHO = None
OUT = None
HAVE = {}


def pynet(*flags, name="pynet server", prefix=()):
    p = Proc([*prefix, PYNET, "server", "-addr", "127.0.0.1:0", *flags], name)
    p.port = int(p.wait_for(r"listening on 127\.0\.0\.1:(\d+)", 15).group(1))
    if "-metrics" in flags:
        p.metrics = int(p.wait_for(r"metrics on http://127\.0\.0\.1:(\d+)/", 5).group(1))
    return p


def http(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return r.read().decode()


def goroutines(srv):
    return int(re.match(r"goroutine profile: total (\d+)",
                        http(srv.metrics, "/debug/pprof/goroutine?debug=1")).group(1))


def metric(srv, name):
    m = re.search(r"^" + re.escape(name) + r" (\d+)$", http(srv.metrics, "/metrics"), re.M)
    return int(m.group(1)) if m else None


def threads(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^Threads:\s+(\d+)", f.read(), re.M).group(1))


def capture(filt, what):
    """tcpdump on lo with filt, or None (and a skip) where it cannot run."""
    if not HAVE.get("tcpdump"):
        R.skip(f"tcpdump of {what}", HAVE.get("tcpdump_why", "no tcpdump"))
        return None
    p = Proc(["tcpdump", "-i", "lo", "-n", "-l", "--immediate-mode", filt], "tcpdump")
    p.wait_for(r"listening on lo", 5)
    return p


def packets(td):
    """tcpdump lines as (src, dst, flags, length)."""
    out = []
    for l in td.lines:
        m = re.search(r" IP (\S+) > (\S+): Flags \[([^\]]*)\].* length (\d+)", l)
        if m:
            out.append((m.group(1), m.group(2), m.group(3), int(m.group(4))))
    return out


def syscalls(lines):
    """strace -f lines, with each call that another thread interrupted
    ("<unfinished ...>" … "<... read resumed>") joined again, pid prefixes off."""
    pending, out = {}, []
    for l in lines:
        m = re.match(r"(?:\[pid\s+(\d+)\] )?(.*)$", l)
        pid, body = m.group(1) or "", m.group(2)
        if body.endswith("<unfinished ...>"):
            pending[pid] = body[:-len("<unfinished ...>")].rstrip()
            continue
        r = re.match(r"<\.\.\. \w+ resumed>(.*)$", body)
        if r and pid in pending:
            head = pending.pop(pid)
            body = head + (" " if head.endswith(",") else "") + r.group(1)
        out.append(body)
    return out


def attached(st, what):
    """Wait for strace -p to attach; False (and a skip) if the system forbids it."""
    m = st.wait_for(r"attached|Operation not permitted|ptrace", 5)
    if "attached" in m.group(0):
        return True
    st.stop()
    R.skip(f"strace of {what}", "attaching is not permitted here (kernel.yama.ptrace_scope, or not root)")
    return False


def strace(args, what):
    """strace with args, or None (and a skip) where it cannot run."""
    if not HAVE.get("strace"):
        R.skip(f"strace of {what}", HAVE.get("strace_why", "no strace"))
        return None
    return Proc(["strace", *args], "strace")


def save(name, *parts):
    if OUT:
        with open(os.path.join(OUT, name), "w") as f:
            f.write("\n".join(parts) + "\n")


def probe_tools():
    root = os.geteuid() == 0
    if not shutil.which("tcpdump"):
        HAVE["tcpdump_why"] = "tcpdump is not installed (apt-get install tcpdump)"
    elif not root:
        HAVE["tcpdump_why"] = "capturing on lo needs root"
    else:
        r = subprocess.run(["timeout", "3", "tcpdump", "-i", "lo", "-n", "-c", "1", "-w", "/dev/null", "port", "9"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if "listening on" in r.stdout:
            HAVE["tcpdump"] = True
        else:
            HAVE["tcpdump_why"] = "tcpdump cannot capture here: " + r.stdout.strip().splitlines()[-1]
    if not shutil.which("strace"):
        HAVE["strace_why"] = "strace is not installed (apt-get install strace)"
    else:
        r = subprocess.run(["strace", "-f", "-e", "trace=none", "true"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode == 0:
            HAVE["strace"] = True
        else:
            HAVE["strace_why"] = "strace cannot trace here: " + r.stdout.strip().splitlines()[-1]
    if shutil.which("prlimit"):
        HAVE["prlimit"] = True
    for tool in ("ss",):
        if not shutil.which(tool):
            raise SystemExit(f"run_all.py needs {tool} (iproute2)")


# ---------------------------------------------------------------- sections

SECTIONS = []


def section(title):
    def deco(fn):
        SECTIONS.append((title, fn))
        return fn
    return deco


SHARED = {}   # the server of sections 1 to 3, as the text uses one


def slug(heading):
    """The anchor GitHub gives a heading."""
    h = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return h.replace(" ", "-")


@section("0. The documents and the files")
def s_text():
    """Every listing is an exact excerpt of its file; every experiment is used."""
    blocks = re.findall(r"```(?:python|go)\n(?:#|//) from examples/learn/(\S+)\n(.*?)```", LEARN, re.S)
    R.check(len(blocks) >= 5, f"docs/learn.md has listings taken from examples/learn ({len(blocks)})")
    for name, body in blocks:
        path = os.path.join(HERE, name)
        src = open(path).read() if os.path.exists(path) else ""
        R.check(body in src, f"the listing of {name} is the file's own text",
                "first line not matching: " + next((l for l in body.splitlines() if l not in src), "?"))
    for name in sorted(os.listdir(HERE)):
        if name.endswith(".py") and name != "run_all.py" or name == "echo":
            R.check(f"examples/learn/{name}" in LEARN or f"(../examples/learn/{name}" in LEARN,
                    f"docs/learn.md uses examples/learn/{name}")
    for link in sorted(set(re.findall(r"\]\(\.\./examples/learn/([^)#]*)\)", LEARN))):
        R.check(os.path.exists(os.path.join(HERE, link)), f"the link to examples/learn/{link} works")
    # No document points outside the repository, and every link and anchor resolves.
    docs = ["README.md", "docs/learn.md", "docs/protocol.md", "docs/architecture.md", "examples/learn/README.md"]
    texts = {d: open(os.path.join(ROOT, d), encoding="utf-8").read() for d in docs}
    for d, t in texts.items():
        bad = re.findall(r"shared folder|\.\./shared|PROTOCOL\.md|STYLE\.md", t)
        R.check(not bad, f"{d} points nowhere outside the repository", repr(bad))
        for target in re.findall(r"\]\(([^)\s]+)\)", t):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            full = os.path.normpath(os.path.join(ROOT, os.path.dirname(d), path)) if path else os.path.join(ROOT, d)
            ok = full.startswith(ROOT) and os.path.exists(full)
            if ok and anchor and full.endswith(".md"):
                heads = re.findall(r"^#+ (.*)$", open(full, encoding="utf-8").read(), re.M)
                ok = anchor in {slug(h) for h in heads}
            R.check(ok, f"{d}: the link {target} resolves")
    # protocol.md names every frame type, error code and reason the code defines.
    codes = open(os.path.join(ROOT, "protocol", "codes.go")).read()
    proto = texts["docs/protocol.md"]
    for kind, name in re.findall(r"^\t(Msg|Code|Reason)\w+\s+= \"(\w+)\"", codes, re.M):
        want = f"| `{name}` |" if kind == "Code" else f"`{name}`"
        R.check(want in proto, f"docs/protocol.md describes {kind.lower()} {name}", want)


@section("1. The TCP handshake")
def s_handshake():
    a = SHARED["a"] = pynet("-trace", "-metrics", "127.0.0.1:0", "-pprof", name="server A")
    port = a.port
    td = capture(f"tcp port {port}", "the handshake")
    hs = pyexp("hs.py", port, 1)
    cport = int(hs.wait_for(r"client port (\d+)").group(1))
    hs.wait_for(r'"type":"welcome"')
    est = run(["ss", "-tnp", f"sport = :{port} or dport = :{port}"])
    hs.finish(10)
    a.wait_for(r"msg=closed conn=1 .*reason=quit")
    tw = run(["ss", "-tn", "state", "time-wait", f"( sport = :{port} or dport = :{port} )"])
    save("1-hs.txt", hs.text(), est, tw)
    R.check(len(re.findall(r"^ESTAB", est, re.M)) == 2 and '"pynet"' in est and '"python3' in est,
            "ss -tnp shows both ends of the connection, pynet's and python3's", est)
    R.check(re.search(rf"127\.0\.0\.1:{port}\s+127\.0\.0\.1:{cport}", tw) is not None,
            "the server's end, which closed first, is in TIME-WAIT", tw)
    out = a.text()
    for frag, what in (('conn 1 read     35 bytes  "{\\"type\\":\\"join\\",\\"username\\":\\"alice\\"}\\n"', "the 35-byte join"),
                       ("conn 1 write   174 bytes  1 frame(s)", "the 174-byte welcome"),
                       ('conn 1 read     17 bytes  "{\\"type\\":\\"leave\\"}\\n"', "the 17-byte leave"),
                       ("conn 1 write    31 bytes  1 frame(s)", "the 31-byte bye")):
        R.check(frag in out, f"the trace shows {what}", frag)
    in_text("Line 4 is the 35-byte `join` line", "35-byte join")
    in_text("Line 6 is the 174-byte `welcome`", "174-byte welcome")
    in_text("`leave` (17 bytes) and `bye` (31 bytes)", "17 and 31 bytes")
    if td:
        td.wait_for(rf"127\.0\.0\.1\.{cport} > 127\.0\.0\.1\.{port}: Flags \[F\.\]", 5)
        td.wait_for(rf"127\.0\.0\.1\.{port} > 127\.0\.0\.1\.{cport}: Flags \[\.\]", 5)
        td.stop()
        save("1-tcpdump.txt", td.text())
        c, s = f"127.0.0.1.{cport}", f"127.0.0.1.{port}"
        pk = [(("c" if src == c else "s"), fl, n) for src, dst, fl, n in packets(td)]
        R.check(pk[:3] == [("c", "S", 0), ("s", "S.", 0), ("c", ".", 0)],
                "tcpdump: SYN, SYN-ACK, ACK", repr(pk[:3]))
        data = [(who, n) for who, fl, n in pk if n > 0]
        R.check(data == [("c", 35), ("s", 174), ("c", 17), ("s", 31)],
                "tcpdump: data segments of 35, 174, 17 and 31 bytes", repr(data))
        fins = [who for who, fl, n in pk if "F" in fl]
        R.check(fins == ["s", "c"], "tcpdump: the server's FIN comes first, then the client's", repr(fins))
        R.check(not any("R" in fl for _, fl, _ in pk), "tcpdump: no reset")


@section("2. A byte stream, not messages")
def s_stream():
    a = SHARED["a"]
    n0 = len(a.lines)
    pieces = pyexp("pieces.py", a.port)
    pieces.finish(10)
    a.wait_for(r"msg=closed conn=2 ", 5, n0)
    out = "\n".join(a.lines[n0:])
    for frag in ('conn 2 read     15 bytes  "{\\"type\\":\\"join\\","',
                 'conn 2 read     20 bytes  "\\"username\\":\\"alice\\"}\\n"',
                 'conn 2   frame    34 bytes  "{\\"type\\":\\"join\\",\\"username\\":\\"alice\\"}"',
                 'conn 2 read     63 bytes  "{\\"type\\":\\"ping\\",\\"ref\\":\\"1\\"}\\n{\\"type\\":\\"ping\\",\\"ref\\":\\"2\\"}\\n{\\"type\\":\\"pi"',
                 'conn 2 read     15 bytes  "ng\\",\\"ref\\":\\"3\\"}\\n"',
                 "conn 2 write    26 bytes  1 frame(s)",
                 "conn 2 write    31 bytes  1 frame(s)"):
        quote(frag, out, frag.split("  ")[0].strip() + " …")
    writes = [(int(m.group(1)), int(m.group(2))) for m in
              re.finditer(r"conn 2 write\s+(\d+) bytes  (\d+) frame", out)]
    pongs12 = writes[1:-2]
    R.check(sum(b for b, f in pongs12) == 52 and sum(f for b, f in pongs12) == 2,
            "the two pongs: 52 bytes, 2 frames", repr(writes))
    if len(pongs12) != 1:
        print("        (this time the two pongs took two writes: the writer ran between them)")
    quote("conn 2 write    52 bytes  2 frame(s)", out if len(pongs12) == 1 else LEARN, "the two pongs in one write")

    n0 = len(a.lines)
    co = pyexp("coalesce.py", a.port)
    co.finish(10)
    a.wait_for(r"msg=closed conn=4 ", 5, n0)
    out = "\n".join(a.lines[n0:])
    save("2-trace.txt", "\n".join(a.lines), co.text())
    quote("bob recv: 3131 bytes, 30 frames", co.text(), "bob's one recv of 3,131 bytes")
    for frag in ('conn 4 read    512 bytes', 'conn 4 read    480 bytes', 'conn 4 read     48 bytes'):
        quote(frag, out, frag)
    # bob's writes: the welcome, the 84-byte "joined alice", then the 30 messages
    bw = [(int(m.group(1)), int(m.group(2))) for m in re.finditer(r"conn 3 write\s+(\d+) bytes  (\d+) frame", out)]
    frames = nbytes = k = 0
    for b, f in bw[2:]:
        if frames >= 30:
            break
        frames, nbytes, k = frames + f, nbytes + b, k + 1
    R.check(bw[:2] == [(170, 1), (84, 1)] and (nbytes, frames) == (3131, 30),
            f"the trace: the 30 messages went to bob in {k} write(s), 3,131 bytes", repr(bw))
    quote("840 bytes  8 frame(s)", out if any(w == (840, 8) for w in bw) else LEARN,
          "a last write of 8 frames")


@section("3. One goroutine per connection")
def s_goroutines():
    a = SHARED["a"]
    idle = poll(lambda: goroutines(a), 10, 5, "goroutines at rest")
    quote("goroutine profile: total 10", f"goroutine profile: total {idle}", "10 goroutines at rest")
    ps0 = run(["ps", "-o", "nlwp,rss,vsz", "-p", str(a.p.pid)])
    import resource
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 2100:
        R.skip("2,000 connections", f"the hard limit on open files is {hard} (ulimit -Hn); 2,100 are needed")
        return
    many = pyexp("many.py", a.port, 2000, "stdin", stdin=True)
    many.wait_for(r"2000 connections open", 30)
    busy = poll(lambda: goroutines(a), 2010, 10, "goroutines with 2,000 connections")
    ps1 = run(["ps", "-o", "nlwp,rss,vsz", "-p", str(a.p.pid)])
    quote("goroutine profile: total 2010", f"goroutine profile: total {busy}", "2,010 goroutines with 2,000 connections")
    many.close_stdin()
    many.finish(10)
    poll(lambda: goroutines(a), 10, 10, "goroutines after the 2,000 left")
    R.check(True, "back to 10 goroutines once they are gone")
    save("3-goroutines.txt", ps0, many.text(), ps1)
    in_text("`python3 toy_threads.py 5051 4096`", "the toy with a larger backlog")
    toy = pyexp("toy_threads.py", 0, 4096)
    tport = int(toy.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))
    many = pyexp("many.py", tport, 2000, "stdin", stdin=True)
    many.wait_for(r"2000 connections open", 30)
    n = poll(lambda: threads(toy.p.pid), 2001, 20, "the toy's threads")
    ps2 = run(["ps", "-o", "nlwp,rss,vsz", "-p", str(toy.p.pid)])
    quote("2,001 threads", f"{n:,} threads", "2,001 threads for the toy")
    many.close_stdin()
    many.finish(10)
    toy.stop(signal.SIGTERM)
    save("3-toy.txt", many.text(), ps2)


@section("4. System calls under the Go runtime")
def s_syscalls():
    st = strace(["-f", "-e", "trace=accept4,read,write,epoll_pwait", ECHO, "0"], "the echo server")
    if st:
        port = int(st.wait_for(r"listening on 127\.0\.0\.1:(\d+)", 10).group(1))
        n0 = len(st.lines)
        out = run(["sh", "-c", f"{{ echo hello; sleep 0.2; echo world; }} | nc -N 127.0.0.1 {port}"])
        st.wait_for(r'(read\(\d+, |<\.\.\. read resumed>)"", 4096\)\s+= 0', 5, n0)  # whole or resumed
        st.stop(signal.SIGTERM)
        tr = "\n".join(syscalls(st.lines[n0 - 1:]))
        save("4-echo.txt", out, st.text())
        R.check(out == "hello\nworld\n", "nc got hello and world back", repr(out))
        m = re.search(r"accept4\(\d+, \{sa_family=AF_INET.*SOCK_CLOEXEC\|SOCK_NONBLOCK\)\s+= (\d+)", tr)
        R.check(m is not None, "accept4 returns the connection's descriptor, non-blocking", tr[:400])
        fd = m.group(1) if m else "?"
        for rx, what in ((r"accept4\(.*= -1 EAGAIN", "the next accept4 finds nothing: EAGAIN"),
                         (rf'read\({fd}, "hello\\n", 4096\)\s+= 6', 'read "hello\\n" = 6'),
                         (rf'write\({fd}, "hello\\n", 6\)\s+= 6', 'write "hello\\n" = 6'),
                         (rf"read\({fd}, .*= -1 EAGAIN", "a read finds nothing: EAGAIN, and the goroutine parks"),
                         (r"epoll_pwait\(\d+, .*, 128, -1", "a thread waits in epoll_pwait without a timeout"),
                         (rf'read\({fd}, "", 4096\)\s+= 0', "EOF is a read of 0 bytes")):
            R.check(re.search(rx, tr) is not None, "strace: " + what, rx)
        in_text('read(6, "hello\\n", 4096)          = 6', "the read of hello")
    a = pynet("-trace", name="server B")
    st = strace(["-f", "-yy", "-e", "trace=accept4,read,write,epoll_pwait,setsockopt,shutdown,close",
                 "-p", str(a.p.pid)], "pynet beside -trace")
    if not st or not attached(st, "pynet beside -trace"):
        a.stop()
        return
    hs = pyexp("hs.py", a.port, 0.3)
    cport = hs.wait_for(r"client port (\d+)").group(1)
    hs.finish(10)
    # (no closing parenthesis: another thread may split the line, "<unfinished ...>")
    st.wait_for(rf"close\(\d+<TCP:\[127\.0\.0\.1:{a.port}->127\.0\.0\.1:{cport}\]>", 5)
    st.stop()
    a.stop()
    sock = f"<TCP:[127.0.0.1:{a.port}->127.0.0.1:{cport}]>"
    mine = [l for l in syscalls(st.lines) if sock in l]
    save("4-pynet-strace.txt", st.text(), a.text())
    reads = [l for l in mine if re.search(r"^read\(\d+<TCP.*\)\s+= [1-9]", l)]
    writes = [l for l in mine if re.search(r"^write\(\d+<TCP.*\)\s+= [1-9]", l)]
    tr_reads = a.count(r"conn 1 read\s+\d+ bytes")
    tr_writes = a.count(r"conn 1 write\s+\d+ bytes")
    R.check(len(reads) == tr_reads == 2, "each trace read line is one read(2) of the socket: 2", "\n".join(reads))
    R.check(len(writes) == tr_writes == 2, "each trace write line is one write(2) to the socket: 2", "\n".join(writes))
    R.check(not any("SO_KEEPALIVE" in l or "TCP_KEEPIDLE" in l for l in mine),
            "strace: no TCP keep-alive: the idle timeout finds dead peers",
            "\n".join(l for l in mine if "KEEP" in l))
    for rx, what in ((r"SOL_TCP, TCP_NODELAY, \[1\]", "Go sets TCP_NODELAY on the accepted socket"),
                     (r"SOL_SOCKET, SO_SNDBUF, \[262144\]", "the server caps SO_SNDBUF at 256 KiB"),
                     (r"shutdown\(.*SHUT_WR\)\s+= 0", "the close starts with shutdown(SHUT_WR)"),
                     (r'read\(.*, "", 512\)\s+= 0', "then reads the client's EOF"),
                     (r"close\(", "then closes")):
        R.check(any(re.search(rx, l) for l in mine), "strace: " + what, rx)
    for frag in ("TCP_NODELAY, [1], 4) = 0", "SO_SNDBUF, [262144], 4) = 0", "SHUT_WR) = 0"):
        in_text(frag, frag)


@section("5. The accept queue, and running out of descriptors")
def s_accept():
    bl = pyexp("backlog.py", 0, 4)
    bl.finish(15)
    out = bl.text()
    save("5-backlog.txt", out)
    R.check(re.search(r"^LISTEN\s+5\s+4\s", out, re.M) is not None,
            "ss -ltn: Recv-Q 5 finished handshakes for a backlog of 4 (backlog + 1)", out)
    quote("client 5: connected after", out, "five connections before anyone accepts")
    R.check(re.search(r"client 6: connected after", out) is not None, "the sixth connects once one is accepted")
    m = re.search(r"ListenOverflows \+(\d+), ListenDrops \+(\d+), TCPSynRetrans \+(\d+)", out)
    R.check(m is not None and int(m.group(1)) >= 1 and int(m.group(3)) >= 1,
            "the kernel counted at least one overflow and one SYN retransmission", out)
    a = pynet(name="server")
    ltn = run(["ss", "-Hltn", f"sport = :{a.port}"])
    a.stop()
    somax = min(int(open("/proc/sys/net/core/somaxconn").read()), 65535)
    R.check(int(ltn.split()[2]) == somax, f"Go listens with a backlog of net.core.somaxconn ({somax})", ltn)
    in_text("LISTEN 0      4096       127.0.0.1:5050", "pynet's backlog of 4096")
    if not HAVE.get("prlimit"):
        R.skip("EMFILE", "prlimit (util-linux) is not installed")
        return
    a = pynet(name="server (32 fds)", prefix=("prlimit", "--nofile=32"))
    em = pyexp("emfile.py", a.port, 40)
    em.finish(20)
    out = em.text()
    a.stop()
    save("5-emfile.txt", out, a.text())
    q = [int(x) for x in re.findall(r"accept queue: (\d+) connections not accepted", out)]
    conns = a.count(r"msg=connected ")
    R.check(len(q) == 2 and q[0] - q[1] == 10, "closing 10 connections lets exactly 10 more in", out)
    log = a.text()
    first = log[:log.find("msg=closed")].count("msg=connected ")
    R.check(len(q) == 2 and first == 40 - q[0], "what the server accepted before EMFILE left the queue", f"{first} {q}")
    pauses = re.findall(r'accept4: too many open files" pause=(\w+)', log)
    R.check(pauses[:5] == ["5ms", "10ms", "20ms", "40ms", "80ms"],
            "accept failed with EMFILE; the loop backs off 5 ms, 10 ms, 20 ms, …", repr(pauses[:8]))
    in_text('accept4: too many open files" pause=5ms', "the first back-off")


@section("6. Fanout")
def s_fanout():
    toy = pyexp("toy_threads.py", 0)
    tport = int(toy.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))
    st = pyexp("stall.py", tport, "nofrozen")
    st.finish(15)
    toy.stop(signal.SIGTERM)
    quote("without a frozen client: the watcher got the victim's line after", st.text(), "the toy without a frozen client")
    toy = pyexp("toy_threads.py", 0)
    tport = int(toy.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))
    st = pyexp("stall.py", tport)
    st.finish(20)
    toy.stop(signal.SIGTERM)
    mi = st.text()
    save("6-toy.txt", mi)
    quote("with a frozen client: the watcher did not get the victim's line within 2 s", st.text(),
          "the toy stalled by one frozen client")
    SHARED["toy_ss"] = mi
    a = pynet("-rate", "0", name="server")
    td = capture(f"tcp port {a.port} and tcp[tcpflags] & (tcp-rst|tcp-fin) != 0", "the slow consumer's reset")
    sp = pyexp("stall_pynet.py", a.port, 3)
    sp.finish(20)
    a.wait_for(r"reason=slow_consumer", 5)
    out = sp.text()
    save("6-stall_pynet.txt", out, a.text())
    quote("frozen was cut off: yes", out, "frozen cut off")
    quote("the watcher got the victim's line after", out, "the watcher not held up")
    quote("bye among them: no, then: [Errno 104] Connection reset by peer", out, "frozen's connection reset, no bye")
    fport = re.search(r"frozen is 127\.0\.0\.1:(\d+)", out).group(1)
    R.check(re.search(r"^--- t=3s\nState.*\n(?!ESTAB)", out + "\n", re.M) is not None,
            "by t=3s the connection is gone from both ends", out)
    if td:
        time.sleep(0.2)
        td.stop()
        save("6-tcpdump.txt", td.text())
        fr = [(src, dst, fl) for src, dst, fl, n in packets(td)
              if f".{fport}" in (src[-len(fport) - 1:], dst[-len(fport) - 1:])]
        srv = f"127.0.0.1.{a.port}"
        R.check([fl for src, dst, fl in fr if src == srv] == ["R."],
                "tcpdump: the server ends frozen's connection with one RST and no FIN", repr(fr))
    a.stop()


@section("7. Nagle and delayed ACKs")
def s_nagle():
    a = pynet("-rate", "0", name="server")
    ng = pyexp("nagle.py", a.port)
    ng.finish(20)
    a.stop()
    out = ng.text()
    save("7-nagle.txt", out)
    R.check(re.search(r"TCP_NODELAY=0: 20 pings, median", out) is not None and
            re.search(r"TCP_NODELAY=1: 20 pings, median", out) is not None, "nagle.py runs both ways", out)
    print("        " + out.replace("\n", "\n        "))


@section("8. Socket buffers")
def s_buffers():
    a = pynet("-rate", "0", name="server")
    sp = pyexp("stall_pynet.py", a.port, 2, "-tnmi")
    sp.finish(20)
    a.stop()
    out = sp.text()
    save("8-ss-tnmi.txt", out, SHARED.get("toy_ss", ""))
    fport = re.search(r"frozen is 127\.0\.0\.1:(\d+)", out).group(1)
    srv = re.search(rf"127\.0\.0\.1:{a.port}\s+127\.0\.0\.1:{fport}\s*\n\s*skmem:\((\S+)\)", out)
    cli = re.search(rf"127\.0\.0\.1:{fport}\s+127\.0\.0\.1:{a.port}\s*\n\s*skmem:\((\S+)\)", out)
    R.check(srv is not None and ",tb524288," in srv.group(1),
            "ss -m: the server's send buffer is tb524288 (256 KiB, doubled by the kernel)", out[:2000])
    rmem = open("/proc/sys/net/ipv4/tcp_rmem").read().split()
    rb = int(re.search(r",rb(\d+),", cli.group(1)).group(1)) if cli else 0
    R.check(0 < rb < 2 * int(rmem[1]), f"ss -m: frozen's receive buffer stays near tcp_rmem's default ({rmem[1]}): "
            f"it never reads, so autotuning does not grow it (rb{rb})", out[:2000])
    in_text("tb524288", "tb524288")
    in_text("rb131072", "rb131072")
    toy = SHARED.get("toy_ss", "")
    tbs = [int(x) for x in re.findall(r",tb(\d+),", toy)]
    wmem = open("/proc/sys/net/ipv4/tcp_wmem").read().split()
    R.check(tbs and max(tbs) > int(wmem[1]) and max(tbs) > 524288,
            f"the toy's socket to frozen grew its send buffer past the default ({wmem[1]}) by autotuning", toy[:1500])


@section("9. Timeouts")
def s_timeouts():
    a = pynet("-ping-interval", "2s", "-idle-timeout", "5s", "-trace", name="server")
    fz = pyexp("frozen.py", a.port)
    fz.wait_for(r'"type":"welcome"', 5)
    os.kill(fz.p.pid, signal.SIGSTOP)
    try:
        a.wait_for(r"conn 1 write    16 bytes", 5)
        ss1 = run(["ss", "-tn", f"( sport = :{a.port} or dport = :{a.port} )"])
        a.wait_for(r"conn 1 write    34 bytes", 8)
        ss2 = poll(lambda: run(["ss", "-tn", f"( sport = :{a.port} or dport = :{a.port} )"]),
                   lambda s: "CLOSE-WAIT" in s and "FIN-WAIT-2" in s, 3, "ss after the timeout")
    finally:
        os.kill(fz.p.pid, signal.SIGCONT)
    fz.finish(10)
    a.stop()
    out = a.text()
    save("9-timeouts.txt", out, ss1, ss2, fz.text())
    fires = re.findall(r"conn 1 read  failed  \(read tcp [0-9.:]+->[0-9.:]+: i/o timeout\)", out)
    R.check(len(fires) == 3, "three deadlines fire: ping, ping, idle timeout", "\n".join(fires))
    in_text("conn 1 read  failed  (read tcp 127.0.0.1:", "the format of a fired deadline")
    for frag in ("conn 1 write   176 bytes  1 frame(s)", "conn 1 write    16 bytes  1 frame(s)",
                 "conn 1 write    34 bytes  1 frame(s)"):
        quote(frag, out, frag)
    quote('{"type":"ping"}\n{"type":"ping"}\n{"type":"bye","reason":"timeout"}\nEOF', fz.text(),
          "what sleepy finds when it wakes")
    R.check(re.search(r"^ESTAB\s+16\s", ss1, re.M) is not None, "ss: one unread 16-byte ping", ss1)
    R.check(re.search(r"^CLOSE-WAIT\s+67\s", ss2, re.M) is not None and re.search(r"^FIN-WAIT-2\s+0\s", ss2, re.M),
            "ss: CLOSE-WAIT with 67 (66 bytes and the FIN), FIN-WAIT-2 on the server", ss2)
    in_text("CLOSE-WAIT 67", "CLOSE-WAIT 67")


@section("10. Closing")
def s_close():
    td = capture("tcp[tcpflags] & tcp-rst != 0 and host 127.0.0.1", "the resets of rst.py")
    res = {}
    for mode in ("close", "linger", "abort"):
        p = pyexp("rst.py", mode)
        p.finish(20)
        res[mode] = p.text()
    save("10-rst.txt", *res.values())
    quote("server sent 8232031 bytes, client got 8232031, bye received: True", res["linger"], "the linger keeps the bye")
    R.check("recv failed: [Errno 104] Connection reset by peer" in res["close"] and "bye received: False" in res["close"],
            "closing with unread input: reset, bye lost", res["close"])
    R.check("recv failed: [Errno 104] Connection reset by peer" in res["abort"] and "bye received: False" in res["abort"],
            "SO_LINGER 0: reset, bye lost", res["abort"])
    if td:
        time.sleep(0.2)
        td.stop()
        save("10-tcpdump.txt", td.text())
        for mode, want in (("close", 1), ("linger", 0), ("abort", 1)):
            port = re.search(r"toy server port (\d+)", res[mode]).group(1)
            n = sum(1 for src, dst, fl, _ in packets(td) if src.endswith("." + port) and "R" in fl)
            R.check(n == want, f"tcpdump: rst.py {mode}: {want} reset(s) from the toy server", str(n))
    # shutdown
    a = pynet(name="server")
    c = socket.create_connection(("127.0.0.1", a.port))
    c.sendall(b'{"type":"join","username":"alice"}\n')
    a.wait_for(r"msg=joined conn=1", 5)
    rc = a.stop(signal.SIGINT)
    c.settimeout(5)
    got = b""
    while d := c.recv(4096):
        got += d
    c.close()
    out = a.text()
    save("10-shutdown.txt", out)
    R.check(rc == 0, "the server exits 0 on SIGINT", str(rc))
    R.check(got.endswith(b'{"type":"bye","reason":"shutdown"}\n'), "alice reads bye shutdown, then EOF", repr(got[-80:]))
    for frag in ('msg="shutting down"', "reason=shutdown", 'msg="shut down" connections_closed=1'):
        quote(frag, out, frag)
    try:
        socket.create_connection(("127.0.0.1", a.port), timeout=2).close()
        R.check(False, "after the shutdown the port refuses connections")
    except ConnectionRefusedError:
        R.check(True, "after the shutdown the port refuses connections")


@section("11. Durability")
def s_durability():
    d = tempfile.mkdtemp(prefix="pynet-learn-")
    try:
        durability(os.path.join(d, "pd"))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def durability(pd):
    a = pynet("-data", pd, "-rate", "0", "-metrics", "127.0.0.1:0", name="server (data)")
    first = int(a.wait_for(r"msg=\"store open\" .*next_id=(\d+)").group(1))
    R.check(first == 1, "a new store starts at id 1")
    ak = pyexp("acks.py", a.port, "nc1", 1000)
    ak.finish(20)
    quote("1000 acks, ids 1 to 1000", ak.text(), "1,000 acks")
    files = sorted(os.listdir(pd))
    R.check(files == ["pynet.db", "pynet.db-shm", "pynet.db-wal"], "three files: pynet.db, -shm, -wal", repr(files))
    c1 = metric(a, "pynet_store_commits_total")
    m1 = metric(a, "pynet_store_messages_committed_total")
    R.check(m1 == 1000 and 1 <= c1 <= 1000, "1,000 messages committed in fewer commits", f"{c1} commits, {m1} messages")
    db = sqlite3.connect(f"file:{pd}/pynet.db?mode=ro", uri=True)
    ceiling = int(db.execute("select value from meta where key = 'ceiling'").fetchone()[0])
    db.close()
    R.check(10001 <= ceiling <= 11000, "the ceiling is 10,000 above the first commit's last id", str(ceiling))
    st = strace(["-f", "-y", "-T", "-e", "trace=fsync,fdatasync", "-e", "signal=none", "-p", str(a.p.pid)], "the syncs")
    if st and attached(st, "the syncs"):
        ak = pyexp("acks.py", a.port, "nc2", 1000)
        ak.finish(20)
        st.wait_for(r"fsync\(\d+</.*pynet\.db-wal>", 4)  # the call (its result may come on a "resumed" line)
        st.stop()
        syncs = st.count(r"f(data)?sync\(")
        c2 = metric(a, "pynet_store_commits_total")
        save("11-batch.txt", ak.text(), st.text(), f"commits {c1} -> {c2}")
        R.check(1 <= syncs <= 4 and c2 - c1 >= 1, "-fsync batch: a few syncs (the periodic one, the checkpoint's) for all of those commits",
                f"{syncs} syncs, {c2 - c1} commits")
    a.stop()
    files = sorted(os.listdir(pd))
    R.check(files == ["pynet.db"], "a clean stop checkpoints and removes the log", repr(files))
    a = pynet("-data", pd, "-rate", "0", "-fsync", "always", "-metrics", "127.0.0.1:0", name="server (always)")
    nid = int(a.wait_for(r"msg=\"store open\" .*next_id=(\d+) fsync=always").group(1))
    R.check(nid == ceiling + 1, f"after the restart the ids continue above the ceiling: next_id={ceiling + 1}", str(nid))
    pyexp("acks.py", a.port, "nc3", 1).finish(10)   # the first commit makes a new log
    c1 = metric(a, "pynet_store_commits_total")
    st = strace(["-f", "-y", "-T", "-e", "trace=fsync,fdatasync", "-e", "signal=none", "-p", str(a.p.pid)], "the syncs")
    if st and not attached(st, "the syncs"):
        st = None
    ak = pyexp("acks.py", a.port, "nc4", 1000)
    ak.finish(20)
    c2 = metric(a, "pynet_store_commits_total")
    if st:
        poll(lambda: st.count(r"fsync\("), lambda n: n >= c2 - c1, 3, "syncs")
        st.stop()
        syncs = st.count(r"f(data)?sync\(")
        save("11-always.txt", ak.text(), st.text(), f"commits {c1} -> {c2}")
        R.check(syncs == c2 - c1, "-fsync always: one sync per commit, never one per message",
                f"{syncs} syncs, {c2 - c1} commits")
    a.stop()
    # kill -9 under load
    a = pynet("-data", pd, "-rate", "0", "-retain", "0", name="server (retain 0)")
    ld = pyexp("load.py", a.port)
    a.wait_for(r"msg=joined conn=1 ", 5)
    time.sleep(2)                       # the load runs for 2 s, then the kill
    a.p.kill()
    a.p.wait(5)
    ld.finish(10)
    out = ld.text()
    m = re.search(r"acked: (\d+) messages, ids (\d+) to (\d+)", out)
    files = sorted(os.listdir(pd))
    R.check("pynet.db-wal" in files, "after kill -9 the log is still there", repr(files))
    a = pynet("-data", pd, "-rate", "0", "-retain", "0", name="server (after kill -9)")
    nid = int(a.wait_for(r"msg=\"store open\" .*next_id=(\d+)").group(1))
    db = sqlite3.connect(f"file:{pd}/pynet.db?mode=ro", uri=True)
    n, lo, hi = db.execute("select count(*), min(id), max(id) from messages where from_name = 'load'").fetchone()
    kept = db.execute("select count(*) from messages where from_name = 'load' and id <= ?", (int(m.group(3)),)).fetchone()[0]
    ceiling = int(db.execute("select value from meta where key = 'ceiling'").fetchone()[0])
    db.close()
    a.stop()
    save("11-kill.txt", out, f"{n}|{lo}|{hi}", str(kept), f"ceiling|{ceiling}", f"next_id={nid}")
    R.check(m is not None and kept == int(m.group(1)) and lo == int(m.group(2)),
            "every acked message survived kill -9, with its id", f"{out} / stored {n} {lo} {hi}, {kept} up to the last ack")
    R.check(nid == ceiling + 1 and nid > hi and nid > int(m.group(3)),
            "the next id is above the ceiling, above everything stored and acked", f"{nid} {ceiling} {hi}")


@section("12. Resume")
def s_resume():
    a = pynet("-resume-grace", "2s", name="server")
    rs = pyexp("resume.py", a.port)
    rs.finish(20)
    a.stop()
    out = rs.text()
    save("12-resume.txt", out, a.text())
    quote('"resumed":true', out, "a resumed welcome")
    quote('carol < {"type":"entered","room":"go","users":["alice","carol"],"count":2,"replay":1}', out,
          "the replay of what carol missed")
    quote('carol < {"type":"bye","reason":"replaced"}', out, "bye replaced to the older connection")
    quote('{"type":"error","code":"auth_failed","message":"unknown or expired session; join without it"}', out,
          "auth_failed after the hold")
    quote("alice got 2 left frame(s), all after the grace: go disconnect, lobby disconnect", out,
          "nothing announced during the holds")
    log = a.text()
    R.check(re.search(r"conn=3 .*reason=replaced", log) is not None, "the server log: replaced", log)


# ---------------------------------------------------------------- main

GROUP = (s_handshake, s_stream, s_goroutines)   # one server, in this order


def build(tmp):
    global PYNET, ECHO
    PYNET, ECHO = os.path.join(tmp, "pynet"), os.path.join(tmp, "echo")
    for out, pkg in ((PYNET, "./cmd/pynet"), (ECHO, "./examples/learn/echo")):
        r = subprocess.run(["go", "build", "-o", out, pkg], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=600)
        if r.returncode != 0:
            raise SystemExit(f"go build {pkg} failed:\n{r.stdout}")


def main():
    global OUT
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="keep every experiment's output in this directory")
    ap.add_argument("--only", action="append", default=[],
                    help="run only the sections whose title has this word (sections 1 to 3 go together)")
    args = ap.parse_args()
    if args.out:
        OUT = args.out
        os.makedirs(OUT, exist_ok=True)
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="pynet-learn-bin-")
    try:
        build(tmp)
        print(f"built pynet and echo in {time.monotonic() - t0:.1f} s")
        probe_tools()
        for title, fn in SECTIONS:
            if args.only and not any(w.lower() in t.lower() for w in args.only
                                     for t in ([title] if fn not in GROUP
                                               else [x for x, f in SECTIONS if f in GROUP])):
                continue
            if fn in (s_stream, s_goroutines) and "a" not in SHARED:
                R.skip(title, "it follows section 1 on the same server (run with --only handshake)")
                continue
            R.section = title
            t = time.monotonic()
            print(f"== {title}")
            try:
                fn()
            except Exception as e:  # one broken experiment must not hide the others
                R.check(False, f"the experiment ran to the end", f"{type(e).__name__}: {e}")
            print(f"   ({time.monotonic() - t:.1f} s)")
            if fn is s_goroutines and "a" in SHARED:
                SHARED.pop("a").stop()
    finally:
        for p in Proc.live:
            if p.p.poll() is None:
                try:
                    os.kill(p.p.pid, signal.SIGCONT)
                except OSError:
                    pass
                p.stop(signal.SIGKILL, 5)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{R.ok} checks passed, {R.failed} failed, {R.skipped} skipped, in {time.monotonic() - t0:.0f} s")
    for f in R.failures:
        print("  FAILED:", f)
    sys.exit(1 if R.failed else 0)


if __name__ == "__main__":
    main()
