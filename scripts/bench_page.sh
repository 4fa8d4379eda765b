#!/usr/bin/env bash
# Issue 9's benchmark: stackwire's question page and JSON thread side by side
# with the seed stack it replaced, in one run, on this machine.
#
# The seed stack (scripts/bench/seed_stack/: Flask + `gunicorn -w 2` +
# psycopg2 SimpleConnectionPool(1, 4), a venv under $SW_VAR from pip) gets a
# database of its own in stackwire's PostgreSQL server (1,000 questions with 5
# answers and 3 comments per answer); stackwire gets the same thread (a
# question with 5 answers and 15 comments) through its API. Then every row is
# run ROUNDS times, interleaved, with `wrk -t1 -c$CONNS -d$DURATION --latency`:
#   seed page            GET /questions/500 of the seed stack
#   page                 stackwire's HTML question page, anonymous
#   json                 the JSON thread /webserv/question/{id}
#   page, logged in      the HTML page with a session cookie
#   home                 the front page (newest 20)
#   seed POST            POST /questions of the seed stack (insert + 303)
#   answer POST          POST /webserv/answer with a bearer token, a unique body each (200 writers
#                        answering 100 questions, round robin)
# and then the overload row: the HTML page with $OVERLOAD_CONNS connections for
# $OVERLOAD_DURATION (wrk's default 2 s timeout), with the resident memory of
# every stackwire process sampled throughout. Prints the medians, the ratios
# to the seed stack (pages to its page, the answer POST to its POST) against
# the goals, and the CPU each tier spent per request (utime + stime of its
# processes over the run, PostgreSQL's backends counted through the
# postmaster). PROFILE=1 adds a `perf record -g` of stackwire's processes
# during one more run of the row PROFILE_ROW (page) and prints where their CPU
# went (PROFILE_ROW="answer POST" profiles the write path).
#
# stackwire is (re)started by scripts/start_all.sh with the per-user posting
# limits raised for this run through their configuration (printed), since one
# benchmark user posts thousands of answers a second; afterwards it is
# restarted with the defaults if it was running before, else stopped. Run it
# alone on the machine: flock /work/startall.lock scripts/bench_page.sh
#
# Env: ROUNDS (3), DURATION (8s), WARMUP (2s: each row once before round 1,
# not measured), CONNS (50), OVERLOAD_CONNS (1000),
# OVERLOAD_DURATION (10s), SW_SEED_PORT (18088), PROFILE (0), PROFILE_ROW (page),
# ONLY (every row; a comma-separated subset such as "seed POST,answer POST"),
# WRITERS (2000: the users the answer POSTs take turns at).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-50}
OVERLOAD_CONNS=${OVERLOAD_CONNS:-1000}
OVERLOAD_DURATION=${OVERLOAD_DURATION:-10s}
PROFILE_ROW=${PROFILE_ROW:-page}
WRITERS=${WRITERS:-2000}
[[ $WRITERS =~ ^[1-9][0-9]{0,5}$ ]] || sw_die "WRITERS: a number of users from 1 to 999999, not '$WRITERS'"
SEED_PORT=${SW_SEED_PORT:-18088}
sw=http://127.0.0.1:${SW_HTTP_PORT:-8080}
seed=http://127.0.0.1:$SEED_PORT

sw_install_deps wrk curl python3 python3-venv
sw_init_var
work=$(mktemp -d /tmp/sw-bench-page.XXXXXX)
tiers_py=scripts/bench/cputiers.py
sw_bench_machine
sw_raise_nofile "$((OVERLOAD_CONNS + 100))" "the overload row"

# --- stackwire, with the posting limits raised for this run ------------------
limits=(STACKWIRE_LIMIT_ANSWERS_PER_USER=1000000 STACKWIRE_LIMIT_COMMENTS_PER_USER=1000000
    STACKWIRE_LIMIT_QUESTIONS_PER_USER=1000000 STACKWIRE_LIMIT_SIGNUPS_PER_ADDRESS=1000000)
