#!/usr/bin/env bash
# Restarts every instance that scripts/start_all.sh started, one at a time and
# tier by tier, without failing a request; safe from any shell (`env -i`
# included) and at any time.
#
# 1. Every recorded instance that is down is started first (same command line,
#    same environment, from its record in $SW_VAR/run: see lib_procs.sh), and
#    must come into rotation: a rolling restart never runs with a tier short.
# 2. The registry's Redis: each Sentinel, then the replica, then a Sentinel
#    failover moves the primary, then the old primary restarts as a replica.
# 3. The database nodes (when PostgreSQL runs replicated under Patroni): the
#    standby's node restarts, then Patroni switches the primary over to it,
#    then the old primary's node restarts and rejoins as the standby.
# 4. Services, then web UIs, then balancers, one instance at a time. Each gets
#    SIGTERM: it leaves rotation (health NOT_SERVING, registry record removed),
#    keeps serving through one heartbeat period while every client catches
#    up, finishes its calls and exits 0; it is started again from its record
#    (so a rebuilt binary is picked up), and the next one waits until the
#    replacement is healthy on every balancer (their /status/json). An
#    instance is stopped only while another instance of its tier is healthy:
#    the last healthy one of a tier is refused, by name, and the script
#    exits 1 after doing everything else.
#
# Env (all optional): SW_VAR (as for start_all.sh), SW_RESTART_TIMEOUT (30 s
# per instance), SW_STOP_TIMEOUT (20 s before a stop turns into SIGKILL),
# SW_ONLY (a regex: restart only the instances whose name matches, e.g.
# 'question|webui'; the data nodes are named redis and pg).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

sw_choose_var
[[ -d $SW_VAR/run ]] || sw_die "nothing to restart: $SW_VAR/run does not exist (run scripts/start_all.sh)"
# Web UIs need the shared CSRF secret (STACKWIRE_CSRF_SECRET) to start again.
sw_secrets
export SW_STOP_TIMEOUT=${SW_STOP_TIMEOUT:-20}
timeout=${SW_RESTART_TIMEOUT:-30}
only=${SW_ONLY:-}
selected() { [[ -z $only || $1 =~ $only ]]; }

# Address an instance registers under: its --listen (a wildcard as loopback).
addr_of() {
    local a
    a=$(sw_proc_arg "$1" --listen) || return 1
    printf '%s\n' "${a/0.0.0.0/127.0.0.1}"
}

tier_of() { printf '%s\n' "${1%-*}"; }

mapfile -t names < <(sw_proc_names)
balancers=() webuis=() services=()
datanodes=()
for name in "${names[@]}"; do
    case $name in
    pg-*) datanodes+=("$name") ;;
    balancer-*) balancers+=("$name") ;;
    webui-*) webuis+=("$name") ;;
    *) services+=("$name") ;;
    esac
done

# Admin listeners of the running balancers (their --admin): /status/json is
# served there only.
live_balancer_addrs() {
    local name
    for name in "${balancers[@]}"; do
        if sw_proc_pid "$name" >/dev/null; then sw_proc_arg "$name" --admin || true; fi
    done
}

# in_rotation ADDR PID: every running balancer lists ADDR as available, as
# registered by process PID (and one runs). The pid matters: a killed
# instance's record stays in the registry until its TTL runs out, and its
# address may still look available, so a replacement that dies at once (its
# port taken) would otherwise pass for back in the moment before it exits.
in_rotation() {
    local addr=$1 pid=$2 b n=0
    for b in $(live_balancer_addrs); do
        n=$((n + 1))
        curl -fsS --max-time 2 "http://$b/status/json" 2>/dev/null | python3 -c '
import json, sys
addr, pid = sys.argv[1], int(sys.argv[2])
doc = json.load(sys.stdin)
ok = any(i.get("addr") == addr and i.get("pid") == pid and i.get("available")
         for s in doc.get("services", []) for i in s.get("instances", []))
sys.exit(0 if ok else 1)' "$addr" "$pid" || return 1
    done
    ((n > 0))
}

# balancer_up ADMIN_ADDR: answers /status/json and is registered.
balancer_up() {
    curl -fsS --max-time 2 "http://$1/status/json" 2>/dev/null | python3 -c '
import json, sys
doc = json.load(sys.stdin)
sys.exit(0 if any(b.get("this") for b in doc.get("balancers", [])) else 1)'
}

