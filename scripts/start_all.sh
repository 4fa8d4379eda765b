#!/usr/bin/env bash
# Starts the whole stackwire system on this machine (Debian, as root): a
# private PostgreSQL and Redis on non-default ports, the question/answer/
# comment/user/vote services, the web UI instances and the HTTP balancer, all in the
# background with logs and pid files under $SW_VAR. Safe to run again:
# whatever is already running is left alone.
#
# The registry is a replicated Redis: a primary (SW_REDIS_PORT, 16379), one
# replica (SW_REDIS_REPLICA_PORT, 16380) and three Sentinels
# (SW_SENTINEL_PORTS, "26380 26381 26382"), every node with a password; every
# process finds the primary through the Sentinels. Two balancers share the
# public port SW_HTTP_PORT (8080) through SO_REUSEPORT and each also listens
# on a port of its own (SW_HTTP_PORT+1 and +2, or SW_BALANCER_PORTS), and
# serves /status, /status/json, /metrics and /healthz on loopback only
# (SW_ADMIN_PORT 9090, then 9091).
#
# Settings (environment): SW_PG_PORT (15432), SW_REDIS_PORT (16379),
# SW_HTTP_PORT (8080), SW_QUESTIONS, SW_ANSWERS, SW_COMMENTS, SW_WEBUIS,
# SW_USERS, SW_VOTES (2 each), SW_START_TIMEOUT (60 s), SW_VAR (data directory, chosen if unset),
# SW_RPC_ADMIN_OFFSET (1000: a service or webui on RPC port P serves /metrics on P + 1000).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

pg_port=${SW_PG_PORT:-15432}
redis_port=${SW_REDIS_PORT:-16379}
http_port=${SW_HTTP_PORT:-8080}
n_question=${SW_QUESTIONS:-2}
n_answer=${SW_ANSWERS:-2}
n_comment=${SW_COMMENTS:-2}
n_webui=${SW_WEBUIS:-2}
n_user=${SW_USERS:-2}
n_vote=${SW_VOTES:-2}
redis_replica_port=${SW_REDIS_REPLICA_PORT:-$((redis_port + 1))}
sentinel_ports=${SW_SENTINEL_PORTS:-26380 26381 26382}
read -ra balancer_ports <<<"${SW_BALANCER_PORTS:-$((http_port + 1)) $((http_port + 2))}"
# Balancer N serves GET /status, /status/json, /metrics and /healthz on loopback port SW_ADMIN_PORT + N - 1.
admin_port=${SW_ADMIN_PORT:-9090}
# Every service and webui instance serves GET /metrics (its caches and version
# counters) on loopback at its RPC port + SW_RPC_ADMIN_OFFSET (7101 -> 8101).
rpc_admin_offset=${SW_RPC_ADMIN_OFFSET:-1000}

sw_install_deps python3
sw_init_var
sw_start_postgres pg "$pg_port"
# A single Redis from an older start_all.sh would hold the primary's port.
sw_stop_redis redis
sw_start_redis_ha redis "$redis_port" "$redis_replica_port" "$sentinel_ports"
# A stopped SO_REUSEPORT balancer hands the connections still queued on its
# listener to the other one instead of resetting them (Linux >= 5.14).
if [[ -w /proc/sys/net/ipv4/tcp_migrate_req ]]; then
    echo 1 >/proc/sys/net/ipv4/tcp_migrate_req || true
fi

# For an operator: `. $SW_VAR/env` then start one more instance by hand.
(
    umask 077
    {
        echo "# written by scripts/start_all.sh"
        printf 'export STACKWIRE_REDIS_URL=%q\n' "$STACKWIRE_REDIS_URL"
        printf 'export STACKWIRE_REDIS_SENTINELS=%q\n' "$STACKWIRE_REDIS_SENTINELS"
        printf 'export STACKWIRE_REDIS_MASTER=%q\n' "$STACKWIRE_REDIS_MASTER"
        printf 'export STACKWIRE_REDIS_PASSWORD=%q\n' "$STACKWIRE_REDIS_PASSWORD"
        printf 'export STACKWIRE_DATABASE_URL=%q\n' "$STACKWIRE_DATABASE_URL"
        printf 'export STACKWIRE_CSRF_SECRET=%q\n' "$STACKWIRE_CSRF_SECRET"
    } >"$SW_VAR/env"
)

sw_log "cargo build --release --workspace --bins"
cargo build --release --workspace --bins
bin="${CARGO_TARGET_DIR:-$SW_REPO/target}/release"
log="$SW_VAR/log"

started=()
start() { # start NAME STDOUT CMD...
    local name=$1 out=$2
    shift 2
    sw_start_proc "$name" "$out" "$log/$name.log" "$@"
    started+=("$name")
}

