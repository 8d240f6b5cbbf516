# rst.py [linger|abort]: a toy server closes a socket that still holds unread
# input (docs/learn.md, section 7).
#   python3 rst.py          close at once: the kernel answers with RST
#   python3 rst.py linger   shutdown(SHUT_WR), read until EOF, then close
#   python3 rst.py abort    SO_LINGER 0, then close: a reset on purpose
import socket, struct, sys, threading, time

mode = sys.argv[1] if len(sys.argv) > 1 else "close"
ls = socket.create_server(("127.0.0.1", 0))
port = ls.getsockname()[1]
bye = b'{"type":"bye","reason":"quit"}\n'
payload = (b'{"type":"message","text":"' + b"x" * 1000 + b'"}\n') * 8000 + bye

def toy_server():
    c, _ = ls.accept()
    c.recv(17)                       # reads {"type":"leave"} and nothing more
    time.sleep(0.2)                  # meanwhile the client sends one more line
    c.sendall(payload)               # returns once the kernel has queued it all
    if mode == "linger":
        c.shutdown(socket.SHUT_WR)   # FIN after the last byte
        c.settimeout(0.5)
        while c.recv(4096):          # discard input until the peer closes
            pass
    elif mode == "abort":
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()

threading.Thread(target=toy_server).start()
s = socket.create_connection(("127.0.0.1", port))
print("toy server port", port, flush=True)
s.sendall(b'{"type":"leave"}\n')
time.sleep(0.1)
s.sendall(b'{"type":"ping"}\n')      # the server never reads this
got = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
except ConnectionResetError as e:
    print("recv failed:", e)
s.close()
print(f"server sent {len(payload)} bytes, client got {len(got)}, bye received: {got.endswith(bye)}")