# healthy NAME: running and taking traffic.
healthy() {
    local name=$1 addr pid
    pid=$(sw_proc_pid "$name") || return 1
    addr=$(addr_of "$name") || return 1
    case $name in
    balancer-*) balancer_up "$(sw_proc_arg "$name" --admin)" ;;
    *) in_rotation "$addr" "$pid" ;;
    esac
}

# wait_healthy NAME: until it takes traffic; dies after the timeout.
wait_healthy() {
    local name=$1
    sw_wait_for -t "$timeout" -m "$name healthy (in rotation on every balancer)" healthy "$name" ||
        sw_die "$name did not come back into rotation (log: $SW_VAR/log/$name.log)"
}

# other_healthy NAME: another instance of NAME's tier takes traffic.
other_healthy() {
    local name=$1 tier other
    tier=$(tier_of "$name")
    for other in "${names[@]}"; do
        [[ $other != "$name" && $(tier_of "$other") == "$tier" ]] || continue
        if healthy "$other"; then return 0; fi
    done
    return 1
}

refused=()
restart_one() {
    local name=$1 t0=$SECONDS
    if ! other_healthy "$name"; then
        sw_log "ERROR: refusing to stop $name: it is the only healthy $(tier_of "$name") instance;" \
            "start another one first (scripts/start_all.sh with SW_$(tier_of "$name" | tr a-z A-Z)S=2 or more)"
        refused+=("$name")
        return 0
    fi
    sw_stop_proc "$name"
    sw_restart_proc "$name"
    wait_healthy "$name"
    count=$((count + 1))
    sw_log "$name restarted and back in rotation ($((SECONDS - t0)) s)"
}

started=$SECONDS
count=0

# 0. With the data tier down there is nothing to roll: start what is missing.
data_up() {
    sw_redis_primary redis >/dev/null || return 1
    if ((${#datanodes[@]})); then
        sw_pg_ha_primary pg >/dev/null
    else
        "$(sw_pg_bindir)/pg_isready" -q -h "${SW_HOST:-127.0.0.1}" -p "${SW_PG_PORT:-15432}"
    fi
}
if ! data_up; then
    sw_log "the registry or the database is not running: scripts/start_all.sh first"
    scripts/start_all.sh
fi

# 1. Whatever is down comes back first: database nodes (a Patroni node
# rejoins as the standby, an etcd member rejoins its cluster), services,
# then the balancers.
for name in "${datanodes[@]}"; do
    if ! sw_proc_pid "$name" >/dev/null; then
        sw_log "$name is not running: starting it"
        sw_restart_proc "$name"
    fi
done
if ((${#datanodes[@]})); then
    sw_wait_for -t 120 -m "a synchronous PostgreSQL standby" sw_pg_ha_sync pg ||
        sw_die "PostgreSQL has no synchronous standby (logs: $SW_VAR/log/pg-*.log)"
fi
down=()
for name in "${services[@]}" "${webuis[@]}" "${balancers[@]}"; do
    if ! sw_proc_pid "$name" >/dev/null; then
        sw_log "$name is not running: starting it"
        sw_restart_proc "$name"
        down+=("$name")
    fi
done
for name in "${down[@]}"; do
    sw_wait_for -t "$timeout" -m "$name healthy (in rotation on every balancer)" healthy "$name" ||
        sw_die "$name was down and did not start again or come into rotation within ${timeout}s" \
            "(log: $SW_VAR/log/$name.log); nothing was stopped, so its tier keeps every instance it still had"
    sw_log "$name is back"
    count=$((count + 1))
done

# 2-3. The data nodes, through their own failover machinery.
if selected redis && [[ -f $SW_VAR/redis.sentinels ]]; then
    sw_rolling_restart_redis_ha redis
fi
if selected pg && ((${#datanodes[@]})); then
    sw_rolling_restart_pg_ha pg
fi

# 4. Every instance, one at a time.
for name in "${services[@]}" "${webuis[@]}" "${balancers[@]}"; do
    selected "$name" || continue
    restart_one "$name"
done
sw_log "rolling restart done: $count instances in $((SECONDS - started)) s"
if ((${#refused[@]})); then
    sw_die "not restarted (the last healthy instance of their tier): ${refused[*]}"
fi
