#!/usr/bin/env python3
"""Load client and report for scripts/chaos.sh (standard library only).

run:    steady load against the balancers' shared port until a stop file
        appears (or --until, or --max-requests per thread): GET threads cycle through pages; POST threads post answers,
        each with its own Idempotency-Key, repeating a failed one with the same
        key until it gets a 2xx or a final 4xx. Every attempt is one line of
        JSON in --out (start/end time, method, path or key, status or error).
out:    waits until no balancer lists an instance as available (polling
        every 20 ms); prints the milliseconds since --since.
served: waits until a log has more worker `start` lines than --lines;
        prints the milliseconds since --since.
rotation: waits until every instance on a host is out of (or back in) rotation
        on every balancer; prints the milliseconds since --since.
p99:    the 99th percentile of the GETs that started in a window.
report: reads those lines, the balancer kill times, the freezes and the
        answers stored in PostgreSQL, prints the figures and exits 1 if a GET
        failed (other than those open on a killed balancer), an acknowledged
        answer is missing or stored twice, or a freeze window missed its goal:
        0 failed GETs (a GET slower than the visitor's 3 s counts as failed)
        and p99 <= 1 s over the GETs started between the SIGSTOP and 1 s after
        the SIGCONT. With --app-cuts, GETs in flight when an app host was cut
        off are listed apart; --lenient reports them and 5xx replies without
        Retry-After without failing on them.
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse


def request(host, port, method, path, headers=None, body=b"", timeout=10.0):
    """One request on a fresh connection: (status, body) or (None, error kind)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        try:
            conn.connect()
        except OSError as e:
            return None, f"refused: {e}"
        h = {"Connection": "close", "Content-Length": str(len(body))}
        h.update(headers or {})
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            data = resp.read()
            if resp.status == 503 and resp.getheader("Retry-After"):
                return resp.status, "retry-after " + data.decode("utf-8", "replace")
            return resp.status, data.decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as e:
            return None, f"broken: {type(e).__name__}: {e}"
    finally:
        conn.close()


class Recorder:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)
        self.lock = threading.Lock()

    def write(self, rec):
        with self.lock:
            self.f.write(json.dumps(rec) + "\n")


def running(args, stop, n):
    """The loops stop at the stop file, at --until (epoch seconds) and after --max-requests each."""
    return not os.path.exists(stop) and time.time() < args.until and n < args.max_requests


def get_loop(args, rec, stop, pages):
    i = 0
    while running(args, stop, i):
        path = pages[i % len(pages)]
        i += 1
        t0 = time.time()
        status, info = request(args.host, args.port, "GET", path)
        rec.write({"m": "GET", "p": path, "t0": t0, "t1": time.time(), "s": status,
                   "e": None if status else info})
        time.sleep(args.get_pause)


