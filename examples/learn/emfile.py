# emfile.py PORT [N]: open N connections (40 by default) to a server that
# may hold only a few file descriptors, show its accept queue, close 10 of
# them and show it again (docs/learn.md, "Out of file descriptors"). Start
# the server with: prlimit --nofile=32 /tmp/pynet server -addr 127.0.0.1:PORT
import socket, subprocess, sys, time
port = int(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 40

def queued():
    # Recv-Q of the listening socket: finished handshakes not yet accepted.
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout
    return int(out.split()[1])

def settle(limit):
    # Poll the accept queue until it has not changed for 1.2 s: longer than the
    # longest pause of the server's accept loop (1 s) between two tries.
    last, since, end = queued(), time.monotonic(), time.monotonic() + limit
    while time.monotonic() < end and time.monotonic() - since < 1.2:
        time.sleep(0.05)
        if (q := queued()) != last:
            last, since = q, time.monotonic()
    return last

conns = [socket.create_connection(("127.0.0.1", port)) for i in range(n)]
print(f"{n} connections open (the kernel finished every handshake)")
print(f"accept queue: {settle(5)} connections not accepted")
for c in conns[:10]:
    c.close()
print("closed 10 of them")
print(f"accept queue: {settle(5)} connections not accepted")
