#!/usr/bin/env bash
# The learner's path: every experiment of docs/learn.md, run against a fresh
# build, with the lines the text quotes checked (examples/learn/run_all.py).
# Loopback only; every wait has a deadline. What needs root, tcpdump, strace
# or prlimit is skipped with a message where it cannot run. About 45 s.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"

# The experiments need python3, ss (iproute2) and nc (netcat-openbsd). A fresh
# machine may lack nc: install what is missing (as root, with apt-get). If it
# still cannot be had, the learner's path is skipped with a clear message
# rather than failing CI for a missing tool.
missing=()
for pair in python3:python3 ss:iproute2 nc:netcat-openbsd; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing ${missing[*]}"
  (timeout 180 apt-get update -qq && timeout 180 env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null 2>&1 ||
    echo "note: could not install ${missing[*]}"
fi
for tool in python3 ss nc; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "learn.sh: $tool is missing and could not be installed (apt-get install python3 iproute2 netcat-openbsd): the learner's path checks are SKIPPED"
    exit 0
  fi
done

# strace is small and quick to install where the package lists are there
# already; if it cannot be had in 30 s, its checks say they were skipped.
if ! command -v strace >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing strace"
  timeout 30 env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null 2>&1 ||
    echo "note: could not install strace quickly; its checks will say they were skipped"
fi

echo "== the learner's path (docs/learn.md)"
exec timeout 240 python3 examples/learn/run_all.py