def post_loop(args, rec, stop, tokens, tag):
    n = 0
    while running(args, stop, n):
        n += 1
        key = f"chaos-{args.run}-{tag}-{n}"
        body = urllib.parse.urlencode({"question_id": args.question, "body": f"answer {key}"}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": key}
        if tokens:
            headers["Authorization"] = f"Bearer {tokens[n % len(tokens)]}"
        for attempt in range(60):
            t0 = time.time()
            status, info = request(args.host, args.port, "POST", "/webserv/answer", headers, body)
            r = {"m": "POST", "k": key, "a": attempt, "t0": t0, "t1": time.time(), "s": status,
                 "e": None if status else info,
                 "ra": status == 503 and info.startswith("retry-after")}
            if status and 200 <= status < 300:
                try:
                    r["id"] = json.loads(info).get("id")
                except ValueError:
                    pass
                r["created"] = True
            rec.write(r)
            # 429 (rate limit) and 409 (the same key still in flight) are retried.
            if status and (200 <= status < 300 or (400 <= status < 500 and status not in (409, 429))):
                break
            time.sleep(0.2)
        time.sleep(args.post_pause)


def run(args):
    tokens = []
    if args.tokens and os.path.exists(args.tokens):
        tokens = [t.strip() for t in open(args.tokens) if t.strip()]
    pages = [f"/webserv/question/{args.question}", f"/questions/{args.question}",
             "/webserv/question?page=1", "/"] + (args.page or [])
    rec = Recorder(args.out)
    threads = [threading.Thread(target=get_loop, args=(args, rec, args.stop, pages)) for _ in range(args.gets)]
    threads += [threading.Thread(target=post_loop, args=(args, rec, args.stop, tokens, f"p{i}"))
                for i in range(args.posts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def until(args, done, pause):
    """Polls done() every `pause` s until it holds (prints the ms since
    --since, returns 0) or --timeout passes (returns 1)."""
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        if done():
            print(int((time.time() - args.since) * 1000))
            return 0
        time.sleep(pause)
    return 1


def instances(balancers):
    """Each balancer's instances (its /status/json), one list per balancer;
    None when one of them did not answer."""
    views = []
    for b in balancers.split(","):
        host, port = b.rsplit(":", 1)
        status, body = request(host, int(port), "GET", "/status/json", timeout=2)
        if status != 200:
            return None
        doc = json.loads(body)
        views.append([i for s in doc.get("services", []) for i in s.get("instances", [])])
    return views


def wait_out(args):
    """Waits until no balancer lists --addr as available."""
    def out():
        views = instances(args.balancers)
        return views is not None and not any(
            i.get("addr") == args.addr and i.get("available") for view in views for i in view)
    return until(args, out, 0.02)


def wait_rotation(args):
    """Waits until every instance on --host is out of rotation (--want out) or
    takes traffic again (--want in) on every balancer: available and not
    marked slow (/status/json); prints the ms since --since."""
    def done():
        views = instances(args.balancers)
        if views is None:
            return False
        for view in views:
            mine = [i for i in view if i.get("addr", "").startswith(args.host + ":")]
            # Taking traffic: available, and not put last for being slow.
            takes = [i.get("available") and not i.get("slow") for i in mine]
            if args.want == "out" and any(takes):
                return False
            if args.want == "in" and not (len(mine) >= args.count and all(takes)):
                return False
        return True
    return until(args, done, 0.05)


def p99(args):
    """p99 (and count) of the successful GETs that started in [--from, --to)."""
    recs = [json.loads(line) for line in open(args.out) if line.strip()]
    lat = sorted(r["t1"] - r["t0"] for r in recs
                 if r["m"] == "GET" and r["s"] and args.start <= r["t0"] < args.end)
    if not lat:
        print("0 0")
        return 1
    print(f"{int(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000)} {len(lat)}")
    return 0


def worker_starts(path):
    try:
        with open(path, errors="replace") as f:
            return sum(1 for line in f if "::Worker " in line and " start " in line)
    except OSError:
        return 0


def wait_served(args):
    return until(args, lambda: worker_starts(args.log) > args.lines, 0.02)


def quantile(xs, q):
    xs = sorted(xs)
    if not xs:
        return 0.0
    return xs[max(1, min(len(xs), int(-(-len(xs) * q // 1)))) - 1]


def freeze_rows(gets, path):
    """One line per freeze in `path` (NAME T_STOP T_CONT), and whether all met the goal."""
    ok = True
    rows = []
    if not path or not os.path.exists(path):
        return rows, ok
    for line in open(path):
        parts = line.split()
        if len(parts) != 3:
            continue
        name, t_stop, t_cont = parts[0], float(parts[1]), float(parts[2])
        during = [r for r in gets if t_stop <= r["t0"] <= t_cont + 1.0]
        lat = [r["t1"] - r["t0"] for r in during]
        failed = [r for r in during if not (r["s"] and 200 <= r["s"] < 400) or r["t1"] - r["t0"] > PATIENCE]
        p50, p99 = quantile(lat, 0.5), quantile(lat, 0.99)
        good = not failed and p99 <= 1.0 and len(during) > 0
        ok = ok and good
        rows.append(f"SIGSTOP {name} for {t_cont - t_stop:.0f} s: {len(during)} GETs, {len(failed)} failed "
                    f"(or slower than {PATIENCE:.0f} s), p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
                    f"max {max(lat, default=0) * 1000:.0f} ms" + ("" if good else "  <- goal: 0 failed, p99 <= 1 s"))
    return rows, ok


# A visitor's patience: a GET slower than this failed, whatever it returned.
PATIENCE = 3.0


def stored_answers(url, question):
    """Rows per answer body of a question, read with psql (so the client needs no driver)."""
    sql = f"SELECT body, count(*) FROM answers WHERE question_id = {int(question)} GROUP BY body"
    out = subprocess.run(["psql", "-X", "-At", url, "-c", sql], check=True, capture_output=True, text=True).stdout
    stored = {}
    for line in out.splitlines():
        if "|" in line:
            body, count = line.rsplit("|", 1)
            stored[body] = int(count)
    return stored


def report(args):
    recs = [json.loads(line) for line in open(args.out) if line.strip()]
    # A kill is a moment (EPOCH) or, for a cut that takes a while, a window (FROM:TO).
    kills = [(float(w.split(":")[0]), float(w.split(":")[-1])) for w in args.balancer_kills.split(",") if w]
    gets = [r for r in recs if r["m"] == "GET"]
    bad = [r for r in gets if not (r["s"] and 200 <= r["s"] < 400)]
    on_killed = [r for r in bad if r["e"] and r["e"].startswith("broken")
                 and any(r["t0"] <= b and a <= r["t1"] for a, b in kills)]
    # A frozen balancer's kernel still accepts connections for it: GETs open
    # when it froze or sent before the address left it are counted apart.
    edge_freezes = [tuple(float(t) for t in w.split(":")) for w in args.edge_freezes.split(",") if w]
    on_frozen = [r for r in bad if r not in on_killed
                 and any(r["t0"] <= a <= r["t1"] or a <= r["t0"] <= b for a, b in edge_freezes)]
    cuts = [float(x) for x in args.app_cuts.split(",") if x]
    on_cut = [r for r in bad if r not in on_killed and r not in on_frozen and any(r["t0"] <= c <= r["t1"] for c in cuts)]
    failed = [r for r in bad if r not in on_killed and r not in on_frozen and r not in on_cut]
    created = {r["k"] for r in recs if r.get("created")}
    post_errors = sum(1 for r in recs if r["m"] == "POST" and not (r["s"] and 200 <= r["s"] < 300))
    stored = stored_answers(args.database_url, args.question)
    missing = sorted(k for k in created if f"answer {k}" not in stored)
    doubled = sorted(b for b, c in stored.items() if c > 1)
    posts = [r for r in recs if r["m"] == "POST"]
    p503 = [r for r in posts if r["s"] == 503 and r.get("ra")]
    p5xx = [r for r in posts if r["s"] and r["s"] >= 500 and not (r["s"] == 503 and r.get("ra"))]
    print(f"GETs:  {len(gets)} sent, {len(failed)} failed, {len(on_killed)} open on the killed balancer")
    if edge_freezes:
        print(f"       {len(on_frozen)} open on a frozen balancer or sent to it before the address moved away")
    if cuts:
        print(f"       {len(on_cut)} in flight when an app host was cut off (the balancer did not answer them"
              f" from the other host in time){'' if args.lenient else ': failures'}")
    for r in (failed + on_cut)[:10]:
        at = time.strftime("%H:%M:%S", time.localtime(r["t0"])) + f".{int(r['t0'] * 1000) % 1000:03d}"
        print(f"       failed: {r['p']} at {at} -> {r['s'] or r['e']}")
    print(f"POSTs: {len(created)} answers acknowledged ({post_errors} failed attempts, each retried with its key); "
          f"{sum(stored.values())} rows stored; {len(missing)} lost; {len(doubled)} duplicated")
    print(f"       {len(p503)} answered 503 with Retry-After (during failovers), {len(p5xx)} other 5xx"
          f" ({'reported, not asserted: --lenient' if args.lenient else 'must be 0'})")
    for r in p5xx[:5]:
        at = time.strftime("%H:%M:%S", time.localtime(r["t0"]))
        print(f"       5xx: {r['k']} at {at} -> {r['s']}")
    rows, frozen_ok = freeze_rows(gets, args.freezes)
    for row in rows:
        print(row)
    strict_ok = args.lenient or (not on_cut and not p5xx)
    ok = not failed and not missing and not doubled and strict_ok and len(gets) > 0 and len(created) > 0 and frozen_ok
    print("RESULT: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--host", default="127.0.0.1")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--question", type=int, required=True)
    r.add_argument("--tokens")
    r.add_argument("--out", required=True)
    r.add_argument("--stop", required=True, help="the load stops when this file exists")
    r.add_argument("--run", default=str(int(time.time())), help="makes idempotency keys unique to this run")
    r.add_argument("--gets", type=int, default=4)
    r.add_argument("--posts", type=int, default=2)
    r.add_argument("--get-pause", type=float, default=0.02)
    r.add_argument("--post-pause", type=float, default=0.5)
    r.add_argument("--page", action="append", help="one more path for the GET threads (repeatable)")
    r.add_argument("--until", type=float, default=time.time() + 3600, help="epoch seconds: stop then (1 h)")
    r.add_argument("--max-requests", type=int, default=1_000_000, help="per thread")
    t = sub.add_parser("rotation")
    t.add_argument("--host", required=True, help="every instance on this address")
    t.add_argument("--want", choices=["out", "in"], required=True)
    t.add_argument("--count", type=int, default=1, help="with --want in: at least this many instances")
    t.add_argument("--balancers", required=True)
    t.add_argument("--since", type=float, required=True)
    t.add_argument("--timeout", type=float, default=60)
    n = sub.add_parser("p99")
    n.add_argument("--out", required=True)
    n.add_argument("--from", dest="start", type=float, required=True)
    n.add_argument("--to", dest="end", type=float, required=True)
    o = sub.add_parser("out")
    o.add_argument("--addr", required=True)
    o.add_argument("--balancers", required=True, help="host:port of each balancer's admin listener (where /status/json is), comma-separated")
    o.add_argument("--since", type=float, required=True)
    o.add_argument("--timeout", type=float, default=15)
    w = sub.add_parser("served")
    w.add_argument("--log", required=True)
    w.add_argument("--lines", type=int, required=True)
    w.add_argument("--since", type=float, required=True)
    w.add_argument("--timeout", type=float, default=30)
    c = sub.add_parser("count")
    c.add_argument("--log", required=True)
    q = sub.add_parser("report")
    q.add_argument("--out", required=True)
    q.add_argument("--question", type=int, required=True, help="the question the load answered")
    q.add_argument("--database-url", required=True, help="where its answers are stored (read with psql)")
    q.add_argument("--balancer-kills", default="", help="epoch seconds of balancer kills (or FROM:TO windows of an edge cut), comma-separated")
    q.add_argument("--freezes", help="one line per freeze: NAME SIGSTOP_EPOCH SIGCONT_EPOCH")
    q.add_argument("--edge-freezes", default="",
                   help="FROZE:MOVED epoch pairs: a balancer frozen, the address gone from it; comma-separated")
    q.add_argument("--app-cuts", default="", help="epoch seconds an app host was cut off, comma-separated")
    q.add_argument("--lenient", action="store_true",
                   help="report, without failing on them, GETs in flight on a cut app host and 5xx without Retry-After")
    args = p.parse_args()
    if args.cmd == "run":
        run(args)
        return 0
    if args.cmd == "out":
        return wait_out(args)
    if args.cmd == "served":
        return wait_served(args)
    if args.cmd == "rotation":
        return wait_rotation(args)
    if args.cmd == "p99":
        return p99(args)
    if args.cmd == "count":
        print(worker_starts(args.log))
        return 0
    return report(args)


if __name__ == "__main__":
    sys.exit(main())
