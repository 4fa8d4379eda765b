#!/usr/bin/env bash
# Short load test of a running stackwire (scripts/start_all.sh first): signs
# up a fresh user, makes one question with an answer and a comment through
# the balancer, then points wrk at the question's HTML page, its JSON and at
# comment POSTs (each authenticated by bearer token), and prints requests/s
# and latency for each. Answers are not the write benchmarked because they are
# limited to 10 a minute per user (a load of them would measure the 429 path).
# Traffic goes to 127.0.0.1 only and each run is bounded by SW_LOAD_DURATION.
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

token=""
# post PATH FORM-BODY [FIELD]: POST a form (with the bearer token once there
# is one), print FIELD (default "id") from the JSON reply.
post() {
    local reply auth=()
    [[ -n $token ]] && auth=(-H "Authorization: Bearer $token")
    reply=$(curl -sS --max-time 10 -w '\n%{http_code}' -X POST "${auth[@]}" -d "$2" "$base$1") ||
        sw_die "POST $1 failed"
    local code=${reply##*$'\n'} body=${reply%$'\n'*}
    [[ $code == 2?? ]] || sw_die "POST $1 returned HTTP $code: $body"
    python3 -c '
import json, sys
field = sys.argv[2]
def find(v):
    if isinstance(v, dict):
        if isinstance(v.get(field), (int, str)):
            return v[field]
        for x in v.values():
            r = find(x)
            if r is not None:
                return r
    return None
r = find(json.loads(sys.argv[1]))
if r is None:
    sys.exit("no " + field + " in reply: " + sys.argv[1])
print(r)
' "$body" "${3:-id}" || sw_die "POST $1: could not read ${3:-id} from: $body"
}

# A user of its own per run: at most 2 questions a minute per user.
user="load_$(date +%s)_$$"
post /webserv/user "username=$user&password=load-test-password" >/dev/null
token=$(post /webserv/user/login "username=$user&password=load-test-password" token)
qid=$(post /webserv/question 'title=Load+test&body=Hello&tags=load-test')
aid=$(post /webserv/answer "question_id=$qid&body=Load+test+answer")
cid=$(post /webserv/comment "answer_id=$aid&body=Load+test+comment")
sw_log "user $user, question $qid, answer $aid, comment $cid"
# The comment POSTs go to a question of their own, so that repeated runs keep
# measuring the same small page instead of one that grows by thousands of comments.
sink_q=$(post /webserv/question 'title=Load+test+comments&body=Comments+posted+by+wrk+land+here&tags=load-test')
sink=$(post /webserv/answer "question_id=$sink_q&body=Comments+posted+by+wrk+land+under+this+answer")

cat >"$tmp/post_comment.lua" <<LUA
wrk.method = "POST"
wrk.body = "answer_id=$sink&body=load+comment"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Bearer $token"
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
bench "comment POST" "$base/webserv/comment" -s "$tmp/post_comment.lua"
