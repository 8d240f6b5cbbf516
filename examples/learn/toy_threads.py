# toy_threads.py [PORT [BACKLOG]]: the thread-per-client toy server of
# docs/learn.md, section 3: one OS thread per connection, each blocked in
# recv(), broadcasting under one lock. PORT defaults to 5051 (0 picks a free
# one); BACKLOG is listen()'s backlog, 128 unless given.
import resource, socket, sys, threading
port = int(sys.argv[1]) if len(sys.argv) > 1 else 5051
backlog = int(sys.argv[2]) if len(sys.argv) > 2 else 128
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))   # one fd per client
clients, lock = [], threading.Lock()

def handle(c):
    with lock:
        clients.append(c)
    try:
        while True:
            data = c.recv(4096)              # blocks this thread
            if not data:
                break
            with lock:                       # broadcast: sendall to everyone,
                for o in clients:            # under the lock, one by one
                    if o is not c:
                        o.sendall(data)
    except OSError:
        pass
    finally:
        with lock:
            clients.remove(c)
        c.close()

ls = socket.create_server(("127.0.0.1", port), backlog=backlog)
print("listening on 127.0.0.1:%d backlog %d" % (ls.getsockname()[1], backlog), flush=True)
while True:
    c, _ = ls.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
