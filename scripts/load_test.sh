#!/usr/bin/env bash
# Short load test of a running stackwire (scripts/start_all.sh first): makes
# one question with an answer and a comment through the balancer, then points
# wrk at the question's HTML page, its JSON and at answer POSTs, and prints
# requests/s and latency for each. Traffic goes to 127.0.0.1 only and each
# run is bounded by SW_LOAD_DURATION.
#
# Settings (environment): SW_HTTP_PORT (8080), SW_LOAD_DURATION (10s),
# SW_LOAD_CONNECTIONS (50), SW_LOAD_THREADS (1).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

base="http://127.0.0.1:${SW_HTTP_PORT:-8080}"
duration=${SW_LOAD_DURATION:-10s}
conns=${SW_LOAD_CONNECTIONS:-50}
threads=${SW_LOAD_THREADS:-1}

sw_need_cmds wrk curl python3

curl -fsS --max-time 5 "$base/webserv/services" >/dev/null 2>&1 ||
    sw_die "no balancer answering at $base (start it with scripts/start_all.sh)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# post PATH FORM-BODY: POST a form, print the "id" from the JSON reply.
post() {
    local reply
    reply=$(curl -sS --max-time 10 -w '\n%{http_code}' -X POST -d "$2" "$base$1") ||
        sw_die "POST $1 failed"
    local code=${reply##*$'\n'} body=${reply%$'\n'*}
    [[ $code == 2?? ]] || sw_die "POST $1 returned HTTP $code: $body"
    python3 -c '
import json, sys
def find(v):
    if isinstance(v, dict):
        if isinstance(v.get("id"), int):
            return v["id"]
        for x in v.values():
            r = find(x)
            if r is not None:
                return r
    return None
r = find(json.loads(sys.argv[1]))
if r is None:
    sys.exit("no id in reply: " + sys.argv[1])
print(r)
' "$body" || sw_die "POST $1: could not read an id from: $body"
}

qid=$(post /webserv/question 'title=Load+test&body=Hello')
aid=$(post /webserv/answer "question_id=$qid&body=Load+test+answer")
cid=$(post /webserv/comment "answer_id=$aid&body=Load+test+comment")
sw_log "question $qid, answer $aid, comment $cid"
# The answer POSTs go to a question of their own, so that repeated runs keep
# measuring the same small page instead of one that grows by thousands of answers.
sink=$(post /webserv/question 'title=Load+test+answers&body=Answers+posted+by+wrk+land+here')

cat >"$tmp/post_answer.lua" <<LUA
wrk.method = "POST"
wrk.body = "question_id=$sink&body=load+answer"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA

# bench TITLE URL [wrk args...]: run wrk, print the summary lines.
bench() {
    local title=$1 url=$2 out="$tmp/wrk.out"
    shift 2
    echo
    echo "== $title: $url (wrk -t$threads -c$conns -d$duration)"
    if ! wrk -t"$threads" -c"$conns" -d"$duration" --latency "$@" "$url" >"$out" 2>&1; then
        cat "$out"
        sw_die "wrk failed for $url"
    fi
    grep -E 'Thread Stats|Requests/sec|Transfer/sec|^ +Latency|^ +(50|75|90|99)%|requests in|Non-2xx|Socket errors' "$out" || cat "$out"
}

bench "question page (HTML)" "$base/questions/$qid"
bench "question JSON" "$base/webserv/question/$qid"
bench "answer POST" "$base/webserv/answer" -s "$tmp/post_answer.lua"
