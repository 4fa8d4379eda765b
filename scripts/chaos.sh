#!/usr/bin/env bash
# The full-size chaos run: node failures under steady load lose nothing.
#
# Starts (or reuses) the whole system with scripts/start_all.sh: two of each
# service, two web UIs, two balancers sharing SW_HTTP_PORT (8080), a Redis
# primary + replica + three Sentinels. Then, under load (scripts/chaos_load.py:
# GETs of a question's JSON and HTML pages and of the front page; answer POSTs,
# each with its own Idempotency-Key, repeated with the same key on error), it
# kills with SIGKILL, in turn: a question instance, an answer instance, a web
# UI instance, the Redis primary, the PostgreSQL primary twice (Patroni
# promotes the standby; the killed node must stream again before the second
# kill), one of the two balancers, bringing each back (same command line, same
# environment, same port), and finally runs scripts/rolling_restart.sh.
#
# It prints, and the exit status asserts: failed GETs 0 (requests open on the
# killed balancer itself are counted separately), every answer whose POST got
# a 2xx stored exactly once in PostgreSQL, and for each kill how long until
# the instance left rotation on both balancers and until its replacement
# took traffic, and for each PostgreSQL kill the time until writes were
# accepted again and until the old primary streamed again; POSTs answered 503
# (with Retry-After) are counted, any other 5xx fails the run. Then it freezes
# (SIGSTOP for SW_CHAOS_FREEZE seconds, 8, then SIGCONT) one instance of each
# tier on the GET path in turn (question, answer, user, webui): through
# each freeze no GET may fail or take longer than a visitor's 3 s, and their
# p99 must stay under 1 s. The report is also written to
# $SW_VAR/log/chaos-report.txt.
#
# Env: as for start_all.sh; SW_CHAOS_USERS (40 accounts the POSTs rotate over,
# since a user may post 10 answers a minute; STACKWIRE_LIMIT_SIGNUPS_PER_ADDRESS
# defaults to 1000 so that one address may create them), SW_CHAOS_FREEZE (8 s),
# SW_CHAOS_STOP=1 to stop everything afterwards (default: leave it running).
# shellcheck disable=SC2317 # functions below run through sw_wait_for
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
# shellcheck source=scripts/lib_chaos.sh
. scripts/lib_chaos.sh

# The run signs up SW_CHAOS_USERS accounts from 127.0.0.1, more than one
# address may in an hour (10 by default): the system it starts allows them.
# (A system that is already running keeps the limit it was started with.)
export STACKWIRE_LIMIT_SIGNUPS_PER_ADDRESS=${STACKWIRE_LIMIT_SIGNUPS_PER_ADDRESS:-1000}
scripts/start_all.sh
sw_choose_var
sw_secrets
# shellcheck disable=SC1091
. "$SW_VAR/env"
log="$SW_VAR/log"
http=${SW_HTTP_PORT:-8080}
base="http://127.0.0.1:$http"
work=$(mktemp -d /tmp/stackwire-chaos.XXXXXX)
report="$log/chaos-report.txt"
: >"$report"

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
    load_stop
    if [[ ${SW_CHAOS_STOP:-0} == 1 ]]; then scripts/stop_all.sh; fi
}
trap cleanup EXIT

# Own port (--listen) of a running process.
flag_of() { # flag_of NAME FLAG: the value of FLAG on NAME's command line
    local pid prev="" a
    pid=$(sw_proc_pid "$1") || return 1
    while IFS= read -r -d '' a; do
        if [[ $prev == "$2" ]]; then
            printf '%s\n' "${a/0.0.0.0/127.0.0.1}"
            return 0
        fi
        prev=$a
    done <"/proc/$pid/cmdline"
    return 1
}
listen_of() { flag_of "$1" --listen; }
# The balancers' admin listeners: /status/json is served there only.
balancers() { flag_of balancer-1 --admin || true; flag_of balancer-2 --admin || true; }

