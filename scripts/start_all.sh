#!/usr/bin/env bash
# Starts the whole stackwire system on this machine (Debian, as root): a
# private replicated PostgreSQL and Redis on non-default ports, the question/answer/
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
# Settings (environment, else what the last start recorded in
# $SW_VAR/settings, else the default): SW_HOST (127.0.0.1, the address every
# instance binds and registers), SW_HTTP_HOST (0.0.0.0, the shared port's),
# SW_PG_HA (1: a primary and a synchronous standby under Patroni with three
# etcd members, see lib_pg_ha.sh for their ports; 0: one PostgreSQL),
# SW_PG_PORT (15432; replicated: SW_PG_PORTS "15432 15433"),
# SW_REDIS_PORT (16379), SW_HTTP_PORT (8080),
# SW_SERVICE_PORT_BASE (7000) and SW_SERVICE_PORT_STRIDE (100): question
# instances on base+stride+1, +2, …, answer base+2*stride+1…, comment 3*,
# webui 4*, user 5*, vote 6*: 7101, 7201, … by default),
# SW_RPC_ADMIN_OFFSET (1000: a service or webui on RPC port P serves
# GET /metrics on P + 1000), SW_QUESTIONS,
# SW_ANSWERS, SW_COMMENTS, SW_WEBUIS, SW_USERS, SW_VOTES (2 each),
# SW_BIN_DIR (use these binaries instead of building release ones; recorded
# like the others, so later runs use them too until SW_BIN_DIR= clears it),
# SW_START_TIMEOUT (60 s), SW_VAR (data directory, chosen if unset). The
# effective settings are recorded for the other scripts (see lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
sw_choose_var # and the recorded settings

export SW_HOST=${SW_HOST:-127.0.0.1}
export SW_HTTP_HOST=${SW_HTTP_HOST:-0.0.0.0}
export SW_PG_PORT=${SW_PG_PORT:-15432}
export SW_PG_HA=${SW_PG_HA:-1}
export SW_PG_PORTS=${SW_PG_PORTS:-$SW_PG_PORT $((SW_PG_PORT + 1))}
export SW_REDIS_PORT=${SW_REDIS_PORT:-16379}
export SW_HTTP_PORT=${SW_HTTP_PORT:-8080}
export SW_SERVICE_PORT_BASE=${SW_SERVICE_PORT_BASE:-7000} SW_SERVICE_PORT_STRIDE=${SW_SERVICE_PORT_STRIDE:-100}
export SW_QUESTIONS=${SW_QUESTIONS:-2} SW_ANSWERS=${SW_ANSWERS:-2} SW_COMMENTS=${SW_COMMENTS:-2}
export SW_WEBUIS=${SW_WEBUIS:-2} SW_USERS=${SW_USERS:-2} SW_VOTES=${SW_VOTES:-2}
export SW_REDIS_REPLICA_PORT=${SW_REDIS_REPLICA_PORT:-$((SW_REDIS_PORT + 1))}
export SW_SENTINEL_PORTS=${SW_SENTINEL_PORTS:-26380 26381 26382}
export SW_BALANCER_PORTS=${SW_BALANCER_PORTS:-$((SW_HTTP_PORT + 1)) $((SW_HTTP_PORT + 2))}
# Balancer N serves GET /status, /status/json, /metrics and /healthz on loopback port SW_ADMIN_PORT + N - 1.
export SW_ADMIN_PORT=${SW_ADMIN_PORT:-9090}
# Every service and webui instance serves GET /metrics (its caches and version
# counters) on loopback at its RPC port + SW_RPC_ADMIN_OFFSET (7101 -> 8101).
export SW_RPC_ADMIN_OFFSET=${SW_RPC_ADMIN_OFFSET:-1000}
host=$SW_HOST
http_port=$SW_HTTP_PORT
base=$SW_SERVICE_PORT_BASE
stride=$SW_SERVICE_PORT_STRIDE
read -ra balancer_ports <<<"$SW_BALANCER_PORTS"
admin_port=$SW_ADMIN_PORT

sw_install_deps python3 patroni etcd-server etcd-client
sw_init_var
sw_save_settings
if [[ $SW_PG_HA == 1 ]]; then
    # A single cluster from an older start_all.sh would hold the port; its
    # data stays in $SW_VAR/pg (the replicated one starts empty).
    sw_stop_postgres pg
    sw_start_pg_ha pg
else
    sw_start_postgres pg "$SW_PG_PORT"
fi
# A single Redis from an older start_all.sh would hold the primary's port.
sw_stop_redis redis
sw_start_redis_ha redis "$SW_REDIS_PORT" "$SW_REDIS_REPLICA_PORT" "$SW_SENTINEL_PORTS"
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
        if [[ -n ${STACKWIRE_PATRONI_URLS:-} ]]; then
            printf 'export STACKWIRE_PATRONI_URLS=%q\n' "$STACKWIRE_PATRONI_URLS"
        fi
    } >"$SW_VAR/env"
)

if [[ -n ${SW_BIN_DIR:-} ]]; then
    bin=$SW_BIN_DIR
    sw_log "using the binaries in $bin (SW_BIN_DIR, $(sw_setting_origin SW_BIN_DIR)), not building"
else
    sw_log "cargo build --release --workspace --bins"
    cargo build --release --workspace --bins
    bin="${CARGO_TARGET_DIR:-$SW_REPO/target}/release"
fi
log="$SW_VAR/log"

started=()
for tier in question answer comment user vote webui; do
    case $tier in
    question) n=$SW_QUESTIONS ;; answer) n=$SW_ANSWERS ;; comment) n=$SW_COMMENTS ;;
    user) n=$SW_USERS ;; vote) n=$SW_VOTES ;; webui) n=$SW_WEBUIS ;;
    esac
    for ((i = 1; i <= n; i++)); do
        sw_start_rpc_instance "$tier" "$i" "$host" "$bin" "$log"
        started+=("$tier-$i")
    done
done
for ((i = 1; i <= ${#balancer_ports[@]}; i++)); do
    sw_start_balancer "$i" "$host" "$SW_HTTP_HOST" "$bin" "$log"
    started+=("balancer-$i")
done

services_url="http://$host:$http_port/webserv/services"
sw_log "waiting for all instances to register ($services_url)"
sw_await_registered "$services_url" "${SW_START_TIMEOUT:-60}" "${started[@]}" || exit 1

echo
echo "stackwire is up: http://$host:$http_port/"
echo "  balancers: http://$host:${balancer_ports[0]}/ and :${balancer_ports[1]:-} (each alone); status: http://$host:$http_port/status"
echo "  metrics:   http://$host:$admin_port/metrics (balancer 1; N is on port $admin_port + N - 1), /healthz"
echo "             services and webuis: /metrics on their RPC port + $SW_RPC_ADMIN_OFFSET (question-1: $host:$((base + stride + 1 + SW_RPC_ADMIN_OFFSET)))"
echo "  logs:      $log/ (balancer access logs: $log/balancer-N.access.log)"
echo "  pid files: $SW_VAR/run/"
echo "  env:       . $SW_VAR/env   (URLs of the private Redis and PostgreSQL)"
echo "  stop:      scripts/stop_all.sh"
