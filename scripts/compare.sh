#!/usr/bin/env bash
# compare.sh: PyNet against Redis pub/sub and NATS core pub/sub, side by side,
# with one generator (`pynet bench -target ...`: same marker, checks and
# histogram for every target).
#
#   scripts/compare.sh [ROUNDS]      (default 3; env DURATION=10s, OUT=dir)
#
# TARGETS (env) picks what runs, in order (default "pynet redis nats"):
#   pynet        one node, memory only
#   pynet-data   one node with -data (SQLite in a fresh directory)
#   pynet-tls    one node serving TLS (a certificate from `pynet cert`; the
#                generator does a full handshake per connection)
#   cluster      three nodes on one NATS server with JetStream (fresh store),
#                clients spread over the nodes, CPU summed over the three
#                nodes and NATS (docs/cluster.md)
#   redis, nats  the peers
#
# Runs workloads A (100 clients, 10 senders, 100-byte text, flat out, window
# 64) and C (the same at 2,000 msg/s open loop) of docs/performance.md, and
# with WORKLOADS="A B C S" also B (1,000 clients flat out) and S (set-up of
# 5,000 joined connections, with the CPU each connection cost the server
# and the generator, then the server's RSS per idle one); with CB also the
# latency of 200 msg/s into a room of 1,000 (C's deliveries in a big room); the
# targets alternating, each run on a fresh server on a free loopback port,
# ROUNDS rounds; then prints a markdown table of medians and [min–max].
#
# Peers: redis-server from Debian (installed with apt-get if missing and
# this runs as root: one try, 60 s; otherwise Redis is skipped with a
# message); nats-server only if on PATH (install it as a Go tool:
# `go install github.com/nats-io/nats-server/v2@latest`), else skipped.
# Needs: go, python3 (the table). Loopback only.
set -euo pipefail

ROUNDS=${1:-3}
DURATION=${DURATION:-10s}
case $ROUNDS in '' | *[!0-9]*) echo "usage: $0 [ROUNDS]" >&2; exit 2 ;; esac
if [ "$ROUNDS" -lt 1 ] || [ "$ROUNDS" -gt 100 ]; then echo "rounds: 1 to 100" >&2; exit 2; fi

cd "$(dirname "$0")/.."
OUT=${OUT:-$(mktemp -d /tmp/pynet-compare.XXXXXX)}
mkdir -p "$OUT"
BIN=$OUT/pynet
go build -o "$BIN" ./cmd/pynet

TARGETS=${TARGETS:-pynet redis nats}
want() { [[ " $TARGETS " == *" $1 "* ]]; }
NATS_BIN=$(command -v nats-server || true)
if [ -z "$NATS_BIN" ] && [ -x "$(go env GOPATH)/bin/nats-server" ]; then NATS_BIN=$(go env GOPATH)/bin/nats-server; fi
targets=()
skipped=()
for t in pynet pynet-data pynet-tls; do
	if want $t; then targets+=($t); fi
done
if want cluster; then
	if [ -n "$NATS_BIN" ]; then targets+=(cluster); else skipped+=("the cluster: no nats-server"); fi
fi
if want redis && ! command -v redis-server >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "redis-server missing: apt-get install -y redis-server (one try, 60 s)" >&2
	timeout 60 env DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server >"$OUT/apt.log" 2>&1 ||
		echo "apt-get failed or timed out (see $OUT/apt.log)" >&2
fi
if want redis; then
	if command -v redis-server >/dev/null 2>&1; then
		targets+=(redis)
	else
		echo "skipping Redis: no redis-server" >&2
		skipped+=("Redis: no redis-server, and apt-get could not install it")
	fi
fi
if want nats; then
	if [ -n "$NATS_BIN" ]; then
		targets+=(nats)
	else
		echo "skipping NATS: no nats-server (go install github.com/nats-io/nats-server/v2@v2.15.2)" >&2
		skipped+=("NATS: no nats-server")
	fi
fi

