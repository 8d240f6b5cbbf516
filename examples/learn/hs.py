# hs.py PORT [SECONDS]: connect, join, wait (3 s by default), leave, and read
# until the server closes. Section 1 of docs/learn.md watches it with tcpdump.
import socket, sys, time
port = int(sys.argv[1])
wait = float(sys.argv[2]) if len(sys.argv) > 2 else 3
s = socket.create_connection(("127.0.0.1", port))
print("client port", s.getsockname()[1], flush=True)
s.sendall(b'{"type":"join","username":"alice"}\n')
print(s.recv(4096).decode(), end="", flush=True)
time.sleep(wait)
s.sendall(b'{"type":"leave"}\n')
while True:
    d = s.recv(4096)
    if not d:
        break
    print(d.decode(), end="")
s.close()
