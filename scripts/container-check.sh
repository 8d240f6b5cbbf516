#!/usr/bin/env bash
# container-check.sh: checks Dockerfile, .dockerignore, compose.yaml and
# deploy/nats.conf on a machine with no Docker daemon and no registry
# (docs/container.md, "What was verified").
#
#   scripts/container-check.sh          (as root; KEEP=1 keeps the image)
#
# 1. The build context, as .dockerignore filters it, is taken with buildah;
#    the binary is built from that copy with the flags of the Dockerfile's
#    build stage, and must be static.
# 2. The image is built from the Dockerfile with only its build stage
#    replaced (no golang image can be pulled here): the script generates a
#    Containerfile in which the stage named "build" becomes
#    "FROM scratch AS build" + a COPY of the host-built /out, and every other
#    line, the whole final stage included, is the Dockerfile's own (awk, below;
#    the two final stages are compared). So what is tested cannot drift from
#    what `docker build` would ship, except the compiler's image.
# 3. The image's config is inspected (user, healthcheck, entrypoint, cmd,
#    volume, port) and its files (no shell, /data owned by 65532).
# 4. It is run with `buildah run --isolation chroot` as 65532: the image's
#    ENTRYPOINT + CMD with the listen address changed to a free loopback port
#    (chroot isolation shares the host's network). The HEALTHCHECK command
#    runs inside, a client joins and sends a message, SIGTERM stops it
#    cleanly, and a restart finds the message in the /data volume.
# 5. deploy/nats.conf is tested by nats-server v2.15.2 itself (`-t`, then run
#    on loopback: the compose healthcheck URL answers and /varz shows the
#    sync interval). When the binary has -cluster, the three compose nodes run
#    from the image against it (commands taken from compose.yaml, addresses
#    moved to loopback) and a message crosses from one node to another.
# 6. compose.yaml is validated with `docker-compose config -q` and its
#    settings are checked.
#
# Installs buildah and docker-compose with apt-get when missing. Needs go,
# python3, file, curl. Loopback addresses only; every wait is bounded.
# Prints PASS/FAIL/SKIP lines and exits 1 if anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
START=$(date +%s)

# The build command of the Dockerfile's build stage: checked to be there
# verbatim, then run on the host with -o changed.
GO_BUILD='CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/pynet ./cmd/pynet'
NATS_VERSION=v2.15.2
IMAGE=localhost/pynet:container-check
B=(buildah --storage-driver vfs)

failed=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
skip() { echo "SKIP $*"; }
info() { echo "     $*"; }
# abort: a failure the later checks cannot go on without.
abort() { fail "$*"; finish; }

W=$(mktemp -d /tmp/pynet-container-check.XXXXXX)
CONTAINERS=()
cleanup() {
  local p c i
  # Background jobs still running (a check that failed half-way): only this
  # shell's own children, so no pid can have been reused.
  for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
  for ((i = 0; i < 50; i++)); do [ -z "$(jobs -pr)" ] && break; sleep 0.1; done
  for c in "${CONTAINERS[@]}"; do "${B[@]}" rm "$c" >/dev/null 2>&1 || true; done
  "${B[@]}" rmi "$IMAGE-context" >/dev/null 2>&1 || true
  if [ "${KEEP:-0}" != 1 ]; then "${B[@]}" rmi "$IMAGE" >/dev/null 2>&1 || true; fi
  rm -rf "$W"
}
trap cleanup EXIT
trap 'echo "FAIL interrupted"; exit 1' INT TERM
finish() {
  echo "== $(( $(date +%s) - START )) s; $failed failed"
  [ "$failed" -eq 0 ] && exit 0
  exit 1
}

# The helper for everything that speaks the line protocol, HTTP or JSON.
cat >"$W/probe.py" <<'EOF'
import json, socket, sys, time, urllib.request

def lines(sock):
    buf = b""
    while True:
        while b"\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise SystemExit("connection closed")
            buf += chunk
        line, buf = buf.split(b"\n", 1)
        yield json.loads(line)

def expect(it, kind, what):
    for f in it:
        if f.get("type") == kind:
            return f
        if f.get("type") in ("error", "bye"):
            raise SystemExit(f"{what}: got {f}")
    raise SystemExit(f"{what}: no {kind}")

def conn(port):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    s.settimeout(10)
    return s, lines(s)