# free_port prints a TCP port free on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_port waits (at most 10 s) until 127.0.0.1:$1 accepts connections.
wait_port() {
	local i
	for ((i = 0; i < 100; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	return 1
}

# SERVER_PID: the server's pid, or a comma-separated list (a cluster);
# ADDR: what the bench dials (pynet://A,B,C for a cluster); PIDS: every
# process to stop.
SERVER_PID=
ADDR=
PIDS=()
BENCH_TLS=()
stop_server() {
	local p
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do # nodes first, NATS last
		p=${PIDS[$i]}
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	PIDS=()
	SERVER_PID=
	rm -rf "$OUT/data" "$OUT/js"
}
trap stop_server EXIT

PYNET_FLAGS="-rate 0 -max-queue 8388608"
if want pynet-tls; then
	"$BIN" cert -out "$OUT/tls" -force >/dev/null
fi

# start_server TARGET PORT: a fresh server (or cluster) in the background.
start_server() {
	BENCH_TLS=() # the generator's TLS flags, for pynet-tls
	case $1 in
	pynet) "$BIN" server -addr "127.0.0.1:$2" $PYNET_FLAGS >"$OUT/server.log" 2>&1 & ;;
	pynet-data) "$BIN" server -addr "127.0.0.1:$2" -data "$OUT/data" $PYNET_FLAGS >"$OUT/server.log" 2>&1 & ;;
	pynet-tls) "$BIN" server -addr "127.0.0.1:$2" -tls-cert "$OUT/tls/cert.pem" -tls-key "$OUT/tls/key.pem" $PYNET_FLAGS >"$OUT/server.log" 2>&1 & ;;
	redis) redis-server --bind 127.0.0.1 --port "$2" --save '' --appendonly no >"$OUT/server.log" 2>&1 & ;;
	nats) "$NATS_BIN" -a 127.0.0.1 -p "$2" >"$OUT/server.log" 2>&1 & ;;
	cluster)
		"$NATS_BIN" -js -sd "$OUT/js" -a 127.0.0.1 -p "$2" >"$OUT/nats.log" 2>&1 &
		PIDS+=($!)
		wait_port "$2" || return 1
		local k port addrs=() pids=($!)
		for k in 1 2 3; do
			port=$(free_port)
			"$BIN" server -addr "127.0.0.1:$port" -cluster "nats://127.0.0.1:$2" -cluster-node "node$k" $PYNET_FLAGS >"$OUT/server$k.log" 2>&1 &
			PIDS+=($!)
			pids+=($!)
			wait_port "$port" || return 1
			addrs+=("127.0.0.1:$port")
		done
		SERVER_PID=$(IFS=,; echo "${pids[*]:1},${pids[0]}")
		ADDR="pynet://$(IFS=,; echo "${addrs[*]}")"
		return 0
		;;
	esac
	PIDS+=($!)
	SERVER_PID=$!
	case $1 in pynet*) ADDR="pynet://127.0.0.1:$2" ;; *) ADDR="$1://127.0.0.1:$2" ;; esac
	if [ "$1" = pynet-tls ]; then BENCH_TLS=(-tls-ca "$OUT/tls/cert.pem"); fi
	wait_port "$2"
}

workload_flags() {
	case $1 in
	A) echo "-clients 100 -senders 10 -size 100" ;;
	B) echo "-clients 1000 -senders 10 -size 100" ;;
	C) echo "-clients 100 -senders 10 -size 100 -rate 2000" ;;
	CB) echo "-clients 1000 -senders 10 -size 100 -rate 200" ;; # C's deliveries/s in a room of 1,000
	S) echo "-clients 5000 -senders 0" ;; # set-up rate and idle RSS per connection
	esac
}
WORKLOADS=${WORKLOADS:-A C}

for ((round = 1; round <= ROUNDS; round++)); do
	for w in $WORKLOADS; do
		for t in "${targets[@]}"; do
			port=$(free_port)
			if ! start_server "$t" "$port"; then
				echo "round $round $w $t: the server did not come up (see $OUT/server.log)" >&2
				stop_server
				continue
			fi
			out="$OUT/$w-$t-$round.json"
			# shellcheck disable=SC2046
			timeout 300 "$BIN" bench -target "$ADDR" -server-pid "$SERVER_PID" "${BENCH_TLS[@]}" \
				-duration "$DURATION" -progress=false -json $(workload_flags "$w") >"$out" 2>"$OUT/bench.log" ||
				echo "round $round $w $t: bench failed (see $OUT/bench.log)" >&2
			stop_server
			echo "round $round/$ROUNDS: $w $t done" >&2
			sleep 1 # let the machine go quiet
		done
	done
done

python3 - "$OUT" "$ROUNDS" "$WORKLOADS" "${targets[@]}" <<'PY'
import glob, json, os, statistics, sys

out, rounds, workloads, targets = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4:]
names = {"pynet": "PyNet", "pynet-data": "PyNet -data", "pynet-tls": "PyNet, TLS", "cluster": "PyNet, 3 nodes + NATS JetStream",
         "redis": "Redis pub/sub", "nats": "NATS core"}

def runs(w, t):
    rs = []
    # the round number after the target: "A-pynet-1", not "A-pynet-data-1"
    for f in sorted(glob.glob(os.path.join(out, f"{w}-{t}-[0-9]*.json"))):
        try:
            with open(f) as fh:
                rs.append(json.load(fh))
        except (OSError, ValueError):
            pass
    return rs

