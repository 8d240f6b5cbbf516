# nagle.py PORT [ROUNDS]: send a ping in two pieces and wait for its pong,
# ROUNDS times (20 by default), first with Nagle's algorithm on (the default
# for a Python socket), then with TCP_NODELAY (the default in Go), and
# print how long the round trips took (docs/learn.md, "Nagle and delayed
# ACKs"). Start the server with -rate 0.
import socket, statistics, sys, time
port = int(sys.argv[1])
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
for nodelay in (0, 1):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, nodelay)
    s.sendall(b'{"type":"join","username":"nagle%d"}\n' % nodelay)
    s.recv(4096)                                   # welcome
    times = []
    for i in range(rounds):
        t0 = time.perf_counter()
        s.sendall(b'{"type":"ping",')              # write
        s.sendall(b'"ref":"%d"}\n' % i)            # write
        buf = b""
        while not buf.endswith(b"\n"):             # read
            buf += s.recv(4096)
        times.append((time.perf_counter() - t0) * 1000)
    s.sendall(b'{"type":"leave"}\n')
    while s.recv(4096):                            # bye, then EOF
        pass
    s.close()
    print(f"TCP_NODELAY={nodelay}: {rounds} pings, median {statistics.median(times):.2f} ms, "
          f"slowest {max(times):.2f} ms, {sum(t > 20 for t in times)} over 20 ms")
