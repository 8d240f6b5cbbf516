# resume.py PORT: a version 2 session loses its connection and resumes
# (docs/learn.md, "Resume"). Start the server with -resume-grace 3s. Every
# frame sent (>) and received (<) is printed, tokens cut short.
import json, re, socket, sys, time
port = int(sys.argv[1])

class Peer:
    def __init__(self, name):
        self.name, self.buf = name, b""
        self.s = socket.create_connection(("127.0.0.1", port))
        self.seen = []                          # every frame received

    def send(self, **f):
        line = json.dumps(f, separators=(",", ":"))
        print(f"{self.name} > {short(line)}")
        self.s.sendall(line.encode() + b"\n")

    def expect(self, typ, **want):
        # Read frames until one of this type (and these members) arrives.
        self.s.settimeout(6)
        while True:
            while b"\n" not in self.buf:
                d = self.s.recv(65536)
                if not d:
                    sys.exit(f"resume.py: {self.name}: EOF while waiting for {typ}")
                self.buf += d
            line, self.buf = self.buf.split(b"\n", 1)
            f = json.loads(line)
            self.seen.append(f)
            print(f"{self.name} < {short(line.decode())}")
            if f["type"] == typ and all(f.get(k) == v for k, v in want.items()):
                return f

def short(line):
    return re.sub(r'("session":"[^"]{12})[^"]*"', r'\1…"', line)

alice = Peer("alice")
alice.send(type="join", username="alice", protocol=2, rooms=["lobby", "go"])
alice.expect("entered", room="go")
carol = Peer("carol")
carol.send(type="join", username="carol", protocol=2, rooms=["lobby", "go"])
w = carol.expect("welcome")
carol.expect("entered", room="go")
alice.expect("joined", room="go")
carol.send(type="message", room="go", text="yes", ref="m1")
carol.expect("ack", ref="m1")
alice.expect("message", text="yes")
alice.send(type="message", text="lunch?", ref="a1")
alice.expect("ack", ref="a1")
last = carol.expect("message", text="lunch?")["id"]   # carol's position
print(f"      … carol's connection drops (closed without leave); she has seen up to id {last} …")
carol.s.close()
alice.send(type="message", room="go", text="nice", ref="a2")
alice.expect("ack", ref="a2")
alice.send(type="users", room="go", ref="u")
alice.expect("users", ref="u")
carol = Peer("carol")                          # the same user, a new connection
carol.send(type="join", username="carol", protocol=2,
           session=w["session"], epoch=w["epoch"], since=last)
w = carol.expect("welcome")
carol.expect("entered", room="lobby")
carol.expect("entered", room="go")
carol.expect("message", text="nice")
print("      … a second device resumes with the newest token while this one is connected …")
phone = Peer("phone")
phone.send(type="join", username="carol", protocol=2, session=w["session"], epoch=w["epoch"], since=last)
old = w["session"]
w = phone.expect("welcome")
carol.expect("bye")
phone.expect("entered", room="go")
print("      … the phone's connection drops too, and nobody resumes …")
phone.s.close()
t0 = time.monotonic()
alice.expect("left", username="carol", room="go")
alice.expect("left", username="carol", room="lobby")
print(f"      ({time.monotonic() - t0:.1f} s after the drop)")
late = Peer("carol")
late.send(type="join", username="carol", protocol=2, session=w["session"], epoch=w["epoch"], since=last)
late.expect("error")
held = [f for f in alice.seen if f["type"] == "left"]
print(f"alice got {len(held)} left frame(s), all after the grace: "
      + ", ".join(f'{f["room"]} {f["reason"]}' for f in held))
