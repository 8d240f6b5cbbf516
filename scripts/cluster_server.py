#!/usr/bin/env python3
"""Run a whole PyNet cluster as if it were one server, for black-box tests.

    python3 scripts/cluster_server.py PYNET -addr 127.0.0.1:PORT [server flags...]

starts a NATS server with JetStream (a fresh store in a temporary directory),
NODES pynet nodes (default 3) joined to it with the given flags, and a
round-robin TCP relay on -addr: connection 1 goes to node 1, connection 2 to
node 2, and so on, so every multi-client test talks across nodes. It logs
"listening on HOST:PORT" like `pynet server`, passes SIGTERM and SIGINT on to
the nodes (they say bye shutdown and exit), and takes everything down with
it. Every child is killed when this process dies, even by SIGKILL.

The conformance sample against a cluster:

    python3 ../shared/conformance/run.py --server "python3 scripts/cluster_server.py ./pynet"

Environment: NATS_SERVER (default: nats-server on PATH, then ~/go/bin),
NODES (default 3). Loopback only.
"""

import asyncio
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

PR_SET_PDEATHSIG = 1
LISTEN_RE = re.compile(r"listening on (\S+):(\d+)")


def die_with_parent():
    """Runs in each child: the kernel kills it when this process dies."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def nats_binary():
    for cand in (os.environ.get("NATS_SERVER"), shutil.which("nats-server"),
                 os.path.expanduser("~/go/bin/nats-server")):
        if cand and os.access(cand, os.X_OK):
            return cand
    sys.exit("cluster_server: no nats-server (go install github.com/nats-io/nats-server/v2@v2.15.2)")


def wait_port(port, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def start_node(argv, tag):
    """Starts a node; returns (process, port) once it logs 'listening on'."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, preexec_fn=die_with_parent, text=True)
    found = threading.Event()
    port = []

    def pump():
        for line in p.stderr:
            # Only the relay says "listening on": tests look for that line.
            sys.stderr.write("[%s] %s" % (tag, line.replace("listening on", "node up on")))
            m = LISTEN_RE.search(line)
            if m and not found.is_set():
                port.append(int(m.group(2)))
                found.set()
    threading.Thread(target=pump, daemon=True).start()
    if not found.wait(30):
        p.kill()
        sys.exit("cluster_server: %s did not start" % tag)
    return p, port[0]


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()  # half-close: the other side sees EOF, as without a relay
    except (ConnectionError, OSError):
        writer.transport.abort()


async def relay(host, port, backends):
    turn = [0]

    async def handle(cr, cw):
        b = backends[turn[0] % len(backends)]
        turn[0] += 1
        try:
            br, bw = await asyncio.open_connection("127.0.0.1", b)
        except OSError:
            cw.transport.abort()
            return
        await asyncio.gather(pipe(cr, bw), pipe(br, cw))
        for w in (bw, cw):
            w.close()

    server = await asyncio.start_server(handle, host, port, reuse_address=True)
    sys.stderr.write("listening on %s:%d (relay to %d cluster nodes)\n" % (host, port, len(backends)))
    sys.stderr.flush()
    return server


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    pynet, flags = sys.argv[1], sys.argv[2:]
    addr = "127.0.0.1:5050"
    rest = []
    i = 0
    while i < len(flags):
        f = flags[i]
        if f in ("-addr", "--addr") and i + 1 < len(flags):
            addr = flags[i + 1]
            i += 2
            continue
        if f.startswith(("-addr=", "--addr=")):
            addr = f.split("=", 1)[1]
        else:
            rest.append(f)
        i += 1
    host, port = addr.rsplit(":", 1)
    port = int(port) or free_port()

    tmp = tempfile.mkdtemp(prefix="pynet-cluster-")
    nats_port = free_port()
    nats = subprocess.Popen([nats_binary(), "-js", "-sd", os.path.join(tmp, "js"), "-a", "127.0.0.1",
                             "-p", str(nats_port)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
    if not wait_port(nats_port, 20):
        sys.exit("cluster_server: nats-server did not start")
    nodes, ports = [], []
    for k in range(int(os.environ.get("NODES", "3"))):
        p, bport = start_node([pynet, "server", "-addr", "127.0.0.1:0", "-cluster",
                               "nats://127.0.0.1:%d" % nats_port, "-cluster-node", "node%d" % (k + 1)] + rest,
                              "node%d" % (k + 1))
        nodes.append(p)
        ports.append(bport)

    loop = asyncio.new_event_loop()
    stopping = []

    def on_signal(sig):
        stopping.append(sig)
        for p in nodes:
            if p.poll() is None:
                p.send_signal(sig)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)

    async def run():
        server = await relay(host, port, ports)
        while True:
            await asyncio.sleep(0.05)
            if all(p.poll() is not None for p in nodes) or any(p.poll() is not None for p in nodes) and not stopping:
                break
        server.close()

    try:
        loop.run_until_complete(run())
    finally:
        for p in nodes:
            if p.poll() is None:
                p.kill()
        nats.kill()
        nats.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    codes = [p.wait() for p in nodes]
    sys.exit(max(codes) if not stopping else 0)


if __name__ == "__main__":
    main()
