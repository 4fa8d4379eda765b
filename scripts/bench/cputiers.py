#!/usr/bin/env python3
"""CPU time by tier, from /proc, for scripts/bench_page.sh.

  cputiers.py snap OUT TIER=PID[,PID...] ...   record utime+stime now
  cputiers.py diff BEFORE AFTER REQUESTS       CPU microseconds per request, by tier
  cputiers.py rss TIER=PID[,PID...] ...        resident memory (KiB) by tier, and in all

A PID written with a trailing '+' also counts its live children and what its
children that already exited spent (cutime/cstime of the parent): that is
how PostgreSQL backends and gunicorn workers are counted through their
postmaster and master. Times are the kernel's (user + system), so they
include every thread of a process.
"""

import json
import os
import sys

TICK = os.sysconf("SC_CLK_TCK")


def stat(pid):
    """(utime + stime, cutime + cstime, ppid) in ticks, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17, ppid 4.
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]), int(fields[1])


def children(parent):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            s = stat(int(d))
            if s and s[2] == parent:
                out.append(int(d))
    return out


def ticks(spec):
    total = 0
    for p in spec.split(","):
        if not p:
            continue
        deep = p.endswith("+")
        pid = int(p.rstrip("+"))
        s = stat(pid)
        if s is None:
            continue
        total += s[0]
        if deep:
            total += s[1]
            for c in children(pid):
                cs = stat(c)
                if cs:
                    total += cs[0] + cs[1]
    return total


def rss_kib(spec):
    total = 0
    for p in spec.split(","):
        pids = [int(p.rstrip("+"))]
        if p.endswith("+"):
            pids += children(pids[0])
        for pid in pids:
            try:
                with open(f"/proc/{pid}/status") as f:
                    total += next((int(l.split()[1]) for l in f if l.startswith("VmRSS:")), 0)
            except OSError:
                pass
    return total


def main(argv):
    if len(argv) >= 3 and argv[1] == "snap":
        tiers = dict(a.split("=", 1) for a in argv[3:])
        with open(argv[2], "w") as f:
            json.dump({t: ticks(p) for t, p in tiers.items()}, f)
    elif len(argv) == 5 and argv[1] == "diff":
        with open(argv[2]) as f:
            before = json.load(f)
        with open(argv[3]) as f:
            after = json.load(f)
        requests = max(1, int(float(argv[4])))
        per = {t: (after[t] - before.get(t, 0)) * 1e6 / TICK / requests for t in after}
        print(json.dumps({t: round(v) for t, v in per.items()}))
    elif len(argv) >= 2 and argv[1] == "rss":
        tiers = dict(a.split("=", 1) for a in argv[2:])
        per = {t: rss_kib(p) for t, p in tiers.items()}
        per["total"] = sum(per.values())
        print(json.dumps(per))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
