#!/usr/bin/env bash
# Restarts every instance that scripts/start_all.sh started, one at a time and
# tier by tier (services, then web UIs, then balancers), without failing a
# request.
#
# Each instance gets SIGTERM: it leaves rotation (health NOT_SERVING, its
# registry record removed), keeps serving through one heartbeat period while
# every balancer and client catches up, finishes its calls and exits 0 (a
# balancer stops accepting and drains; the other balancer holds the shared
# port meanwhile). It is then started again with the same command line (so a
# rebuilt binary is picked up), and the next instance waits until the
# replacement is registered and healthy on every balancer (their
# /status/json). With two or more instances per tier nobody notices.
#
# Env: SW_VAR (as for start_all.sh), SW_RESTART_TIMEOUT (30 s per instance),
# SW_STOP_TIMEOUT (20 s before a stop turns into SIGKILL), SW_ONLY (a regex:
# restart only the instances whose name matches, e.g. 'question|webui').
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

sw_choose_var
[[ -d $SW_VAR/run ]] || sw_die "nothing to restart: $SW_VAR/run does not exist (run scripts/start_all.sh)"
# Web UIs need the shared CSRF secret (STACKWIRE_CSRF_SECRET) to start again.
sw_secrets
log="$SW_VAR/log"
export SW_STOP_TIMEOUT=${SW_STOP_TIMEOUT:-20}
timeout=${SW_RESTART_TIMEOUT:-30}

# The value following FLAG in a NUL-separated command line file.
arg_of() { # arg_of PID FLAG
    local flag=$2 prev="" a
    while IFS= read -r -d '' a; do
        if [[ $prev == "$flag" ]]; then
            printf '%s\n' "$a"
            return 0
        fi
        prev=$a
    done <"/proc/$1/cmdline"
    return 1
}

# Admin listeners of the running balancers (their --admin): /status/json is
# served there only.
balancer_addrs() {
    local f name pid
    for f in "$SW_VAR"/run/balancer*.pid; do
        [[ -f $f ]] || continue
        name=$(basename "$f" .pid)
        pid=$(sw_proc_pid "$name") || continue
        arg_of "$pid" --admin || true
    done
}

# in_rotation ADDR BALANCER...: every balancer lists ADDR as available.
in_rotation() {
    local addr=$1 b
    shift
    (($# > 0)) || return 1
    for b in "$@"; do
        curl -fsS --max-time 2 "http://$b/status/json" 2>/dev/null | python3 -c '
import json, sys
addr = sys.argv[1]
doc = json.load(sys.stdin)
ok = any(i.get("addr") == addr and i.get("available")
         for s in doc.get("services", []) for i in s.get("instances", []))
sys.exit(0 if ok else 1)' "$addr" || return 1
    done
}

# balancer_up ADMIN_ADDR: answers /status/json and is registered.
balancer_up() {
    curl -fsS --max-time 2 "http://$1/status/json" 2>/dev/null | python3 -c '
import json, sys
doc = json.load(sys.stdin)
sys.exit(0 if any(b.get("this") for b in doc.get("balancers", [])) else 1)'
}

restart_one() {
    local name=$1 pid out addr t0
    local -a argv=()
    if ! pid=$(sw_proc_pid "$name"); then
        sw_log "$name is not running; skipped"
        return 0
    fi
    mapfile -d '' argv <"/proc/$pid/cmdline"
    addr=$(arg_of "$pid" --listen) || sw_die "$name: no --listen in its command line"
    # A wildcard bind is registered under the loopback address.
    addr=${addr/0.0.0.0/127.0.0.1}
    case $name in
    balancer*) out="$log/$name.access.log" ;;
    *) out=/dev/null ;;
    esac
    t0=$SECONDS
    sw_stop_proc "$name"
    sw_start_proc "$name" "$out" "$log/$name.log" "${argv[@]}"
    case $name in
    balancer*)
        addr=$(arg_of "$pid" --admin) || sw_die "$name: no --admin in its command line"
        sw_wait_for -t "$timeout" -m "$name answering on $addr" balancer_up "$addr" ||
            sw_die "$name did not come back (log: $log/$name.log)"
        ;;
    *)
        local -a bals
        mapfile -t bals < <(balancer_addrs)
        sw_wait_for -t "$timeout" -m "$name ($addr) registered and healthy on every balancer" \
            in_rotation "$addr" "${bals[@]}" ||
            sw_die "$name did not come back into rotation (log: $log/$name.log)"
        ;;
    esac
    sw_log "$name restarted and back in rotation ($((SECONDS - t0)) s)"
}

services=() webuis=() balancers=()
for f in "$SW_VAR"/run/*.pid; do
    [[ -f $f ]] || continue
    name=$(basename "$f" .pid)
    [[ -z ${SW_ONLY:-} || $name =~ $SW_ONLY ]] || continue
    case $name in
    balancer*) balancers+=("$name") ;;
    webui-*) webuis+=("$name") ;;
    *) services+=("$name") ;;
    esac
done

started=$SECONDS
for name in "${services[@]}" "${webuis[@]}" "${balancers[@]}"; do
    restart_one "$name"
done
sw_log "rolling restart done: $((${#services[@]} + ${#webuis[@]} + ${#balancers[@]})) instances in $((SECONDS - started)) s"