# kill9_and_back NAME: SIGKILL, time to leave rotation, same command back, time to take traffic.
kill9_and_back() {
    local name=$1 pid addr t0 out_ms lines t1 back_ms bals
    pid=$(sw_proc_pid "$name") || sw_die "$name is not running"
    addr=$(listen_of "$name")
    bals=$(balancers | paste -sd, -)
    t0=$(now)
    kill -KILL "$pid"
    out_ms=$(python3 scripts/chaos_load.py out --addr "$addr" --balancers "$bals" --since "$t0") ||
        sw_die "$name stayed in rotation"
    sw_wait_for -t 10 _sw_pid_gone "$pid" || true
    lines=$(python3 scripts/chaos_load.py count --log "$log/$name.log")
    t1=$(now)
    sw_restart_proc "$name"
    back_ms=$(python3 scripts/chaos_load.py served --log "$log/$name.log" --lines "$lines" --since "$t1") ||
        sw_die "$name took no traffic after its restart"
    say "kill -9 $name ($addr): out of rotation after $out_ms ms; restarted, took traffic $back_ms ms after start"
}

# Accounts and a question to answer.
tokens="$work/tokens"
: >"$tokens"
if curl -fsS "$base/webserv/services" | grep -q '"name":"User"'; then
    for ((i = 1; i <= ${SW_CHAOS_USERS:-40}; i++)); do
        u="chaos$$x$i"
        curl -fsS -o /dev/null --data-urlencode "username=$u" --data-urlencode "password=password-$u" "$base/webserv/user"
        curl -fsS --data-urlencode "username=$u" --data-urlencode "password=password-$u" "$base/webserv/user/login" |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' >>"$tokens"
    done
