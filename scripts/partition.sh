#!/usr/bin/env bash
# Faults that only a network has, on the cluster of scripts/cluster.sh, under
# the chaos test's load (scripts/chaos_load.py through the virtual address
# 198.18.0.10: GETs of a question's JSON and HTML pages and of the front
# page; answer POSTs, each with its own Idempotency-Key, repeated with the
# same key on error). In turn:
#
#   edge    the link of the edge host holding the virtual address is cut:
#           keepalived must move the address to the other edge host within
#           3 s (GETs open on the cut host at that moment are counted apart);
#           the link comes back and the host stays a backup
#   freeze  the balancer on the host holding the virtual address is frozen
#           (SIGSTOP for SW_PARTITION_FREEZE_S, 8 s): keepalived's check of
#           it fails twice and the address moves within 5 s (GETs open on the frozen
#           balancer, or sent to it before the address moved, are counted
#           apart: its kernel still accepts for it); it resumes as a backup
#   app     one app host's link is cut for SW_PARTITION_APP_S (10 s): its
#           instances leave rotation on both balancers, and come back
#   db      the PostgreSQL primary's host is cut off: Patroni must fence it
#           (it demotes itself: no writes there), promote the standby; when
#           the link returns the old primary rejoins as the standby
#   redis   the Redis primary's host is cut off: the Sentinels promote the
#           replica, every instance re-registers on it; a write taken by the
#           isolated old primary is discarded when it rejoins as a replica
#   netem   200 ms delay and 5% loss on one app host for SW_PARTITION_NETEM_S
#           (20 s): p99 through the balancers stays within 2x the healthy run
#           (a kernel without sch_netem gets the nearest it has: see swc_slow_on)
#
# The full run (the default) does every fault to both hosts of a pair where
# there are two (both edges, both app hosts, the database and Redis primaries
# twice: each fails over and back); --short does each fault once (the form
# tests/tests/cluster.rs runs in scripts/test.sh). Printed, written to
# $SW_VAR/log/partition-report.txt, and asserted by the exit status: failed
# GETs 0, acknowledged answers lost 0 and duplicated 0, the address moved
# within 3 s, each fault's own checks (fenced, promoted, back in rotation),
# the p99 under netem within 2x the healthy p99 (taken as at least 50 ms),
# the address leaving a frozen balancer within 5 s, no GET in flight on a cut
# app host failed, no 5xx without Retry-After (docs/deploy.md, "What the
# faults show"); for each fault the time it took to leave rotation and to
# heal, and the p99 during it. --short asserts the same.
#
# Brings the cluster up if it is not (and takes it down afterwards, unless
# SW_PARTITION_KEEP=1); a cluster already up is left up. Env as for
# cluster.sh; SW_PARTITION_USERS (8 accounts the POSTs rotate over);
# SW_PARTITION_MAX_S (900): the load stops by then whatever happens.
# shellcheck disable=SC2317 # functions below run through sw_wait_for
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
# shellcheck source=scripts/lib_cluster.sh
. scripts/lib_cluster.sh
# shellcheck source=scripts/lib_chaos.sh
. scripts/lib_chaos.sh

mode=full
case ${1:-} in
"") ;;
--short) mode=short ;;
*) sw_die "usage: scripts/partition.sh [--short]" ;;
esac
[[ $(id -u) == 0 ]] || sw_die "partition.sh needs root (network namespaces)"

swc_use_var

ours=0
if ! swc_net_exists || [[ $(cat "$SWC_OWNER_FILE" 2>/dev/null) != "$SW_VAR" ]]; then
    ours=1
fi
work=$(mktemp -d /tmp/stackwire-partition.XXXXXX)
cut_now=""
slowed_now=""
frozen_now=""
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    load_stop
    if [[ -n $cut_now ]]; then swc_heal "$cut_now" || true; fi
    if [[ -n $slowed_now ]]; then swc_slow_off "$slowed_now"; fi
    if [[ -n $frozen_now ]]; then kill -CONT "$frozen_now" 2>/dev/null || true; fi
    if ((ours)) && [[ ${SW_PARTITION_KEEP:-0} != 1 ]]; then scripts/cluster.sh down || rc=1; fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sw_install_deps python3 nftables iptables