was_running=0
sw_proc_pid balancer-1 >/dev/null && was_running=1
echo "posting limits raised for this run, through configuration: ${limits[*]}; answer POSTs from $WRITERS writers"
scripts/stop_all.sh >/dev/null
seed_pid=""
cleanup() {
    [[ -n $seed_pid ]] && kill "$seed_pid" 2>/dev/null || true
    scripts/stop_all.sh >/dev/null 2>&1 || true
    if ((was_running)); then
        sw_log "restarting stackwire with its default limits (it was running before)"
        scripts/start_all.sh >/dev/null 2>&1 || sw_log "WARNING: restarting stackwire failed; run scripts/start_all.sh"
    fi
    rm -rf "$work"
}
trap cleanup EXIT
env "${limits[@]}" scripts/start_all.sh >"$work/start_all.log" 2>&1 || {
    tail -20 "$work/start_all.log" >&2
    sw_die "scripts/start_all.sh failed"
}
# shellcheck disable=SC1091
. "$SW_VAR/env"

# --- the seed stack ----------------------------------------------------------
venv=$SW_VAR/seed-venv
if [[ ! -x $venv/bin/gunicorn ]]; then
    sw_log "seed stack: creating $venv (pip install flask gunicorn psycopg2-binary)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q flask gunicorn psycopg2-binary
fi
psql "$STACKWIRE_DATABASE_URL" -X -q -tAc "SELECT 1 FROM pg_database WHERE datname = 'seed_stack'" | grep -q 1 ||
    psql "$STACKWIRE_DATABASE_URL" -X -q -c "CREATE DATABASE seed_stack" >/dev/null
