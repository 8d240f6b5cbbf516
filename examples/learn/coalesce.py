# coalesce.py PORT: alice sends 30 messages in one sendall while bob listens;
# bob prints what each of his recv calls returned (docs/learn.md, section 2).
import json, socket, sys, time
port = int(sys.argv[1])
NL = b"\n"
def dial(name):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(json.dumps({"type": "join", "username": name}).encode() + NL)
    time.sleep(0.2)
    s.recv(65536)                          # welcome (and joined for bob)
    return s
bob = dial("bob")
alice = dial("alice")
time.sleep(0.2); bob.recv(65536)           # bob's "joined alice"
alice.sendall(b"".join(b'{"type":"message","text":"msg %d"}\n' % i for i in range(30)))
time.sleep(0.5)
bob.settimeout(0.2)
try:
    while True:
        d = bob.recv(65536)
        print(f"bob recv: {len(d)} bytes, {d.count(NL)} frames")
except socket.timeout:
    pass
