# backlog.py PORT [BACKLOG]: a listening socket with a small backlog (4 by
# default) that nobody accepts from, and clients that connect to it one by
# one (docs/learn.md, "The accept queue"). The kernel finishes BACKLOG + 1
# handshakes on its own; the next SYN is dropped and the client's kernel
# sends it again 1 s later, then 2 s after that. After 2.5 s the program
# accepts one connection, which makes room for the waiting one.
import socket, subprocess, sys, threading, time
port = int(sys.argv[1])
backlog = int(sys.argv[2]) if len(sys.argv) > 2 else 4

def counters():
    # The kernel's counters, as nstat shows them: TcpExt lines of
    # /proc/net/netstat (a line of names, then a line of values).
    with open("/proc/net/netstat") as f:
        rows = [l.split() for l in f]
    for names, values in zip(rows[::2], rows[1::2]):
        if names[0] == "TcpExt:":
            c = dict(zip(names[1:], map(int, values[1:])))
            return {k: c.get(k, 0) for k in ("ListenOverflows", "ListenDrops", "TCPSynRetrans")}

ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(backlog)
port = ls.getsockname()[1]
print(f"listening on 127.0.0.1:{port} with backlog {backlog}; not accepting", flush=True)
before = counters()
clients = []
for i in range(1, backlog + 2):
    t0 = time.monotonic()
    clients.append(socket.create_connection(("127.0.0.1", port)))
    print(f"client {i}: connected after {time.monotonic() - t0:.3f} s", flush=True)
subprocess.run(["ss", "-ltn", f"sport = :{port}"])
threading.Timer(2.5, lambda: clients.append(ls.accept()[0])).start()
i, t0 = backlog + 2, time.monotonic()
clients.append(socket.create_connection(("127.0.0.1", port), timeout=10))
print(f"client {i}: connected after {time.monotonic() - t0:.3f} s", flush=True)
after = counters()
print("kernel counters:", ", ".join(f"{k} +{after[k] - before[k]}" for k in after))
subprocess.run(["ss", "-ltn", f"sport = :{port}"])