# The seed stack's database on the same server: swap the database name and
# keep the query (target_session_attrs=read-write picks Patroni's primary).
db_base=${STACKWIRE_DATABASE_URL%%\?*}
seed_db=${db_base%/*}/seed_stack${STACKWIRE_DATABASE_URL#"$db_base"}
psql "$seed_db" -X -q -v ON_ERROR_STOP=1 -f scripts/bench/seed_stack/schema.sql >/dev/null
SEED_DSN=$seed_db "$venv/bin/gunicorn" -w 2 -b "127.0.0.1:$SEED_PORT" --chdir scripts/bench/seed_stack \
    --log-level warning app:app >"$SW_VAR/log/seed-stack.log" 2>&1 &
seed_pid=$!
sw_wait_for -t 30 -m "the seed stack on $seed" curl -fsS -o /dev/null "$seed/questions/500" ||
    sw_die "the seed stack did not start (log: $SW_VAR/log/seed-stack.log)"

# --- stackwire's thread: 5 answers, 3 comments on each -------------------------
# The first answer carries a fenced Rust block, so the page is highlighted
# (issue 15) as a real thread's would be.
code=$'\n\n```rust\nlet mut prefix = [0u8; 5];\nstream.read_exact(&mut prefix)?;\nlet len = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;\n```'
token() { # USER: signs up (if new) and logs in; prints the token
    curl -fsS -o /dev/null -d "username=$1" -d 'password=bench password 1' "$sw/webserv/user" || true
    curl -fsS -d "username=$1" -d 'password=bench password 1' "$sw/webserv/user/login" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
id_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
asker=$(token bench_asker)
answerer=$(token bench_answerer)
q=$(curl -fsS -H "Authorization: Bearer $asker" -d 'title=How do I read a length-prefixed frame?' \
    -d 'body=Five bytes first, then what?' -d 'tags=rpc framing' "$sw/webserv/question" | id_of)
for i in 1 2 3 4 5; do
    a=$(curl -fsS -H "Authorization: Bearer $answerer" -d "question_id=$q" \
        --data-urlencode "body=Answer $i: read the 5-byte prefix, check the length, then read exactly that many bytes.$(
            if ((i == 1)); then printf '%s' "$code"; fi)" \
        "$sw/webserv/answer" | id_of)
    for j in 1 2 3; do
        curl -fsS -o /dev/null -H "Authorization: Bearer $asker" -d "answer_id=$a" \
            -d "body=Comment $j: and refuse lengths over the maximum." "$sw/webserv/comment"
    done
done
# The answer POSTs: $WRITERS writers (benchpost1..N, users with sessions
# made in SQL, their tokens known to us) answering 100 questions of their
# own, round robin, so that they do not queue on one question's row. Each
# post's limit check counts its author's posts of the last minute, up to the
# limit (services/src/ratelimit.rs): at the default limit that is at
# most 10 rows, but this run raises the limit, so the count is however many
# the author posted. 2,000 writers each post about once a second (~90 rows
# a count); 200 writers post ~12 a second each (~700 rows a count), which
# measures the raised limit more than the write (the note on issue 9 has
# both figures).
psql "$STACKWIRE_DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -v writers="$WRITERS" >/dev/null <<'SQL'
INSERT INTO users (username, password_hash)
    SELECT 'benchpost' || i, 'no-login' FROM generate_series(1, :writers) i
    WHERE NOT EXISTS (SELECT 1 FROM users WHERE lower(username) = 'benchpost' || i);
INSERT INTO sessions (token_hash, user_id)
    SELECT encode(sha256(md5('benchpost-' || username)::bytea), 'hex'), id FROM users
    WHERE username IN (SELECT 'benchpost' || i FROM generate_series(1, :writers) i) ON CONFLICT DO NOTHING;
SQL
post_tokens=$(psql "$STACKWIRE_DATABASE_URL" -X -q -tAc \
    "SELECT string_agg('\"' || md5('benchpost-' || username) || '\"', ',') FROM users
     WHERE username IN (SELECT 'benchpost' || i FROM generate_series(1, $WRITERS) i)")
post_questions=()
for i in $(seq 1 100); do
    post_questions+=("$(curl -fsS -H "Authorization: Bearer $asker" -d "title=Where the benchmark posts, $i" \
        -d 'body=Answers from wrk.' -d 'tags=bench' "$sw/webserv/question" | id_of)")
done
sw_log "stackwire thread: $sw/questions/$q; the seed stack's: $seed/questions/500"

cat >"$work/seed_post.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  local body = "title=Bench+question+" .. n .. "&body=Posted+by+wrk+" .. n .. "+" .. math.random(1000000000)
  return wrk.format("POST", "/questions", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
LUA
cat >"$work/sw_post.lua" <<LUA
local n = 0
local tokens = {$post_tokens}
local questions = {$(IFS=,; echo "${post_questions[*]}")}
request = function()
  n = n + 1
  local body = "question_id=" .. questions[n % #questions + 1] .. "&body=Answer+from+wrk+" .. n .. "+" ..
    math.random(1000000000)
  return wrk.format("POST", "/webserv/answer", {["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Bearer " .. tokens[n % #tokens + 1]}, body)
end
LUA

# --- the processes of each tier, for CPU and memory ---------------------------
pids_of() { # NAME-PREFIX: pid files of start_all.sh's processes, comma-joined
    local f out=()
    for f in "$SW_VAR"/run/"$1"-*.pid; do
        [[ -f $f ]] && out+=("$(cat "$f")")
    done
    (IFS=,; echo "${out[*]}")
}
# PostgreSQL: every node's postmaster with its backends (the standby's replay
# is part of a write's cost); a single node keeps its data in $SW_VAR/pg.
postmasters=$(for f in "$SW_VAR"/pg-[0-9]*/data/postmaster.pid "$SW_VAR"/pg/postmaster.pid; do
    if [[ -f $f ]]; then echo "$(head -1 "$f")+"; fi
done | paste -sd, -)
[[ -n $postmasters ]] || sw_die "no PostgreSQL postmaster.pid under $SW_VAR"
# The failover engine (Patroni and etcd), its own processes only.
failover=$(cat "$SW_VAR"/run/pg-[0-9]*.pid "$SW_VAR"/run/pg-etcd-*.pid 2>/dev/null | paste -sd, -)
redis=$(cat "$SW_VAR"/redis-*/redis.pid 2>/dev/null | paste -sd, -)
tiers=(balancer="$(pids_of balancer)" webui="$(pids_of webui)" question="$(pids_of question)"
    answer="$(pids_of answer)" comment="$(pids_of comment)" user="$(pids_of user)" vote="$(pids_of vote)"
    redis="$redis" postgres="$postmasters" failover="$failover" gunicorn="$seed_pid+")
sw_tiers=("${tiers[@]:0:8}")