fi
auth=()
if [[ -s $tokens ]]; then auth=(-H "Authorization: Bearer $(head -n1 "$tokens")"); fi
qid=$(curl -fsS "${auth[@]}" --data-urlencode "title=chaos run $(date -u +%FT%TZ)" \
    --data-urlencode "body=what survives a chaos run?" --data-urlencode "tags=chaos" "$base/webserv/question" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

# GETs that reach the answer and user services too (the freezes need them on the path).
pages=()
if [[ -s $tokens ]]; then
    aid=$(curl -fsS "${auth[@]}" --data-urlencode "question_id=$qid" --data-urlencode "body=the first answer" \
        "$base/webserv/answer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    pages=(--page "/webserv/answer/$aid/revisions" --page "/webserv/user/chaos$$x1")
fi

say "stackwire chaos run, $(date -u +%FT%TZ), question $qid, load on $base"
load_start --port "$http" --question "$qid" --tokens "$tokens" "${pages[@]}" --run "$$"
sleep 3

kill9_and_back question-1
kill9_and_back answer-1
kill9_and_back webui-1

# The Redis primary: a new one within the failover time; every record rewritten.
old=$(sw_redis_primary redis)
case ${old##*:} in
"${SW_REDIS_PORT:-16379}") node=redis-a ;;
*) node=redis-b ;;
esac
t0=$(now)
kill -KILL "$(cat "$SW_VAR/$node/redis.pid")"
new_primary() { [[ $(sw_redis_primary redis) != "$old" ]]; }
sw_wait_for -t 30 -m "a new Redis primary" new_primary || sw_die "no failover"
promoted_ms=$(ms_since "$t0")
records_fresh() { # every instance beat since the kill
    curl -fsS --max-time 2 "http://$(balancers | head -n1)/status/json" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
ages = [i["heartbeat_age_ms"] for s in doc["services"] for i in s["instances"] if not i.get("kept")]
sys.exit(0 if ages and max(ages) < int(sys.argv[1]) else 1)' "$(ms_since "$t0")"
}
sw_wait_for -t 30 -m "every record rewritten on the new primary" records_fresh || sw_die "records did not come back"
say "kill -9 Redis primary $old: new primary $(sw_redis_primary redis) after $promoted_ms ms; every record rewritten $(ms_since "$t0") ms after the kill"
rm -f "$SW_VAR/$node/redis.pid"
sw_start_redis_ha redis "${SW_REDIS_PORT:-16379}" "${SW_REDIS_REPLICA_PORT:-$((${SW_REDIS_PORT:-16379} + 1))}" \
    "${SW_SENTINEL_PORTS:-26380 26381 26382}" 2>/dev/null

# The PostgreSQL primary, twice: Patroni must promote the standby, and bring
# the killed node back as the standby (pg_rewind) before the second kill.
kill9_pg_primary() {
    local old node pid t0 writes_ms back_ms
    old=$(sw_pg_ha_primary pg) || sw_die "no PostgreSQL primary"
    node=$(sw_pg_ha_member_of pg "$old")
    pid=$(head -n1 "$SW_VAR/$node/data/postmaster.pid")
    t0=$(now)
    kill -KILL "$pid"
    sw_wait_for -t 60 -m "PostgreSQL writes accepted again" pg_write chaos_probe || sw_die "no PostgreSQL primary after the kill"
    writes_ms=$(ms_since "$t0")
    sw_wait_for -t 120 -m "$node streaming again" sw_pg_ha_streaming pg "$node" || sw_die "$node did not rejoin"
    back_ms=$(ms_since "$t0")
    sw_wait_for -t 60 -m "a synchronous standby again" sw_pg_ha_sync pg || sw_die "no synchronous standby"
    say "kill -9 PostgreSQL primary $node ($old): writes accepted again after $writes_ms ms on $(sw_pg_ha_primary pg); $node streaming again as the standby after $back_ms ms"
    pg_kills+="${pg_kills:+ }$writes_ms"
}
pg_kills=""
if [[ ${SW_PG_HA:-1} == 1 ]]; then
    kill9_pg_primary
    kill9_pg_primary
fi

# Gray failures: one instance of each tier on the GET path frozen in turn.
# (no GET reaches comment or vote; a balancer is not frozen: its clients
# connect to it directly, and no policy of ours runs in front of it.)
freezes="$work/freezes.txt"
: >"$freezes"
freeze_and_back() { # freeze_and_back NAME: SIGSTOP for SW_CHAOS_FREEZE s, SIGCONT
    local name=$1 pid t0
    pid=$(sw_proc_pid "$name") || sw_die "$name is not running"
    t0=$(now)
    kill -STOP "$pid"
    sleep "${SW_CHAOS_FREEZE:-8}"
    kill -CONT "$pid"
    echo "$name $t0 $(now)" >>"$freezes"
    say "SIGSTOP $name ($(listen_of "$name")) for ${SW_CHAOS_FREEZE:-8} s, then SIGCONT"
    sleep 4 # the visitor's 3 s patience and the 1 s after the thaw the report looks at
}
for name in question-1 answer-1 user-1 webui-1; do
    freeze_and_back "$name"
done

# One of the two balancers: the shared port carries on with the other.
pid=$(sw_proc_pid balancer-1)
bal_kill=$(now)
kill -KILL "$pid"
sleep 2
sw_wait_for -t 10 _sw_pid_gone "$pid" || true
before=$(wc -l <"$log/balancer-1.access.log")
grew() { (($(wc -l <"$log/balancer-1.access.log") > before)); }
t1=$(now)
sw_restart_proc balancer-1
sw_wait_for -t 30 -m "balancer-1 to take traffic on the shared port" grew || sw_die "balancer-1 took no traffic"
say "kill -9 balancer-1: the shared port $http kept serving through balancer-2; restarted, took traffic $(ms_since "$t1") ms after start"

t0=$(now)
scripts/rolling_restart.sh
say "rolling restart of every instance: $(ms_since "$t0") ms"
sleep 2
load_stop

rc=0
load_report "$qid" --balancer-kills "$bal_kill" --freezes "$freezes" | tee -a "$report" || rc=$?
say "report: $report (raw records: $work/records.jsonl)"
exit "$rc"