def send(s, frame):
    s.sendall(json.dumps(frame).encode() + b"\n")

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "freeport":                      # a free loopback port
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
elif cmd == "say":                         # PORT NAME TEXT: join, send, print the ack's id
    s, it = conn(args[0])
    send(s, {"type": "join", "username": args[1]})
    w = expect(it, "welcome", "join")
    send(s, {"type": "message", "text": args[2], "ref": "c1"})
    a = expect(it, "ack", "message")
    send(s, {"type": "leave"})
    print(f"welcome {w['username']} (server {w.get('server')}), ack id {a['id']}")
elif cmd == "history":                     # PORT NAME TEXT: join (v2); TEXT is replayed from history
    s, it = conn(args[0])
    send(s, {"type": "join", "username": args[1], "protocol": 2})
    expect(it, "welcome", "join")
    while True:
        m = expect(it, "message", "history")
        if m.get("history") and m.get("text") == args[2]:
            break
    send(s, {"type": "leave"})
    print(f"id {m['id']} from {m['from']} replayed")
elif cmd == "relay":                       # PORT_A PORT_B: a message from A reaches B
    sb, itb = conn(args[1]); send(sb, {"type": "join", "username": "probe_b"}); expect(itb, "welcome", "join B")
    sa, ita = conn(args[0]); send(sa, {"type": "join", "username": "probe_a"}); expect(ita, "welcome", "join A")
    send(sa, {"type": "message", "text": "across nodes", "ref": "r1"})
    ack = expect(ita, "ack", "message on A")
    while True:
        m = expect(itb, "message", "message on B")
        if m.get("from") == "probe_a" and m.get("text") == "across nodes":
            break
    print(f"id {ack['id']} acked on A, delivered on B with id {m['id']}")
elif cmd == "http":                        # URL: print the status code
    try:
        print(urllib.request.urlopen(args[0], timeout=5).status)
    except urllib.error.HTTPError as e:
        print(e.code)
    except OSError as e:
        print(0)
elif cmd == "field":                       # FILE PATH...: print a JSON value (compact)
    v = json.load(open(args[0]))
    for k in args[1:]:
        v = v.get(k) if isinstance(v, dict) else None
    print(json.dumps(v, separators=(",", ":")))
elif cmd == "argv":                        # JSON_ARRAY ADDR [FROM TO]...: replace -addr's value and strings
    argv = json.loads(args[0]); addr = args[1]; subs = args[2:]
    out = []
    for i, a in enumerate(argv):
        if i > 0 and argv[i - 1] == "-addr":
            a = addr
        for f, t in zip(subs[::2], subs[1::2]):
            a = a.replace(f, t)
        out.append(a)
    print("\0".join(out), end="")
else:
    raise SystemExit("unknown " + cmd)
EOF
probe() { timeout 30 python3 "$W/probe.py" "$@"; }

