# many.py PORT N [SECONDS]: open N idle connections, say so, and hold them
# (60 s by default, or until stdin closes when SECONDS is "stdin").
# Each connection is a file descriptor. The usual soft limit, `ulimit -n`,
# is 1,024, so first raise it to the hard limit, as Go does by itself.
import resource, socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard != resource.RLIM_INFINITY and hard < n + 16:
    sys.exit(f"many.py: {n} connections need {n + 16} file descriptors; the hard limit is {hard}")
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
t0 = time.monotonic()
conns = [socket.create_connection(("127.0.0.1", port)) for i in range(n)]
print(f"{n} connections open after {time.monotonic() - t0:.1f} s", flush=True)
if sys.argv[3:] == ["stdin"]:
    sys.stdin.read()
else:
    time.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 60)
