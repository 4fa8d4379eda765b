#!/usr/bin/env bash
# The balancer side by side with nginx and HAProxy, on this machine, in one run.
#
# One nginx backend answers on two ports. In front of it, in turn and
# interleaved over ROUNDS rounds so drift hits everyone alike: the backend
# directly, nginx as a proxy (least_conn, upstream keepalive), HAProxy
# (leastconn, http-reuse always), the stackwire balancer on the same two HTTP
# upstreams, and the stackwire balancer on two RPC echo services found through
# the registry. Each gets `wrk -t1 -c50 -d10s --latency`. Then 10,000 idle
# keep-alive clients are held open against each proxy and its RSS is read.
# Prints a table and the ratios stackwire/nginx and stackwire/HAProxy.
#
# Env: ROUNDS (3), DURATION (10s), CONNS (50), IDLE (10000), BUILD (1; 0 uses the
# release binaries already built), SW_ARGS (extra balancer flags, e.g. --loops 1).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-50}
IDLE=${IDLE:-10000}
B1=19001 B2=19002 P_NGINX=19100 P_HAPROXY=19200 P_SW=19300 P_SWRPC=19400 P_REDIS=19379

sw_install_deps nginx haproxy wrk redis-server python3
sw_bench_machine
# Each side of IDLE connections needs a descriptor per connection.
sw_raise_nofile "$((IDLE + 1000))" "$IDLE idle connections"
if [[ ${BUILD:-1} == 1 ]]; then
    cargo build --release -p balancer -p tests --bins >/dev/null 2>&1 || cargo build --release -p balancer -p tests --bins