def si(v):
    for d, s in ((1e6, " M"), (1e3, " k")):
        if abs(v) >= d:
            return f"{v / d:.3g}{s}"
    return f"{v:.3g}"

def cell(vals, fmt):
    if not vals:
        return "not measured"
    m = statistics.median(vals)
    if len(vals) == 1:
        return fmt(m)
    return f"{fmt(m)} [{fmt(min(vals))}–{fmt(max(vals))}]"

ms = lambda us: f"{us / 1000:.2f} ms"
rows = [
    ("A: deliveries/s", ("A",), lambda r: r["deliveries_per_s"], si),
    ("A: server CPU per delivery", ("A",), lambda r: r.get("server_cpu_us_per_delivery"), lambda v: f"{v:.3f} µs"),
    ("A: deliveries per server core (deliveries/s ÷ server CPU cores)", ("A",),
     lambda r: r["deliveries_per_s"] / (r["server_cpu_s"] / r["duration_s"]) if r.get("server_cpu_s") and r.get("duration_s") else None, si),
    ("A: p50 latency (in the window of 64)", ("A",), lambda r: r["latency_us"]["p50"], ms),
    ("B: deliveries/s, 1,000 clients", ("B",), lambda r: r["deliveries_per_s"], si),
    ("B: server CPU per delivery", ("B",), lambda r: r.get("server_cpu_us_per_delivery"), lambda v: f"{v:.3f} µs"),
    ("C: p50 latency at 2,000 msg/s", ("C",), lambda r: r["latency_us"]["p50"], ms),
    ("C: p99", ("C",), lambda r: r["latency_us"]["p99"], ms),
    ("C: p99.9", ("C",), lambda r: r["latency_us"]["p99_9"], ms),
    ("C: server CPU (cores)", ("C",), lambda r: r.get("server_cpu_s", 0) / r["duration_s"] if r.get("duration_s") else None, lambda v: f"{v:.2f}"),
    ("CB: p50 latency at 200 msg/s into 1,000", ("CB",), lambda r: r["latency_us"]["p50"], ms),
    ("CB: p99", ("CB",), lambda r: r["latency_us"]["p99"], ms),
    ("CB: p99.9", ("CB",), lambda r: r["latency_us"]["p99_9"], ms),
    ("CB: server CPU (cores)", ("CB",), lambda r: r.get("server_cpu_s", 0) / r["duration_s"] if r.get("duration_s") else None, lambda v: f"{v:.2f}"),
    ("S: set-up of 5,000 joined connections (conn/s)", ("S",), lambda r: r.get("connects_per_s"), si),
    ("S: server CPU per connection set up", ("S",), lambda r: r.get("setup_server_cpu_us_per_conn"), lambda v: f"{v:.0f} µs"),
    ("S: bench CPU per connection set up", ("S",), lambda r: r.get("setup_bench_cpu_us_per_conn"), lambda v: f"{v:.0f} µs"),
    ("S: RSS per idle joined connection", ("S",), lambda r: r.get("server_rss_kib_per_conn"), lambda v: f"{v:.1f} KiB"),
    ("delivered fraction (worst)", ("A", "B", "C", "CB"), lambda r: r["delivered_fraction"], lambda v: f"{v:.4f}"),
]
print("| workload | " + " | ".join(names[t] for t in targets) + " |")
print("|---|" + "---|" * len(targets))
for label, ws, get, fmt in rows:
    if not any(w in workloads for w in ws):
        continue
    cells = []
    for t in targets:
        vals = []
        for w in ws:
            for r in runs(w, t):
                v = get(r)
                if v is not None:
                    vals.append(v)
        if label.startswith("delivered"):
            cells.append(fmt(min(vals)) if vals else "not measured")
        else:
            cells.append(cell(vals, fmt))
    print(f"| {label} | " + " | ".join(cells) + " |")
bad = []
for t in targets:
    for w in workloads:
        rs = runs(w, t)
        if len(rs) < rounds:
            bad.append(f"{names[t]} {w}: {len(rs)} of {rounds} runs")
        for r in rs:
            if r.get("errors") or r.get("disconnects") or r.get("byes"):
                bad.append(f"{names[t]} {w}: errors {r.get('errors')}, byes {r.get('byes')}, disconnects {r.get('disconnects')}")
print()
print(f"{rounds} round(s), median [min–max]; raw results in {out}.")
for b in bad:
    print(f"- {b}")
PY
for s in "${skipped[@]}"; do
	echo "- not run: $s"
done
