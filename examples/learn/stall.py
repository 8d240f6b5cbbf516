# stall.py PORT [nofrozen] [SECONDS]: against toy_threads.py (docs/learn.md,
# "Fanout"). A frozen client connects and never reads; a talker sends about
# 4 MB/s for SECONDS (3 by default); then a victim sends one line and a
# watcher waits for it, at most 2 s. With the frozen client, `ss -tnmi`
# shows both ends of its connection just before the victim speaks. Restart
# the toy server between runs.
import socket, subprocess, sys, threading, time
port = int(sys.argv[1])
args = sys.argv[2:]
with_frozen = "nofrozen" not in args
args = [a for a in args if a != "nofrozen"]
seconds = float(args[0]) if args else 3

def dial():
    return socket.create_connection(("127.0.0.1", port))

def drain(s, want=None, seen=None):
    buf = b""
    while True:
        d = s.recv(65536)
        if not d:
            return
        if want:
            buf = buf[-64:] + d
            if want in buf:
                seen.set()
                want = None

if with_frozen:
    frozen = dial()                        # connects, never reads
    fport = frozen.getsockname()[1]
watcher, talker, victim = dial(), dial(), dial()
heard = threading.Event()
threading.Thread(target=drain, args=(watcher, b"victim says hi", heard), daemon=True).start()
threading.Thread(target=drain, args=(talker,), daemon=True).start()
threading.Thread(target=drain, args=(victim,), daemon=True).start()
time.sleep(0.3)

def flood():
    for i in range(100000):                # about 4 MB/s, paced
        talker.sendall(b"x" * 4000 + b"\n")
        time.sleep(0.0005)
threading.Thread(target=flood, daemon=True).start()
time.sleep(seconds)                        # long enough to fill frozen's buffers
if with_frozen:
    subprocess.run(["ss", "-tnmi", f"( sport = :{port} and dport = :{fport} ) or "
                    f"( sport = :{fport} and dport = :{port} )"])
t0 = time.monotonic()
victim.sendall(b"victim says hi\n")
got = heard.wait(2)
print("with a frozen client:" if with_frozen else "without a frozen client:",
      f"the watcher got the victim's line after {time.monotonic() - t0:.3f} s" if got
      else "the watcher did not get the victim's line within 2 s")
