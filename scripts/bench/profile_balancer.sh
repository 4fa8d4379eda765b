#!/usr/bin/env bash
# Where the balancer's time goes under the benchmark's load: one nginx
# backend on two ports, the release balancer in static mode in front, wrk
# -t1 -c50 against it while `perf record` samples the balancer (software
# cpu-clock event, so it works in VMs without hardware counters). Prints the
# top of the flat profile and a syscall count from `strace -c` over a
# shorter second run, then leaves perf.data in $OUT (default /tmp/sw-profile).
#
# Env: DURATION (10s), CONNS (50), OUT, BALANCER_ARGS (extra flags).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

DURATION=${DURATION:-10s}
CONNS=${CONNS:-50}
OUT=${OUT:-/tmp/sw-profile}
B1=19501 B2=19502 P=19503
sw_need_cmds nginx wrk perf:linux-perf strace
cargo build --release -p balancer >/dev/null
mkdir -p "$OUT"
work=$(mktemp -d /tmp/sw-prof.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    [[ -f $work/nginx.pid ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cat >"$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $work/body; proxy_temp_path $work/proxy; fastcgi_temp_path $work/fcgi;
    uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
    server { listen 127.0.0.1:$B1; listen 127.0.0.1:$B2; location / { return 200 'Hello, world!'; } }
}
CONF
nginx -c "$work/nginx.conf" -p "$work"
# shellcheck disable=SC2086 # BALANCER_ARGS is a list of flags
./target/release/balancer --listen 127.0.0.1:$P --upstream http://127.0.0.1:$B1 --upstream http://127.0.0.1:$B2 \
    ${BALANCER_ARGS:-} >/dev/null 2>"$work/sw.log" &
pid=$!
pids+=("$pid")
sw_wait_for -t 30 -m "balancer answering" curl -sf -o /dev/null "http://127.0.0.1:$P/"
perf record -F 999 -e cpu-clock -g -p "$pid" -o "$OUT/perf.data" -- sleep "${DURATION%s}" >/dev/null 2>&1 &
perfpid=$!
wrk -t1 -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$P/" | grep -E 'Requests/sec|99%'
wait "$perfpid" || true
perf report -i "$OUT/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -v '^#' | grep '%' | head -40
echo "--- syscalls during 3 s of load (strace -c -f)"
timeout 4 strace -c -f -p "$pid" -o "$OUT/strace.txt" &
spid=$!
wrk -t1 -c"$CONNS" -d3s "http://127.0.0.1:$P/" | grep -E 'Requests/sec'
wait "$spid" || true
head -25 "$OUT/strace.txt"
