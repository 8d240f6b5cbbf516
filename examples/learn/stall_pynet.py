# stall_pynet.py PORT [SECONDS] [ss flags]: a frozen client that joins and
# never reads, a talker that sends about 1 MB/s for SECONDS (3 by default),
# then a victim's line that a watcher waits for (docs/learn.md, sections 4
# and 5). Start the server with -rate 0. Once a second it shows both ends
# of the frozen connection with `ss -tn` (or the ss flags given, e.g. -tnmi).
import json, socket, subprocess, sys, threading, time
port = int(sys.argv[1])
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3
ssflags = sys.argv[3] if len(sys.argv) > 3 else "-tn"

def dial(name):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(json.dumps({"type": "join", "username": name}).encode() + b"\n")
    return s

def drain(s, want, seen):
    buf = b""
    while True:
        d = s.recv(65536)
        if not d:
            return
        if want:
            buf = buf[-200:] + d
            if want in buf:
                seen.set()
                want = None

frozen = dial("frozen")                    # joins, then never reads
fport = frozen.getsockname()[1]
print(f"frozen is 127.0.0.1:{fport}", flush=True)
watcher, talker, victim = dial("watcher"), dial("talker"), dial("victim")
heard, left = threading.Event(), threading.Event()
threading.Thread(target=drain, args=(watcher, b"victim says hi", heard), daemon=True).start()
threading.Thread(target=drain, args=(talker, b'"reason":"slow_consumer"', left), daemon=True).start()
threading.Thread(target=drain, args=(victim, None, None), daemon=True).start()
time.sleep(0.3)
line = json.dumps({"type": "message", "text": "x" * 1000}).encode() + b"\n"
def flood():
    for i in range(int(seconds * 1000)):   # about 1 MB/s, paced
        talker.sendall(line)
        time.sleep(0.0005)
threading.Thread(target=flood, daemon=True).start()
conn = f"( sport = :{port} and dport = :{fport} ) or ( sport = :{fport} and dport = :{port} )"
t0 = time.monotonic()
for t in range(1, int(seconds) + 1):       # both ends of frozen's connection, once a second
    time.sleep(max(0, t0 + t - time.monotonic()))
    print(f"--- t={t}s", flush=True)
    subprocess.run(["ss", ssflags, conn])
t0 = time.monotonic()
victim.sendall(b'{"type":"message","text":"victim says hi"}\n')
got = heard.wait(4)
print("frozen was cut off:", "yes" if left.is_set() else "no")
print(f"the watcher got the victim's line after {time.monotonic() - t0:.3f} s" if got
      else "the watcher did not get the victim's line within 4 s")
# Now frozen reads what its kernel kept for it, and finds how it ended.
frozen.settimeout(2)
n, bye = 0, False
try:
    while d := frozen.recv(65536):
        n += len(d)
        bye = bye or b'"type":"bye"' in d
    end = "EOF"
except OSError as e:
    end = str(e)
print(f"frozen read {n} bytes, bye among them: {'yes' if bye else 'no'}, then: {end}")