# --- rows ---------------------------------------------------------------------
declare -A url opts
url["seed page"]=$seed/questions/500
url["page"]=$sw/questions/$q
url["json"]=$sw/webserv/question/$q
url["page, logged in"]=$sw/questions/$q
opts["page, logged in"]="-H|Cookie: sw_session=$asker"
url["home"]=$sw/
url["seed POST"]=$seed/questions
opts["seed POST"]="-s|$work/seed_post.lua"
url["answer POST"]=$sw/webserv/answer
opts["answer POST"]="-s|$work/sw_post.lua"
rows=("seed page" "page" "json" "page, logged in" "home" "seed POST" "answer POST")
[[ -n ${url[$PROFILE_ROW]:-} ]] || sw_die "PROFILE_ROW: no row named '$PROFILE_ROW' (one of: ${rows[*]})"
if [[ -n ${ONLY:-} ]]; then # a comma-separated subset, for a quick look at one change
    IFS=, read -ra rows <<<"$ONLY"
    for row in "${rows[@]}"; do [[ -n ${url[$row]:-} ]] || sw_die "ONLY: no row named '$row'"; done
fi

run_wrk() { # CONNS DURATION URL [OPTS]: wrk's output
    local extra=()
    [[ -n ${4:-} ]] && IFS='|' read -ra extra <<<"$4"
    wrk -t1 -c"$1" -d"$2" --latency "${extra[@]}" "$3"
}
results=$work/results
: >"$results"
# Warm-up, not measured: the first seconds of load on a freshly started
# stackwire open its pools' connections (PostgreSQL, RPC) and fill its caches,
# and a round 1 that paid for them read 23-31 ms at p99 where rounds 2 and 3
# read 4-6 ms (the cold start is real; it is not what the rows compare).
sw_log "warm-up: every row for $WARMUP, not measured"
for row in "${rows[@]}"; do
    run_wrk "$CONNS" "$WARMUP" "${url[$row]}" "${opts[$row]:-}" >/dev/null
done
for ((round = 1; round <= ROUNDS; round++)); do
    for row in "${rows[@]}"; do
        python3 "$tiers_py" snap "$work/before" "${tiers[@]}"
        run_wrk "$CONNS" "$DURATION" "${url[$row]}" "${opts[$row]:-}" >"$work/out"
        python3 "$tiers_py" snap "$work/after" "${tiers[@]}"
        requests=$(awk '/requests in/ {print $1}' "$work/out")
        cpu=$(python3 "$tiers_py" diff "$work/before" "$work/after" "$requests")
        python3 - "$row" "$round" "$cpu" "$work/out" >>"$results" <<'PY'
import json, re, sys
row, rnd, cpu = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
out = open(sys.argv[4]).read()
def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out)
errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
non2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", out) or [0, 0])[1])
print(json.dumps({"row": row, "round": rnd, "rps": rps, "p99": ms(*p99.groups()) if p99 else None,
                  "errors": errors, "non2xx": non2xx, "cpu": cpu}))
PY
        tail -1 "$results" | python3 -c 'import json, sys
r = json.load(sys.stdin)
print("  round %d  %-16s %9.0f req/s  p99 %s ms  errors %d  non-2xx %d" % (r["round"], r["row"], r["rps"], r["p99"], r["errors"], r["non2xx"]))'
    done
done

# --- overload -------------------------------------------------------------------
sw_log "overload: $OVERLOAD_CONNS connections on the page for $OVERLOAD_DURATION"
rss_before=$(python3 "$tiers_py" rss "${sw_tiers[@]}")
(while :; do python3 "$tiers_py" rss "${sw_tiers[@]}"; sleep 0.5; done) >"$work/rss" 2>/dev/null &
sampler=$!
run_wrk "$OVERLOAD_CONNS" "$OVERLOAD_DURATION" "${url[page]}" >"$work/overload"
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
rss_after=$(python3 "$tiers_py" rss "${sw_tiers[@]}")

