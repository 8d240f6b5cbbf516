# acks.py PORT NAME [N]: join as NAME, send N messages (1,000 by default) in
# one go, each with a ref, wait for every ack, leave, and say which ids they
# got (docs/learn.md, "Durability"). Start the server with -rate 0.
import json, socket, sys
port, name = int(sys.argv[1]), sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
s = socket.create_connection(("127.0.0.1", port))
s.sendall(json.dumps({"type": "join", "username": name}).encode() + b"\n")
s.sendall(b"".join(b'{"type":"message","text":"msg %d","ref":"%d"}\n' % (i, i)
                   for i in range(1, n + 1)))
ids, buf = [], b""
while len(ids) < n:
    d = s.recv(65536)
    if not d:
        sys.exit(f"acks.py: the connection ended after {len(ids)} acks")
    buf += d
    *lines, buf = buf.split(b"\n")
    for l in lines:
        f = json.loads(l)
        if f["type"] == "ack":
            ids.append(f["id"])
        elif f["type"] == "error":
            sys.exit(f"acks.py: {l.decode()}")
s.sendall(b'{"type":"leave"}\n')
while s.recv(65536):                       # bye, then EOF
    pass
print(f"{len(ids)} acks, ids {ids[0]} to {ids[-1]}")
