#!/usr/bin/env bash
# A quicker, narrower comparison than bench_balancer.sh, for tuning: nginx as a
# proxy against the balancer with --loops 1 and --loops 2, interleaved over
# ROUNDS rounds of `wrk -t1 -c50 -dDURATION` each, in front of one nginx
# backend on two ports. Prints req/s, p99 and each proxy's own CPU time per
# request for every run, then the medians. Numbers only compare within one
# run: other work on the machine moves all of them.
#
# Env: ROUNDS (5), DURATION (8s), SW_ARGS (extra balancer flags for both).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-8s}
B1=19701 B2=19702 P_NGINX=19710 P_ONE=19721 P_TWO=19722
sw_need_cmds nginx wrk
cargo build --release -p balancer >/dev/null
work=$(mktemp -d /tmp/sw-ab.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for f in be px; do [[ -f $work/$f.pid ]] && kill "$(cat "$work/$f.pid")" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
conf() { # name body
    cat >"$work/$1.conf" <<CONF
worker_processes auto;
pid $work/$1.pid;
error_log $work/$1.err warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $work/$1.b; proxy_temp_path $work/$1.p; fastcgi_temp_path $work/$1.f;
    uwsgi_temp_path $work/$1.u; scgi_temp_path $work/$1.s;
    $2
}
CONF
    nginx -c "$work/$1.conf" -p "$work"
}
conf be "server { listen 127.0.0.1:$B1; listen 127.0.0.1:$B2; location / { return 200 'Hello, world!'; } }"
conf px "upstream be { least_conn; server 127.0.0.1:$B1; server 127.0.0.1:$B2; keepalive 64; }
    server { listen 127.0.0.1:$P_NGINX; location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
for n in 1 2; do
    port=$([[ $n == 1 ]] && echo $P_ONE || echo $P_TWO)
    # shellcheck disable=SC2086 # SW_ARGS is a list of flags
    ./target/release/balancer --listen 127.0.0.1:$port --upstream http://127.0.0.1:$B1 --upstream http://127.0.0.1:$B2 \
        --loops $n ${SW_ARGS:-} >/dev/null 2>"$work/sw$n.log" &
    pids+=($!)
done
for p in $P_NGINX $P_ONE $P_TWO; do
    sw_wait_for -t 30 -m "port $p answering" curl -sf -o /dev/null "http://127.0.0.1:$p/"
done
ticks() { # user + system clock ticks of the given pids
    local t=0 p
    for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
    echo $t
}
declare -A RPS P99 CPU
run() { # name port pids...
    local name=$1 port=$2 t0 t1 out n
    shift 2
    t0=$(ticks "$@")
    out=$(wrk -t1 -c50 -d"$DURATION" --latency "http://127.0.0.1:$port/")
    t1=$(ticks "$@")
    n=$(awk '/requests in/ { print $1 }' <<<"$out")
    RPS[$name]+=" $(awk '/^Requests\/sec/ { print $2 }' <<<"$out")"
    P99[$name]+=" $(awk '$1 == "99%" { v = $2 + 0; if ($2 ~ /us$/) v /= 1000; else if ($2 ~ /[^m]s$/) v *= 1000; print v }' <<<"$out")"
    CPU[$name]+=" $(awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN { printf "%.1f", d * 1e6 / hz / n }')"
    printf '%-10s %s\n' "$name" "$(awk '/^Requests\/sec|^ +99%/' <<<"$out" | tr -s ' ' | tr '\n' ' ')"
}
# shellcheck disable=SC2046
nginx_pids=$(cat "$work/px.pid"; pgrep -P "$(cat "$work/px.pid")")
for r in $(seq "$ROUNDS"); do
    echo "round $r (load $(cut -d' ' -f1 /proc/loadavg))"
    # shellcheck disable=SC2086
    run nginx $P_NGINX $nginx_pids
    run loops-1 $P_ONE "${pids[0]}"
    run loops-2 $P_TWO "${pids[1]}"
done
median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo
printf '%-10s %12s %12s %16s\n' proxy "req/s(med)" "p99 ms(med)" "cpu us/req(med)"
for n in nginx loops-1 loops-2; do
    printf '%-10s %12s %12s %16s\n' "$n" "$(median "${RPS[$n]}")" "$(median "${P99[$n]}")" "$(median "${CPU[$n]}")"
done