fi
work=$(mktemp -d /tmp/sw-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    # What outlives a TERM by 5 s is killed: anything left would hold the
    # caller's flock on /work/startall.lock (an inherited descriptor).
    for _ in $(seq 50); do
        alive=0
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    [[ -f $work/nginx-backend.pid ]] && kill "$(cat "$work/nginx-backend.pid")" 2>/dev/null || true
    [[ -f $work/nginx-proxy.pid ]] && kill "$(cat "$work/nginx-proxy.pid")" 2>/dev/null || true
    [[ -f $work/haproxy.pid ]] && kill "$(cat "$work/haproxy.pid")" 2>/dev/null || true
    redis-cli -a bench --no-auth-warning -p $P_REDIS shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

nginx_conf() { # name body
    cat >"$work/$1.conf" <<CONF
worker_processes auto;
worker_rlimit_nofile 65536;
pid $work/$1.pid;
error_log $work/$1.error.log warn;
events { worker_connections 30000; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path $work/$1.body;
    proxy_temp_path $work/$1.proxy;
    fastcgi_temp_path $work/$1.fcgi;
    uwsgi_temp_path $work/$1.uwsgi;
    scgi_temp_path $work/$1.scgi;
    $2
}
CONF
    nginx -c "$work/$1.conf" -p "$work"
}

nginx_conf nginx-backend "server { listen 127.0.0.1:$B1; listen 127.0.0.1:$B2; location / { return 200 'Hello, world!'; } }"
nginx_conf nginx-proxy "upstream be { least_conn; server 127.0.0.1:$B1; server 127.0.0.1:$B2; keepalive 64; }
    server { listen 127.0.0.1:$P_NGINX; location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"

cat >"$work/haproxy.cfg" <<CONF
global
    nbthread 2
    maxconn $((IDLE + 2000))
    # HAProxy reserves two descriptors per connection; under a container's
    # hard limit it must start anyway (idle clients need only one each).
    ulimit-n $(ulimit -n)
    no strict-limits
    pidfile $work/haproxy.pid
defaults
    mode http
    timeout connect 1s
    timeout client 120s
    timeout server 30s
    timeout http-keep-alive 120s
frontend fe
    bind 127.0.0.1:$P_HAPROXY
    default_backend be
backend be
    balance leastconn
    http-reuse always
    server s1 127.0.0.1:$B1
    server s2 127.0.0.1:$B2
CONF
haproxy -D -f "$work/haproxy.cfg"

# shellcheck disable=SC2086 # SW_ARGS is a list of extra flags
./target/release/balancer --listen 127.0.0.1:$P_SW --upstream http://127.0.0.1:$B1 --upstream http://127.0.0.1:$B2 \
    ${SW_ARGS:-} >/dev/null 2>"$work/sw.log" &
pids+=($!)

redis-server --port $P_REDIS --bind 127.0.0.1 --save '' --requirepass bench --daemonize yes --logfile "$work/redis.log"
export STACKWIRE_REDIS_URL=redis://:bench@127.0.0.1:$P_REDIS/ STACKWIRE_REGISTRY_PREFIX=bench STACKWIRE_LOG=warn
for _ in 1 2; do
    ./target/release/rpc_echo --listen 127.0.0.1:0 --service webui 2>>"$work/echo.log" &
    pids+=($!)
done
# shellcheck disable=SC2086
./target/release/balancer --listen 127.0.0.1:$P_SWRPC ${SW_ARGS:-} >/dev/null 2>"$work/swrpc.log" &
pids+=($!)

for p in $B1 $P_NGINX $P_HAPROXY $P_SW $P_SWRPC; do
    sw_wait_for -t 30 -m "port $p answering" curl -sf -o /dev/null "http://127.0.0.1:$p/"
done

declare -A RPS P99
names=(direct nginx haproxy stackwire stackwire-rpc)
declare -A PORT=([direct]=$B1 [nginx]=$P_NGINX [haproxy]=$P_HAPROXY [stackwire]=$P_SW [stackwire-rpc]=$P_SWRPC)

to_ms() { # wrk latency like 1.23ms / 456.00us / 1.02s
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

rss_kib() { # total VmRSS of the given pids
    local t=0 p
    for p in "$@"; do
        t=$((t + $(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
    done
    echo $t
}
proc_pids() { # name port -> pids serving it
    case $1 in
        nginx) pgrep -f "nginx.*$work/nginx-proxy.conf" | tr '\n' ' '; pgrep -P "$(cat "$work/nginx-proxy.pid")" | tr '\n' ' ' ;;
        haproxy) cat "$work/haproxy.pid" ;;
        stackwire) echo "${pids[0]}" ;;
        stackwire-rpc) echo "${pids[3]}" ;;
        direct) cat "$work/nginx-backend.pid"; pgrep -P "$(cat "$work/nginx-backend.pid")" | tr '\n' ' ' ;;
    esac
}
cpu_ticks() { # user+system clock ticks used so far by the given pids (all threads)
    local t=0 p
    for p in "$@"; do
        t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo $t
}
HZ=$(getconf CLK_TCK)

# CPU is the proxy's own (its processes' user + system time) per request, in
# microseconds: what each request costs it, independent of how the two cores
# were shared with wrk and the backend during the run.
declare -A CPU
for r in $(seq "$ROUNDS"); do
    for n in "${names[@]}"; do
        # shellcheck disable=SC2046
        t0=$(cpu_ticks $(proc_pids "$n" | tr ' ' '\n' | sort -u))
        out=$(wrk -t1 -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:${PORT[$n]}/")
        # shellcheck disable=SC2046
        t1=$(cpu_ticks $(proc_pids "$n" | tr ' ' '\n' | sort -u))
        rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")
        reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
        cpu=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v n="$reqs" 'BEGIN { if (n > 0) printf "%.1f", d * 1e6 / hz / n; else print "n/a" }')
        p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
        errs=$(awk '/Non-2xx|Socket errors/ { print }' <<<"$out")
        printf 'round %d %-14s %10s req/s  p99 %8s ms  cpu %6s us/req %s\n' "$r" "$n" "$rps" "$p99" "$cpu" "$errs"
        RPS[$n]="${RPS[$n]:-} $rps"
        P99[$n]="${P99[$n]:-} $p99"
        CPU[$n]="${CPU[$n]:-} $cpu"
    done
done

median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

declare -A RSS
for n in nginx haproxy stackwire; do
    # shellcheck disable=SC2046
    before=$(rss_kib $(proc_pids $n | tr ' ' '\n' | sort -u))
    coproc IDLEC { python3 scripts/bench/idle_conns.py 127.0.0.1 "${PORT[$n]}" "$IDLE" 2>&1; }
    read -r line <&"${IDLEC[0]}" || line="failed"
    # shellcheck disable=SC2046
    after=$(rss_kib $(proc_pids $n | tr ' ' '\n' | sort -u))
    exec {IDLEC[1]}>&-
    wait "$IDLEC_PID" 2>/dev/null || true
    RSS[$n]="$after"
    printf '%-10s %s: RSS %d KiB before, %d KiB with the idle clients\n' "$n" "$line" "$before" "$after"
done

echo
printf '%-14s %12s %12s %16s\n' proxy "req/s(med)" "p99 ms(med)" "cpu us/req(med)"
for n in "${names[@]}"; do
    printf '%-14s %12s %12s %16s\n' "$n" "$(median "${RPS[$n]}")" "$(median "${P99[$n]}")" "$(median "${CPU[$n]}")"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
sw=$(median "${RPS[stackwire]}") swp=$(median "${P99[stackwire]}")
ng=$(median "${RPS[nginx]}") ngp=$(median "${P99[nginx]}")
ha=$(median "${RPS[haproxy]}") hap=$(median "${P99[haproxy]}")
echo
echo "ratios (stackwire static HTTP upstreams):"
echo "  req/s  stackwire/nginx   = $(ratio "$sw" "$ng")   stackwire/HAProxy = $(ratio "$sw" "$ha")"
echo "  p99    stackwire/nginx   = $(ratio "$swp" "$ngp")   stackwire/HAProxy = $(ratio "$swp" "$hap")   (lower is better)"
echo "  cpu/req stackwire/nginx = $(ratio "$(median "${CPU[stackwire]}")" "$(median "${CPU[nginx]}")")   stackwire/HAProxy = $(ratio "$(median "${CPU[stackwire]}")" "$(median "${CPU[haproxy]}")")   (lower is better)"
echo "  RSS with $IDLE idle clients: stackwire/nginx = $(ratio "${RSS[stackwire]}" "${RSS[nginx]}")  stackwire/HAProxy = $(ratio "${RSS[stackwire]}" "${RSS[haproxy]}")"
