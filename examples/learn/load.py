# load.py PORT: send messages as fast as the server takes them, remember
# every ack, and stop when the connection ends, say because the server was
# killed (docs/learn.md, "Durability"). Start the server with -rate 0.
import json, socket, sys, threading
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b'{"type":"join","username":"load"}\n')
def sender():
    try:
        for i in range(10_000_000):
            s.sendall(b'{"type":"message","text":"load %d","ref":"%d"}\n' % (i, i))
    except OSError:
        pass
threading.Thread(target=sender, daemon=True).start()
acked, buf = [], b""
try:
    while d := s.recv(65536):
        buf += d
        *lines, buf = buf.split(b"\n")
        acked += [json.loads(l)["id"] for l in lines if b'"ack"' in l]
except OSError:
    pass
print(f"acked: {len(acked)} messages, ids {acked[0]} to {acked[-1]}" if acked else "acked: none")
