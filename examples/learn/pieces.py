# pieces.py PORT: send half a frame, then the rest, then two and a half
# frames in one send, then the last half, and print what comes back
# (docs/learn.md, section 2). The server's -trace shows its reads.
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b'{"type":"join",'); time.sleep(0.2)          # half a frame
s.sendall(b'"username":"alice"}\n'); time.sleep(0.2)    # ...the rest
s.sendall(b'{"type":"ping","ref":"1"}\n{"type":"ping","ref":"2"}\n{"type":"pi')  # 2.5 frames
time.sleep(0.2)
s.sendall(b'ng","ref":"3"}\n'); time.sleep(0.2)
s.sendall(b'{"type":"leave"}\n')
data = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
print(data.decode(), end="")
