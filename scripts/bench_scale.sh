#!/usr/bin/env bash
# Cost that does not grow with the data (issue 9): every page and JSON list
# measured on a small site, then again after bulk-loading it up to 100k
# questions (100k users, 3 tags each, 300k answers, 600k comments) and to 1M
# (3M answers, 6M comments), each followed by VACUUM ANALYZE; prints req/s per
# size and the ratio to the small site (the goal is >= 0.80 everywhere).
# `wrk -t1 -c$CONNS -d$DURATION` per route.
#
# The rows are loaded in SQL by scripts/bench/scale_load.sql, the loader the
# plan test (tests/tests/scale.rs) uses too. This script runs a stackwire of
# its own: scripts/start_all.sh with SW_VAR set to a private data directory
# (so the data of your site is never touched), on the default ports; a
# stackwire already running from the default data directory is stopped
# first (scripts/stop_all.sh), and the private one is stopped at the end and
# its data deleted (KEEP=1 keeps it). Run it alone on the machine:
#   flock /work/startall.lock scripts/bench_scale.sh
#
# The page caches are off for this run (STACKWIRE_CACHE_KB=0, so every request
# reads the database: that is the cost being measured; with them on, a repeated
# request is a cache hit whatever the size); CACHE_KB sets another budget.
#
# Env: SIZES ("100000 1000000"), DURATION (5s), CONNS (10), KEEP (0), CACHE_KB (0).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

SIZES=${SIZES:-100000 1000000}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-10}
sw_install_deps wrk curl python3
sw_choose_var
base_var=$SW_VAR
bench_var="$base_var/bench-scale"
http=http://127.0.0.1:${SW_HTTP_PORT:-8080}

sw_bench_machine
sw_log "stopping any stackwire of $base_var (this benchmark needs the ports)"
scripts/stop_all.sh >/dev/null
stop_bench() {
    SW_VAR=$bench_var scripts/stop_all.sh >/dev/null 2>&1 || true
    if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$bench_var"; fi
}
trap stop_bench EXIT
rm -rf "$bench_var"
SW_VAR=$bench_var STACKWIRE_CACHE_KB=${CACHE_KB:-0} scripts/start_all.sh >/dev/null
# shellcheck disable=SC1091
. "$bench_var/env"
db=$STACKWIRE_DATABASE_URL

psql_db() { psql "$db" -X -q -v ON_ERROR_STOP=1 "$@"; }
count() { psql_db -Atc "SELECT count(*) FROM $1"; }

# load QUESTIONS: adds rows up to QUESTIONS questions, in the proportions above.
load() {
    local want=$1 have add
    have=$(count questions)
    add=$((want - have))
    ((add > 0)) || return 0
    sw_log "loading $add questions ($((3 * add)) answers, $((6 * add)) comments, $add users) ..."
    local t=$SECONDS
    psql_db -v users="$add" -v questions="$add" -v answers="$((3 * add))" -v comments="$((6 * add))" \
        -v votes="$add" -f scripts/bench/scale_load.sql >/dev/null
    # (as the database owner: the shared catalogs are skipped, which it need not be told)
    psql_db -c "SET client_min_messages = error" -c "VACUUM ANALYZE" >/dev/null
    sw_log "loaded in $((SECONDS - t)) s: $(count questions) questions, $(count answers) answers, $(count comments) comments"
    settle
}

# settle: the load's aftermath off the measurement. A bulk load leaves GBs of
# WAL for the synchronous standby to replay (its commits waited for the WAL to
# be written there, not replayed) and of dirty buffers for the checkpointer;
# both take a core for minutes on a 2-core machine, which a measurement taken
# meanwhile would put down to the data's size. So: wait for every standby to
# have replayed up to the primary's WAL position as of now, then checkpoint
# every node.
settle() {
    local t=$SECONDS target node
    target=$(psql_db -Atc "SELECT pg_current_wal_lsn()")
    sw_wait_for -t 1800 -m "the standbys to replay the load" replayed_to "$target"
    for node in "$bench_var"/pg-[0-9]*/patroni.yml; do
        node=$(basename "$(dirname "$node")")
        SW_VAR=$bench_var _sw_pg_ha_sql "$node" "CHECKPOINT" >/dev/null || sw_log "WARNING: CHECKPOINT on $node failed"
    done
    sw_log "settled in $((SECONDS - t)) s (standbys replayed, CHECKPOINT on every node)"
}
replayed_to() { # LSN: every streaming standby has replayed up to LSN (and there is one)
    [[ $(psql_db -Atc "SELECT count(*) > 0 AND bool_and(replay_lsn >= '$1'::pg_lsn)
                       FROM pg_stat_replication WHERE state = 'streaming'") == t ]]
}

# The small site, and what the routes point at (the same rows at every size).
load 1000
thread=$(psql_db -Atc "SELECT question_id FROM answers GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
user=$(psql_db -Atc "SELECT username FROM users ORDER BY reputation DESC, id LIMIT 1")
routes=(
    "/questions/$thread" "/webserv/question/$thread"
    "/" "/webserv/question" "/?sort=votes" "/webserv/question?sort=active"
    "/?sort=unanswered" "/webserv/question?sort=unanswered"
    "/tags/tag7" "/webserv/question?tag=tag7&sort=votes" "/tags" "/webserv/tags"
    "/search?q=w12" "/webserv/search?q=w12" "/users/$user" "/webserv/user/$user"
)

declare -A rps
measure() { # LABEL
    local r out
    for r in "${routes[@]}"; do
        curl -fsS -o /dev/null "$http$r" || sw_die "GET $r failed before measuring"
        out=$(wrk -t1 -c"$CONNS" -d"$DURATION" "$http$r")
        if grep -q "Non-2xx" <<<"$out"; then sw_log "WARNING: $r: $(grep Non-2xx <<<"$out")"; fi
        rps["$1 $r"]=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
        printf '  %-10s %-45s %8s req/s\n' "$1" "$r" "${rps["$1 $r"]}"
    done
}

measure small
labels=(small)
for size in $SIZES; do
    load "$size"
    measure "$size"
    labels+=("$size")
done

echo
echo "wrk -t1 -c$CONNS -d$DURATION per route, page caches at ${CACHE_KB:-0} KiB; req/s, and the ratio to the small site (goal >= 0.80)"
printf '%-45s %9s' route small
for l in "${labels[@]:1}"; do printf ' %9s %6s' "$l" ratio; done
echo
worst=9
for r in "${routes[@]}"; do
    printf '%-45s %9s' "$r" "${rps["small $r"]}"
    for l in "${labels[@]:1}"; do
        ratio=$(python3 -c "print(f'{${rps["$l $r"]} / max(1, ${rps["small $r"]}):.2f}')")
        worst=$(python3 -c "print(min($worst, $ratio))")
        printf ' %9s %6s' "${rps["$l $r"]}" "$ratio"
    done
    echo
done
echo "lowest ratio: $worst (goal >= 0.80)"
