# shellcheck shell=bash
# The chaos load (scripts/chaos_load.py) driven from a shell, and the clock
# its faults are timed by: sourced by scripts/chaos.sh and scripts/partition.sh
# (after scripts/lib.sh), never run. The caller sets `work` (a directory of
# its own: the load's records.jsonl and stop file) and `report` (the report
# file say appends to); the load's pid is kept in `load_pid`.
# shellcheck disable=SC2154 # work and report: the caller's, as said above

load_pid=""

say() { printf '%s\n' "$*" | tee -a "$report"; }
now() { date +%s.%N; }
# ms_since T0: the milliseconds since T0 (a time from now).
ms_since() { python3 -c "import sys,time; print(int((time.time()-float(sys.argv[1]))*1000))" "$1"; }
# sleep_rest S T0: sleeps what is left of S seconds since T0 (none if they have passed).
sleep_rest() {
    sleep "$(python3 -c "import sys,time; print(max(0.0, float(sys.argv[1]) - (time.time() - float(sys.argv[2]))))" "$1" "$2")"
}

# load_start ARGS...: `chaos_load.py run ARGS` in the background, recording
# every request in $work/records.jsonl until load_stop.
load_start() {
    python3 scripts/chaos_load.py run --out "$work/records.jsonl" --stop "$work/stop" "$@" &
    load_pid=$!
}

# load_stop: the load told to stop, and its end awaited (at once if none runs).
load_stop() {
    touch "$work/stop"
    if [[ -n $load_pid ]]; then wait "$load_pid" 2>/dev/null || true; fi
    load_pid=""
}

# load_report QID ARGS...: `chaos_load.py report ARGS` over the records and
# question QID's answers in $STACKWIRE_DATABASE_URL; fails when the run did.
load_report() {
    python3 scripts/chaos_load.py report --out "$work/records.jsonl" --question "$1" \
        --database-url "$STACKWIRE_DATABASE_URL" "${@:2}"
}

# pg_write TABLE: one write through the multi-host URL, as the services connect.
pg_write() {
    PGCONNECT_TIMEOUT=1 psql -X -q "$STACKWIRE_DATABASE_URL" \
        -c "CREATE TABLE IF NOT EXISTS $1 (at timestamptz); INSERT INTO $1 VALUES (now())"
}
