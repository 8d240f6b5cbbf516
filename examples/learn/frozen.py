# frozen.py PORT: join as "sleepy" and print everything that arrives, until
# EOF (docs/learn.md, section on timeouts). Freeze it with kill -STOP and the
# server's pings and its idle timeout pile up in the socket's buffer.
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b'{"type":"join","username":"sleepy"}\n')
while True:
    d = s.recv(4096)
    if not d:
        break
    print(d.decode(), end="", flush=True)
print("EOF")