if [[ ${PROFILE:-0} == 1 ]]; then
    sw_install_deps linux-perf
    # Only stackwire's processes (and PostgreSQL's backends), so that other
    # work on a shared machine does not fill the profile.
    prof=()
    for t in "${tiers[@]}"; do
        [[ $t == gunicorn=* ]] && continue
        IFS=, read -ra ps <<<"${t#*=}"
        for p in "${ps[@]}"; do
            [[ -n $p ]] || continue
            prof+=("${p%+}")
            if [[ $p == *+ ]]; then mapfile -t -O "${#prof[@]}" prof < <(pgrep -P "${p%+}" || true); fi
        done
    done
    sw_log "profile: perf record -g of stackwire's ${#prof[@]} processes during one more '$PROFILE_ROW' run"
    perf record -g -p "$(IFS=,; echo "${prof[*]}")" -o "$work/perf.data" -- sleep "${DURATION%s}" >/dev/null 2>&1 &
    perf_pid=$!
    run_wrk "$CONNS" "$DURATION" "${url[$PROFILE_ROW]}" "${opts[$PROFILE_ROW]:-}" >/dev/null
    wait "$perf_pid" || true
fi

# --- report -----------------------------------------------------------------------
echo
echo "wrk -t1 -c$CONNS -d$DURATION --latency, $ROUNDS interleaved rounds, medians"
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(name, key):
    vals = [r[key] for r in rows if r["row"] == name and r[key] is not None]
    return statistics.median(vals) if vals else 0
goals = {"page": 10, "json": 10, "page, logged in": 5, "home": 5, "answer POST": 2}
base = {"page": "seed page", "json": "seed page", "page, logged in": "seed page", "home": "seed page",
        "answer POST": "seed POST"}
print(f"{'row':18} {'req/s':>9} {'p99 ms':>8} {'errors':>7} {'ratio':>7} {'goal':>6}")
order = []
for r in rows:
    if r["row"] not in order:
        order.append(r["row"])
for name in order:
    rps, p99 = med(name, "rps"), med(name, "p99")
    errs = sum(r["errors"] + r["non2xx"] for r in rows if r["row"] == name)
    ratio = goal = ""
    if name in base and base[name] in order:
        ratio = f"{rps / max(1, med(base[name], 'rps')):.2f}x"
        goal = f">={goals[name]}x"
    print(f"{name:18} {rps:9.0f} {p99:8.2f} {errs:7d} {ratio:>7} {goal:>6}")
print("page p99 goal: <= 5 ms")
print()
print("CPU microseconds per request, by tier (median over rounds):")
tiers = sorted({t for r in rows for t in r["cpu"]})
print(f"{'row':18} " + " ".join(f"{t:>9}" for t in tiers) + f" {'total':>9}")
for name in order:
    per = {t: statistics.median([r["cpu"].get(t, 0) for r in rows if r["row"] == name]) for t in tiers}
    print(f"{name:18} " + " ".join(f"{per[t]:9.0f}" for t in tiers) + f" {sum(per.values()):9.0f}")
PY
echo
python3 - "$OVERLOAD_CONNS" "$OVERLOAD_DURATION" "$rss_before" "$rss_after" "$work/rss" "$work/overload" <<'PY'
import json, re, sys
conns, dur, before, after, samples = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5]
out = open(sys.argv[6]).read()
peak = max((json.loads(l)["total"] for l in open(samples) if l.strip()), default=0)
rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
p99 = re.search(r"\s99%\s+([\d.]+\w+)", out)
sock = re.search(r"Socket errors: (.*)", out)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
print(f"overload: wrk -t1 -c{conns} -d{dur} on the page: {float(rps):.0f} req/s, p99 {p99.group(1) if p99 else '?'}")
print(f"  socket errors: {sock.group(1) if sock else 'none'}; non-2xx: {non2xx.group(1) if non2xx else 0} (goal: 0 and 0)")
print(f"  stackwire RSS: {before['total'] // 1024} MiB before, peak {peak // 1024} MiB during, "
      f"{after['total'] // 1024} MiB after (by tier after: " +
      ", ".join(f"{k} {v // 1024}" for k, v in after.items() if k != "total") + " MiB)")
PY
if [[ ${PROFILE:-0} == 1 ]]; then
    echo
    echo "profile of one '$PROFILE_ROW' run (perf record -g of stackwire's processes): CPU by thread name"
    perf report -i "$work/perf.data" --no-children --sort comm -g none --percent-limit 1 --stdio 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -25
    echo "and by function (over 0.7%):"
    perf report -i "$work/perf.data" --no-children --sort comm,dso,sym -g none --percent-limit 0.7 --stdio \
        2>/dev/null | grep -v '^#' | grep -v '^$' | head -60
fi