# wait_log FILE TEXT SECONDS: until FILE contains TEXT.
wait_log() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -qF "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# pynet_pid ROOT: the pid of the /pynet process started under ROOT
# (timeout → buildah → buildah → buildah-chroot-exec → /pynet).
pynet_pid() {
  local todo=("$1") p kid
  while [ ${#todo[@]} -gt 0 ]; do
    p=${todo[0]}; todo=("${todo[@]:1}")
    for kid in $(ps -o pid= --ppid "$p" 2>/dev/null); do
      if [ "$(cat /proc/"$kid"/comm 2>/dev/null)" = pynet ]; then echo "$kid"; return 0; fi
      todo+=("$kid")
    done
  done
  return 1
}

# start_node NAME LOG ARGV...: a background buildah run of ARGV in container
# NAME as the image's user; sets NODE_PID (the buildah run).
start_node() {
  local name=$1 log=$2; shift 2
  timeout 300 "${B[@]}" run --isolation chroot --user "$IMAGE_USER" "$name" -- "$@" >"$log" 2>&1 &
  NODE_PID=$!
}

# stop_node ROOTPID LOG: SIGTERM to /pynet (buildah itself would SIGKILL it),
# then wait for the exit. Returns 1 if it did not shut down cleanly.
stop_node() {
  local root=$1 log=$2 p i
  p=$(pynet_pid "$root") || return 1
  kill -TERM "$p"
  for ((i = 0; i < 150; i++)); do
    kill -0 "$root" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$root" 2>/dev/null; then kill "$root" 2>/dev/null; return 1; fi
  wait "$root" 2>/dev/null || return 1
  grep -qF 'msg="shut down"' "$log"
}

echo "== tools"
need=()
command -v buildah >/dev/null || need+=(buildah)
command -v docker-compose >/dev/null || need+=(docker-compose)
if [ ${#need[@]} -gt 0 ]; then
  info "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get install -y -qq --no-install-recommends "${need[@]}" >"$W/apt.log" 2>&1 ||
    { timeout 300 apt-get update -qq >>"$W/apt.log" 2>&1 &&
      timeout 300 apt-get install -y -qq --no-install-recommends "${need[@]}" >>"$W/apt.log" 2>&1; } ||
    { tail -5 "$W/apt.log"; abort "apt-get install ${need[*]}"; }
fi
for t in go python3 file curl buildah docker-compose; do
  command -v "$t" >/dev/null || abort "$t is not installed"
done
info "$(go version); $(buildah --version); $(docker-compose version --short)"
# Containers left by an earlier run that was killed.
for c in $("${B[@]}" containers --format '{{.ContainerName}}' 2>/dev/null | grep '^pynet-container-check' || true); do
  "${B[@]}" rm "$c" >/dev/null 2>&1 || true
done

echo "== build context (.dockerignore) and static binary"
printf 'FROM scratch\nCOPY . /ctx/\n' >"$W/Context"
"${B[@]}" bud --quiet -f "$W/Context" -t "$IMAGE-context" . >"$W/context.log" 2>&1 ||
  { cat "$W/context.log"; abort "buildah could not take the build context"; }
c=$("${B[@]}" from "$IMAGE-context"); CONTAINERS+=("$c")
cp -a "$("${B[@]}" mount "$c")/ctx" "$W/ctx"
n=$(find "$W/ctx" -type f | wc -l)
bad=$(cd "$W/ctx" && find . \( -name .git -o -name '*_test.go' -o -name testdata -o -path ./pynet -o -name '*.db' \) -print | head -3)
if [ -z "$bad" ] && [ -f "$W/ctx/go.mod" ] && [ -f "$W/ctx/deploy/image/passwd" ]; then
  pass "build context: $n files, $(du -sh "$W/ctx" | cut -f1); no .git, tests, testdata, binaries or databases"
else
  fail "build context holds ${bad:-no go.mod or deploy/image/passwd}"
fi

if grep -qF -- "$GO_BUILD" Dockerfile; then
  pass "the Dockerfile's build stage runs: $GO_BUILD"
else
  fail "the Dockerfile no longer runs: $GO_BUILD (update this script)"
fi
want_go=$(sed -n 's/^ARG GO_VERSION=//p' Dockerfile)
[ "go$want_go" = "$(go env GOVERSION)" ] || info "note: the Dockerfile builds with Go $want_go, this host has $(go env GOVERSION)"

OUT="$W/ctx/.container-check-out"
mkdir -p "$OUT/data"
host_build=${GO_BUILD//\/out\/pynet/$OUT/pynet}
if (cd "$W/ctx" && eval "$host_build") >"$W/build.log" 2>&1; then
  pass "go build from the build context ($(stat -c %s "$OUT/pynet") bytes)"
else
  cat "$W/build.log"; abort "go build from the build context"
fi
cp /etc/ssl/certs/ca-certificates.crt "$OUT/ca-certificates.crt"
ftype=$(file -b "$OUT/pynet")
case $ftype in
  *"statically linked"*) pass "static binary: ${ftype%%, BuildID*}" ;;
  *) fail "not statically linked: $ftype" ;;
esac

echo "== image (the Dockerfile's final stage)"
awk '
  /^[[:space:]]*[Ff][Rr][Oo][Mm][[:space:]]/ {
    inbuild = (tolower($0) ~ /[[:space:]]as[[:space:]]+build[[:space:]]*$/)
    if (inbuild) { print "FROM scratch AS build"; print "COPY .container-check-out/ /out/"; n++; next }
  }
  inbuild { next }
  { print }
  END { if (n != 1) exit 3 }' Dockerfile >"$W/Containerfile" ||
  abort "the Dockerfile has no single stage named build"
final() { awk '/^[[:space:]]*[Ff][Rr][Oo][Mm][[:space:]]/ { s = "" } { s = s $0 "\n" } END { printf "%s", s }' "$1"; }
if [ "$(final Dockerfile)" = "$(final "$W/Containerfile")" ] && [ -n "$(final Dockerfile)" ]; then
  pass "generated Containerfile: build stage replaced, final stage identical to the Dockerfile's"
else
  fail "the generated final stage differs from the Dockerfile's"
fi
# --format docker: the OCI format has no HEALTHCHECK.
if "${B[@]}" bud --format docker -f "$W/Containerfile" -t "$IMAGE" "$W/ctx" >"$W/bud.log" 2>&1; then
  pass "buildah bud --format docker"
else
  tail -20 "$W/bud.log"; abort "buildah bud"
fi
"${B[@]}" inspect --type image "$IMAGE" >"$W/image.json"
cfg() { python3 "$W/probe.py" field "$W/image.json" Docker config "$@"; }
check_cfg() { # KEY WANT
  local got; got=$(cfg "$1")
  if [ "$got" = "$2" ]; then pass "$1 = $got"; else fail "$1 = $got, want $2"; fi
}
check_cfg User '"65532:65532"'
check_cfg Entrypoint '["/pynet"]'
check_cfg Cmd '["server","-addr",":5050","-data","/data"]'
check_cfg Volumes '{"/data":{}}'
check_cfg ExposedPorts '{"5050/tcp":{}}'
got=$(cfg Healthcheck)
case $got in # exec form, the binary itself, the port of CMD's -addr
  '{"Test":["CMD","/pynet","health",'*'"127.0.0.1:5050"'*) pass "Healthcheck = $got" ;;
  *) fail "Healthcheck = $got, want exec form /pynet health -addr 127.0.0.1:5050" ;;
esac
IMAGE_USER=$(cfg User | tr -d '"')

c=$("${B[@]}" from --name pynet-container-check "$IMAGE"); CONTAINERS+=("$c")
rootfs=$("${B[@]}" mount "$c")
files=$(cd "$rootfs" && find . -mindepth 1 | sort | tr '\n' ' ')
if [ ! -e "$rootfs/bin" ] && [ ! -e "$rootfs/bin/sh" ] && [ "$(stat -c %u:%g "$rootfs/data")" = 65532:65532 ] &&
  grep -q '^nonroot:x:65532:65532:' "$rootfs/etc/passwd"; then
  pass "files: $files(no shell; /data owned by 65532:65532)"
else
  fail "files: $files; /data $(stat -c %u:%g "$rootfs/data")"
fi
size=$(du -sb "$rootfs" | cut -f1)
gz=$(tar -C "$rootfs" -cf - . | gzip -6 | wc -c)
IMAGE_SIZE="$((size / 1024)) KiB uncompressed, $((gz / 1024)) KiB gzipped"
info "image size: $IMAGE_SIZE ($("${B[@]}" images --format '{{.Size}}' "$IMAGE") by buildah)"

echo "== run (buildah run --isolation chroot --user $IMAGE_USER)"
port=$(probe freeport)
mapfile -d '' -t argv < <(probe argv "$(cfg Entrypoint | sed 's/]$//'),$(cfg Cmd | sed 's/^\[//')" "127.0.0.1:$port")
info "running the image's ENTRYPOINT + CMD with -addr 127.0.0.1:$port: ${argv[*]}"
start_node "$c" "$W/run1.log" "${argv[@]}"
run1=$NODE_PID
if wait_log "$W/run1.log" "listening on 127.0.0.1:$port" 20; then
  pass "server listening on 127.0.0.1:$port"
else
  cat "$W/run1.log"; abort "server did not start within 20 s"
fi
p=$(pynet_pid "$run1") && uid=$(awk '/^Uid:/ {print $2}' /proc/"$p"/status)
if [ "${uid:-}" = 65532 ]; then pass "server process runs as uid $uid"; else fail "server process uid ${uid:-unknown}"; fi
mapfile -d '' -t hc < <(probe argv "$(cfg Healthcheck Test)" "127.0.0.1:$port")
if out=$(timeout 20 "${B[@]}" run --isolation chroot --user "$IMAGE_USER" "$c" -- "${hc[@]:1}" 2>&1); then
  pass "HEALTHCHECK command inside the container (${hc[*]:1}): $out"
else
  fail "HEALTHCHECK command inside the container: $out"
fi
if out=$(timeout 20 "$OUT/pynet" health -addr "127.0.0.1:$port" 2>&1); then
  pass "pynet health from the host: $out"
else
  fail "pynet health from the host: $out"
fi
text="container check $(date +%s%N)"
if out=$(probe say "$port" probe "$text" 2>&1); then
  pass "join + message: $out"
else
  fail "join + message: $out"
fi
if stop_node "$run1" "$W/run1.log"; then pass "SIGTERM: clean shutdown"; else tail -5 "$W/run1.log"; fail "SIGTERM: no clean shutdown"; fi

start_node "$c" "$W/run2.log" "${argv[@]}"
run2=$NODE_PID
if wait_log "$W/run2.log" "listening on 127.0.0.1:$port" 20 && out=$(probe history "$port" probe2 "$text" 2>&1); then
  pass "restart: the message is still in the /data volume ($out)"
else
  tail -5 "$W/run2.log"; fail "restart: the message is not replayed: ${out:-}"
fi
stop_node "$run2" "$W/run2.log" || fail "second stop"

echo "== NATS ($NATS_VERSION) with deploy/nats.conf"
# nats-server is a Go module: built from the Go module cache or the proxy.
NATS="$W/bin/nats-server"
if GOBIN="$W/bin" timeout 300 go install "github.com/nats-io/nats-server/v2@$NATS_VERSION" >"$W/nats-build.log" 2>&1; then
  if out=$("$NATS" -t -c deploy/nats.conf 2>&1); then pass "nats-server -t: ${out##*: }"; else fail "nats-server -t: $out"; fi
  nport=$(probe freeport); mport=$(probe freeport)
  # The real file with the store and the listeners moved to the test's.
  sed -e "s|^\([[:space:]]*store_dir:\).*|\1 \"$W/js\"|" \
    -e "s|^port:.*|listen: \"127.0.0.1:$nport\"|" \
    -e "s|^http_port:.*|http: \"127.0.0.1:$mport\"|" deploy/nats.conf >"$W/nats.conf"
  if [ "$(grep -c "$W/js\|127.0.0.1:$nport\|127.0.0.1:$mport" "$W/nats.conf")" != 3 ]; then
    fail "deploy/nats.conf: store_dir, port or http_port not found where expected"
  fi
  timeout 600 "$NATS" -c "$W/nats.conf" >"$W/nats.log" 2>&1 &
  nats_pid=$!
  healthz="http://127.0.0.1:$mport/healthz?js-enabled-only=true"
  for ((i = 0; i < 100; i++)); do [ "$(probe http "$healthz")" = 200 ] && break; sleep 0.1; done
  code=$(probe http "$healthz")
  if [ "$code" = 200 ]; then pass "compose's nats healthcheck URL (/healthz?js-enabled-only=true): $code"; else fail "healthz: $code"; fi
  curl -s --max-time 5 "http://127.0.0.1:$mport/varz" >"$W/varz.json" || true
  si=$(probe field "$W/varz.json" jetstream config sync_interval)
  sa=$(probe field "$W/varz.json" jetstream config sync_always)
  if [ "$si" = 1000000000 ] && [ "$sa" = null ]; then
    pass "JetStream sync_interval = 1s (varz $si ns), sync_always off"
  else
    fail "JetStream sync_interval $si, sync_always $sa; want 1s"
  fi

  if ! "$OUT/pynet" server -h 2>&1 | grep -q -- '-cluster '; then
    skip "cluster nodes: this pynet has no -cluster flag yet"
  else
    # The compose services' commands, nats://nats:4222 and :5050 moved to loopback.
    PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
    docker-compose config >"$W/compose.yaml" 2>/dev/null
    mapfile -t nodes < <($PY -c '
import json, sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
for n, s in sorted(c["services"].items()):
    if "-cluster" in s.get("command", []):
        print(n + " " + json.dumps(s["command"]))' "$W/compose.yaml")
    ports=(); roots=(); i=0
    for line in "${nodes[@]}"; do
      name=${line%% *}; ncmd=${line#* }
      ports[i]=$(probe freeport)
      mapfile -d '' -t argv < <(probe argv "$(cfg Entrypoint | sed 's/]$//'),${ncmd#[}" "127.0.0.1:${ports[i]}" "nats://nats:4222" "nats://127.0.0.1:$nport")
      nc=$("${B[@]}" from --name "pynet-container-check-$name" "$IMAGE"); CONTAINERS+=("$nc")
      start_node "$nc" "$W/$name.log" "${argv[@]}"
      roots[i]=$NODE_PID
      info "$name: ${argv[*]}"
      i=$((i + 1))
    done
    ok=1
    for ((i = 0; i < ${#nodes[@]}; i++)); do
      name=${nodes[i]%% *}
      if wait_log "$W/$name.log" "listening on 127.0.0.1:${ports[i]}" 60 &&
        timeout 20 "${B[@]}" run --isolation chroot --user "$IMAGE_USER" "pynet-container-check-$name" -- \
          /pynet health -addr "127.0.0.1:${ports[i]}" >/dev/null 2>&1; then
        pass "$name: joined the cluster, listening, healthy"
      else
        tail -5 "$W/$name.log"; fail "$name did not come up within 60 s"; ok=0
      fi
    done
    if [ "$ok" = 1 ] && [ ${#nodes[@]} -ge 2 ]; then
      last=$((${#nodes[@]} - 1))
      if out=$(probe relay "${ports[0]}" "${ports[last]}" 2>&1); then
        pass "a message sent on ${nodes[0]%% *} reaches ${nodes[last]%% *}: $out"
      else
        fail "relay between nodes: $out"
      fi
    fi
    for ((i = 0; i < ${#nodes[@]}; i++)); do
      stop_node "${roots[i]}" "$W/${nodes[i]%% *}.log" || fail "${nodes[i]%% *}: no clean shutdown"
    done
  fi
  kill "$nats_pid" 2>/dev/null; wait "$nats_pid" 2>/dev/null || true
else
  tail -5 "$W/nats-build.log"; fail "go install nats-server@$NATS_VERSION"
fi

echo "== compose.yaml"
if out=$(docker-compose config -q 2>&1); then pass "docker-compose config -q"; else fail "docker-compose config -q: $out"; fi
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
docker-compose config >"$W/compose.yaml" 2>/dev/null || true
if out=$($PY - "$W/compose.yaml" <<'EOF'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
s = c["services"]; errs = []
nats = s.get("nats", {})
if not any(v.endswith(":/data") or ":/data:" in v for v in map(str, nats.get("volumes", []))):
    errs.append("nats: no volume on /data")
if not any("nats.conf" in str(v) for v in nats.get("volumes", [])):
    errs.append("nats: deploy/nats.conf not mounted")
if "js-enabled-only=true" not in " ".join(nats.get("healthcheck", {}).get("test", [])):
    errs.append("nats: healthcheck is not /healthz?js-enabled-only=true")
nodes = sorted(n for n in s if n != "nats")
want = {"pynet1": 5051, "pynet2": 5052, "pynet3": 5053}
if nodes != sorted(want):
    errs.append(f"services {nodes}")
for n in nodes:
    x = s[n]; cmd = x.get("command", [])
    if not x.get("read_only"): errs.append(f"{n}: not read_only")
    if str(x.get("user")) != "65532:65532": errs.append(f"{n}: user {x.get('user')}")
    if x.get("restart") != "unless-stopped": errs.append(f"{n}: restart {x.get('restart')}")
    if x.get("depends_on", {}).get("nats", {}).get("condition") != "service_healthy":
        errs.append(f"{n}: does not wait for nats to be healthy")
    if "/pynet" not in x.get("healthcheck", {}).get("test", []): errs.append(f"{n}: no pynet healthcheck")
    p = x.get("ports", [{}])
    if len(p) != 1 or int(p[0].get("published", 0)) != want.get(n) or int(p[0].get("target", 0)) != 5050:
        errs.append(f"{n}: ports {p}")
    if cmd[:3] != ["server", "-addr", ":5050"] or "nats://nats:4222" not in cmd or cmd[-2:] != ["-cluster-node", n]:
        errs.append(f"{n}: command {cmd}")
print("; ".join(errs) or "nats (volume, nats.conf, healthcheck) + pynet1-3 (read_only, 65532, ports 5051-5053, healthy nats first, healthcheck, -cluster, -cluster-node)")
sys.exit(1 if errs else 0)
EOF
); then pass "compose settings: $out"; else fail "compose settings: $out"; fi

info "image size: $IMAGE_SIZE"
finish