if ((ours)); then scripts/cluster.sh up; fi
sw_choose_var # the cluster's recorded settings
sw_secrets
swc_layout
# shellcheck disable=SC1091
set -a && . "$SW_VAR/etc/stackwire.env" && set +a
log="$SW_VAR/log"
report="$log/partition-report.txt"
: >"$report"
# Every fault's line starts with the time it began (failed requests below carry theirs).
hms() { date -d "@$1" +%H:%M:%S; }
http="${SW_HTTP_PORT:-8080}"
base="http://$SWC_VIP:$http"
balancers="$(swc_admin edge1),$(swc_admin edge2)"

# Accounts (the same on every run against one cluster: sign-ups are limited
# to 10 an hour per address) and a question to answer. A user may post 10
# answers a minute: 8 accounts carry the one POST loop's ~60 a minute.
tokens="$work/tokens"
: >"$tokens"
for ((i = 1; i <= ${SW_PARTITION_USERS:-8}; i++)); do
    u="partition$i" pw="pw-${STACKWIRE_CSRF_SECRET:0:16}-$i"
    login() { curl -fsS --max-time 10 --data-urlencode "username=$u" --data-urlencode "password=$pw" "$base/webserv/user/login"; }
    if ! out=$(login 2>/dev/null); then
        code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' --data-urlencode "username=$u" \
            --data-urlencode "password=$pw" "$base/webserv/user")
        [[ $code == 201 ]] || sw_die "sign-up of $u: HTTP $code"
        out=$(login) || sw_die "login of $u failed"
    fi
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' <<<"$out" >>"$tokens"
done
qid=$(curl -fsS --max-time 10 -H "Authorization: Bearer $(head -n1 "$tokens")" \
    --data-urlencode "title=partition run $(date -u +%FT%TZ)" --data-urlencode "body=what survives a partition?" \
    --data-urlencode "tags=partition" "$base/webserv/question" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

say "stackwire partition run ($mode), $(date -u +%FT%TZ), question $qid, load on $base"
load_start --host "$SWC_VIP" --port "$http" --question "$qid" --tokens "$tokens" \
    --run "$$-$(date +%s)" --posts 1 --post-pause 0.8 \
    --until "$(($(date +%s) + ${SW_PARTITION_MAX_S:-900}))" --max-requests 100000

fails=()
fail() {
    fails+=("$*")
    say "FAIL: $*"
}
p99_of() { # p99_of FROM TO: "MS COUNT" of the GETs started in the window
    python3 scripts/chaos_load.py p99 --out "$work/records.jsonl" --from "$1" --to "$2" || true
}

# The healthy run: the p99 every fault is compared with.
t0=$(now)
sleep "${SW_PARTITION_HEALTHY_S:-10}"
read -r healthy_p99 healthy_n <<<"$(p99_of "$t0" "$(now)")"
say "healthy: p99 $healthy_p99 ms over $healthy_n GETs"

cuts=""     # the moments edge links were cut: GETs open on that host then are counted apart
edge_freezes="" # FROZE:MOVED: a balancer frozen until the address left it: GETs then are counted apart
app_cuts="" # the moments app hosts were cut: GETs in flight to them then are listed apart

# edge_pair: sets holder (the edge host holding the address) and other (the
# other one) in the caller; fails, counting a failure, when none holds it.
edge_pair() {
    holder=$(swc_vip_holder) || {
        fail "no edge host holds $SWC_VIP"
        return 1
    }
    [[ $holder == edge1 ]] && other=edge2 || other=edge1
}

# balancer_back EDGE WHAT: waits (up to 30 s) for EDGE's balancer to answer /healthz again.
balancer_back() {
    sw_wait_for -t 30 -m "$1's balancer $2" curl -fsS --max-time 1 -o /dev/null "http://$(swc_admin "$1")/healthz" || true
}

# moved_since T0: the ms from T0 until $other holds the address and serves
# through it, or "timeout" after 10 s.
moved_since() {
    holds() { [[ $(swc_vip_holder) == "$other" ]] && curl -fsS --max-time 1 -o /dev/null "$base/"; }
    if sw_wait_for -t 10 -m "$other to hold $SWC_VIP and serve" holds >&2; then ms_since "$1"; else echo timeout; fi
}

# moved_checks LIMIT_MS MOVE BACK: an edge fault's two checks: the address
# reached $other within LIMIT_MS ms (else the failure "the virtual address
# took $moved_ms ms to MOVE"), and is still there (else "the virtual address
# BACK").
moved_checks() {
    if [[ $moved_ms == timeout ]] || ((moved_ms > $1)); then fail "the virtual address took $moved_ms ms to $2 (limit $1)"; fi
    [[ $(swc_vip_holder) == "$other" ]] || fail "the virtual address $3"
}

# fault_edge: cut the holder of the virtual address; it must move within 3 s.
fault_edge() {
    local holder other t0 moved_ms back_ms p
    edge_pair || return 0
    t0=$(now)
    swc_cut "$holder"
    # The cut is a window, not a moment: a GET opened on the holder while
    # swc_cut ran was open on the cut host too.
    cuts+="${cuts:+,}$t0:$(now)"
    cut_now=$holder
    moved_ms=$(moved_since "$t0")
    sleep 3
    swc_heal "$holder"
    cut_now=""
    local t1
    t1=$(now)
    # Back: its balancer answers again, and it did not take the address back.
    balancer_back "$holder" back
    back_ms=$(ms_since "$t1")
    sleep 2
    read -r p _ <<<"$(p99_of "$t0" "$(now)")"
    say "[$(hms "$t0")] edge: cut $holder (holding $SWC_VIP): moved to $other after $moved_ms ms; link back, $holder's balancer up after $back_ms ms, address stays on $(swc_vip_holder || echo nobody); p99 $p ms"
    moved_checks 3000 move "moved back to $holder after its link returned"
}

# fault_freeze: freeze the balancer of the address's holder; the address
# must leave it within 5 s (keepalived tracks /healthz), and stay away.
fault_freeze() {
    local holder other pid t0 moved_ms p
    edge_pair || return 0
    pid=$(sw_proc_pid "balancer-${holder#edge}") || {
        fail "balancer-${holder#edge} is not running"
        return
    }
    t0=$(now)
    kill -STOP "$pid"
    frozen_now=$pid
    moved_ms=$(moved_since "$t0")
    edge_freezes+="${edge_freezes:+,}$t0:$(now)"
    sleep_rest "${SW_PARTITION_FREEZE_S:-8}" "$t0"
    kill -CONT "$pid"
    frozen_now=""
    balancer_back "$holder" "answering again"
    sleep 2
    read -r p _ <<<"$(p99_of "$t0" "$(now)")"
    say "[$(hms "$t0")] freeze: balancer on $holder (holding $SWC_VIP) stopped for ${SW_PARTITION_FREEZE_S:-8} s: address moved to $other after $moved_ms ms; resumed, address stays on $(swc_vip_holder || echo nobody); p99 $p ms"
    # A cut host is noticed by its missing adverts (3 x 0.3 s); a frozen
    # balancer by two failed checks a second apart, each allowed 1 s: 5 s.
    moved_checks 5000 "leave a frozen balancer" "went back to $holder after its balancer resumed"
}

# fault_app HOST: cut for SW_PARTITION_APP_S; out of rotation, then back.
fault_app() {
    local host=$1 addr t0 out_ms t1 in_ms p
    addr=$(swc_addr "$host")
    t0=$(now)
    app_cuts+="${app_cuts:+,}$t0"
    swc_cut "$host"
    cut_now=$host
    out_ms=$(python3 scripts/chaos_load.py rotation --host "$addr" --want out --balancers "$balancers" --since "$t0" --timeout 30) ||
        out_ms=timeout
    sleep_rest "${SW_PARTITION_APP_S:-10}" "$t0"
    swc_heal "$host"
    cut_now=""
    t1=$(now)
    in_ms=$(python3 scripts/chaos_load.py rotation --host "$addr" --want in --count 6 --balancers "$balancers" --since "$t1" --timeout 60) ||
        in_ms=timeout
    read -r p _ <<<"$(p99_of "$t0" "$(now)")"
    say "[$(hms "$t0")] app: cut $host for ${SW_PARTITION_APP_S:-10} s: out of rotation on both balancers after $out_ms ms; link back, in rotation again after $in_ms ms; p99 $p ms"
    [[ $out_ms != timeout ]] || fail "$host's instances stayed in rotation while cut off"
    [[ $in_ms != timeout ]] || fail "$host's instances did not come back into rotation"
}

pg_fenced() { # pg_fenced NODE: its PostgreSQL is read-only (or down), seen from its own host
    [[ $(_sw_pg_ha_sql "$1" "SELECT pg_is_in_recovery()") != f ]]
}

# fault_db: cut the primary's host; fenced, standby promoted, rejoins.
fault_db() {
    local old node host t0 fenced_ms writes_ms t1 back_ms p new
    old=$(sw_pg_ha_primary pg) || {
        fail "no PostgreSQL primary"
        return
    }
    node=$(sw_pg_ha_member_of pg "$old")
    host=db${node#pg-}
    t0=$(now)
    swc_cut "$host"
    cut_now=$host
    if sw_wait_for -t 60 -m "$node fenced (read-only)" pg_fenced "$node"; then fenced_ms=$(ms_since "$t0"); else fenced_ms=timeout; fi
    if sw_wait_for -t 60 -m "writes accepted on the standby" pg_write partition_probe; then writes_ms=$(ms_since "$t0"); else writes_ms=timeout; fi
    new=$(sw_pg_ha_primary pg || echo none)
    swc_heal "$host"
    cut_now=""
    t1=$(now)
    if sw_wait_for -t 120 -m "$node streaming as the standby" sw_pg_ha_streaming pg "$node" &&
        sw_wait_for -t 60 -m "a synchronous standby again" sw_pg_ha_sync pg; then
        back_ms=$(ms_since "$t1")
    else
        back_ms=timeout
    fi
    read -r p _ <<<"$(p99_of "$t0" "$(now)")"
    say "[$(hms "$t0")] db: cut $host (primary $node, $old): fenced (read-only) after $fenced_ms ms; writes accepted on $new after $writes_ms ms; link back, $node streaming as the synchronous standby after $back_ms ms; p99 $p ms"
    [[ $fenced_ms != timeout ]] || fail "$node kept accepting writes while cut off"
    [[ $writes_ms != timeout ]] || fail "no PostgreSQL primary after $host was cut"
    [[ $back_ms != timeout ]] || fail "$node did not rejoin as the standby"
}

# fault_redis: cut the primary's host; Sentinel promotes; the isolated write is discarded.
fault_redis() {
    local old host t0 promoted_ms fresh_ms t1 back_ms p marker="partition-$$-$RANDOM" new
    old=$(sw_redis_primary redis) || {
        fail "no Redis primary"
        return
    }
    host=reg1
    [[ $(swc_addr reg2) == "${old%:*}" ]] && host=reg2
    t0=$(now)
    swc_cut "$host"
    cut_now=$host
    # A client on the isolated host itself still reaches the old primary, which takes the write.
    ip netns exec "$(swc_ns "$host")" env REDISCLI_AUTH="$SW_REDIS_PASSWORD" timeout 5 redis-cli -h "${old%:*}" -p "${old##*:}" \
        set "$marker" isolated >/dev/null 2>&1 || true
    new_primary() { local p; p=$(sw_redis_primary redis) && [[ $p != "$old" ]]; }
    if sw_wait_for -t 30 -m "a new Redis primary" new_primary; then promoted_ms=$(ms_since "$t0"); else promoted_ms=timeout; fi
    new=$(sw_redis_primary redis || echo none)
    records_fresh() { # every instance beat on the new primary since the cut
        curl -fsS --max-time 2 "http://${balancers%%,*}/status/json" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
ages = [i["heartbeat_age_ms"] for s in doc["services"] for i in s["instances"] if not i.get("kept")]
sys.exit(0 if len(ages) >= 12 and max(ages) < int(sys.argv[1]) else 1)' "$(ms_since "$t0")"
    }
    if sw_wait_for -t 30 -m "every record rewritten on the new primary" records_fresh; then fresh_ms=$(ms_since "$t0"); else fresh_ms=timeout; fi
    swc_heal "$host"
    cut_now=""
    t1=$(now)
    replica_again() { _sw_redis_synced "$old"; }
    if sw_wait_for -t 60 -m "the old primary $old a synced replica" replica_again; then back_ms=$(ms_since "$t1"); else back_ms=timeout; fi
    local kept
    kept=$(_sw_redis_cli "$old" get "$marker" 2>/dev/null || true)
    kept+=$(_sw_redis_cli "$new" get "$marker" 2>/dev/null || true)
    read -r p _ <<<"$(p99_of "$t0" "$(now)")"
    say "[$(hms "$t0")] redis: cut $host (primary $old): $new promoted after $promoted_ms ms; every instance re-registered on it after $fresh_ms ms; link back, $old a synced replica after $back_ms ms, the write it took alone ${kept:+NOT }discarded; p99 $p ms"
    [[ $promoted_ms != timeout ]] || fail "Sentinel promoted no replica"
    [[ $fresh_ms != timeout ]] || fail "the instances did not re-register on the new primary"
    [[ $back_ms != timeout ]] || fail "$old did not rejoin as a replica"
    [[ -z $kept ]] || fail "the isolated primary's write survived ($marker=$kept)"
}

# fault_netem HOST: slowed and lossy for SW_PARTITION_NETEM_S; p99 within 2x healthy.
fault_netem() {
    local host=$1 addr t0 out_ms p n limit
    addr=$(swc_addr "$host")
    t0=$(now)
    swc_slow_on "$host"
    slowed_now=$host
    out_ms=$(python3 scripts/chaos_load.py rotation --host "$addr" --want out --balancers "$balancers" --since "$t0" \
        --timeout "${SW_PARTITION_NETEM_S:-20}") || out_ms="never (still listed)"
    sleep_rest "${SW_PARTITION_NETEM_S:-20}" "$t0"
    read -r p n <<<"$(p99_of "$t0" "$(now)")"
    swc_slow_off "$host"
    slowed_now=""
    local t1 in_ms
    t1=$(now)
    in_ms=$(python3 scripts/chaos_load.py rotation --host "$addr" --want in --count 6 --balancers "$balancers" --since "$t1" --timeout 60) ||
        in_ms=timeout
    # 2x the healthy p99, that p99 taken as at least 50 ms: on a busy machine
    # a healthy p99 of a few milliseconds is noise, not a baseline.
    limit=$((2 * (healthy_p99 > 50 ? healthy_p99 : 50)))
    say "[$(hms "$t0")] netem on $host ($swc_slow_kind) for ${SW_PARTITION_NETEM_S:-20} s: out of rotation after $out_ms ms; p99 $p ms over $n GETs (healthy $healthy_p99 ms, limit $limit ms); healed, all in rotation after $in_ms ms"
    if ((p > limit)); then fail "p99 with $host slowed was $p ms, over the limit of $limit ms (2x the healthy $healthy_p99 ms)"; fi
    [[ $in_ms != timeout ]] || fail "$host's instances did not come back into rotation after netem"
}

fault_edge
fault_freeze
fault_app app2
fault_db
fault_redis
fault_netem app2
if [[ $mode == full ]]; then
    fault_edge
    fault_freeze
    fault_app app1
    fault_db
    fault_redis
    fault_netem app1
fi

sleep 2
load_stop
rc=0
load_report "$qid" --balancer-kills "$cuts" --edge-freezes "$edge_freezes" --app-cuts "$app_cuts" | sed 's/open on the killed balancer/open on the cut edge host/' | tee -a "$report" || rc=1
if ((${#fails[@]})); then
    say "faults that failed their assertion: ${#fails[@]}"
    rc=1
fi
say "RESULT: $( ((rc == 0)) && echo PASS || echo FAIL) (report: $report)"
exit "$rc"