for ((i = 1; i <= n_question; i++)); do
    start "question-$i" /dev/null "$bin/service" --service question --listen "127.0.0.1:$((7100 + i))" \
        --admin "127.0.0.1:$((7100 + i + rpc_admin_offset))"
done
for ((i = 1; i <= n_answer; i++)); do
    start "answer-$i" /dev/null "$bin/service" --service answer --listen "127.0.0.1:$((7200 + i))" \
        --admin "127.0.0.1:$((7200 + i + rpc_admin_offset))"
done
for ((i = 1; i <= n_comment; i++)); do
    start "comment-$i" /dev/null "$bin/service" --service comment --listen "127.0.0.1:$((7300 + i))" \
        --admin "127.0.0.1:$((7300 + i + rpc_admin_offset))"
done
for ((i = 1; i <= n_user; i++)); do
    start "user-$i" /dev/null "$bin/service" --service user --listen "127.0.0.1:$((7500 + i))" \
        --admin "127.0.0.1:$((7500 + i + rpc_admin_offset))"
done
for ((i = 1; i <= n_vote; i++)); do
    start "vote-$i" /dev/null "$bin/service" --service vote --listen "127.0.0.1:$((7600 + i))" \
        --admin "127.0.0.1:$((7600 + i + rpc_admin_offset))"
done
for ((i = 1; i <= n_webui; i++)); do
    start "webui-$i" /dev/null "$bin/webui" --listen "127.0.0.1:$((7400 + i))" \
        --admin "127.0.0.1:$((7400 + i + rpc_admin_offset))"
done
for ((i = 1; i <= ${#balancer_ports[@]}; i++)); do
    start "balancer-$i" "$log/balancer-$i.access.log" "$bin/balancer" \
        --listen "127.0.0.1:${balancer_ports[i - 1]}" --shared-listen "0.0.0.0:$http_port" \
        --admin "127.0.0.1:$((admin_port + i - 1))"
done

# Has every service registered (as seen by the balancer) and is every process
# still alive? Exit 2 from the checker means "a process died".
services_url="http://127.0.0.1:$http_port/webserv/services"
all_registered() {
    local name
    for name in "${started[@]}"; do
        if ! sw_proc_pid "$name" >/dev/null; then
            dead=$name
            return 2
        fi
    done
    curl -fsS --max-time 2 "$services_url" 2>/dev/null | python3 -c '
import json, sys
want = dict(zip(["Question", "Answer", "Comment", "WebUI", "User", "Vote", "Balancer"], map(int, sys.argv[1:])))
try:
    services = json.load(sys.stdin)["services"]
except Exception:
    sys.exit(1)
have = {s.get("name"): len(s.get("instances") or []) for s in services}
sys.exit(0 if all(have.get(k, 0) >= n for k, n in want.items()) else 1)
' "$n_question" "$n_answer" "$n_comment" "$n_webui" "$n_user" "$n_vote" "${#balancer_ports[@]}"
}

sw_log "waiting for all instances to register ($services_url)"
timeout=${SW_START_TIMEOUT:-60}
deadline=$((SECONDS + timeout))
dead=""
while :; do
    rc=0
    all_registered || rc=$?
    if ((rc == 0)); then
        break
    elif ((rc == 2)); then
        sw_log "ERROR: $dead exited; last lines of $log/$dead.log:"
        tail -n 20 "$log/$dead.log" >&2 || true
        exit 1
    elif ((SECONDS >= deadline)); then
        sw_log "ERROR: not all instances registered within ${timeout}s; the balancer reports:"
        curl -sS --max-time 2 "$services_url" >&2 || true
        echo >&2
        sw_log "logs: $log"
        exit 1
    fi
    sleep 0.5
done

echo
echo "stackwire is up: http://127.0.0.1:$http_port/"
echo "  balancers: http://127.0.0.1:${balancer_ports[0]}/ and :${balancer_ports[1]:-} (each alone)"
echo "  admin:     http://127.0.0.1:$admin_port/status, /status/json, /metrics, /healthz (balancer 1; N is on port"
echo "             $admin_port + N - 1; loopback only, never on the public port)"
echo "             services and webuis: /metrics on their RPC port + $rpc_admin_offset (question-1: 127.0.0.1:$((7101 + rpc_admin_offset)))"
echo "  logs:      $log/ (balancer access logs: $log/balancer-N.access.log)"
echo "  pid files: $SW_VAR/run/"
echo "  env:       . $SW_VAR/env   (URLs of the private Redis and PostgreSQL)"
echo "  stop:      scripts/stop_all.sh"
