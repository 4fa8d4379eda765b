# shellcheck shell=bash
# Application processes for the stackwire scripts: sourced by scripts/lib.sh
# (never run).
#
# Every process a script starts is recorded under $SW_VAR/run/ by name:
#   NAME.pid    its pid            NAME.start  its start time (tells a recycled pid apart)
#   NAME.cmd    where stdout and stderr go, then the command line (NUL-separated)
#   NAME.env    the exact environment it was given (NUL-separated, mode 600:
#               it holds the database and Redis passwords)
# so that rolling_restart.sh, chaos.sh or an operator can start it again,
# from any shell (`env -i` included), exactly as it was started, and can
# start one that is down. `sw_stop_proc` keeps NAME.cmd and NAME.env: a
# stopped instance is still part of the system and the next start_all.sh or
# rolling_restart.sh brings it back. Only `sw_forget_proc` removes it.
#
#   sw_start_proc NAME OUT ERR CMD...   start CMD unless NAME runs; record it
#   sw_restart_proc NAME                start NAME again from its record
#   sw_stop_proc NAME [quiet]           TERM, wait, KILL after SW_STOP_TIMEOUT
#   sw_stop_group NAME...               TERM them all, then wait for (or KILL) each
#   sw_proc_pid NAME                    pid if running
#   sw_proc_names                       every recorded name
#   sw_proc_arg NAME FLAG               value after FLAG in NAME's command line
#   sw_forget_proc NAME                 drop the record
#   sw_on HOST                          _sw_on=(prefix that runs a program on HOST)
#   sw_start_rpc_instance TIER I HOST BIN LOG   a service or webui instance
#   sw_start_balancer I HOST SHARED BIN LOG     balancer I (1, 2, ...)
#   sw_await_registered URL SECS NAME...        every NAME alive and in the catalog

# A zombie counts as gone (here the parent, often pid 1, may not reap it),
# but only once it is the last of its threads: a leader that returned from
# main shows Z while its other threads are still being torn down, and they
# hold its sockets until the last one ends (rolling_restart.sh's replacement
# then failed to bind the port the old one was still closing).
_sw_pid_gone() {
    ! kill -0 "$1" 2>/dev/null && return 0
    [[ $(_sw_pid_state "$1") == Z ]] || return 1
    local tasks=("/proc/$1/task"/*)
    ((${#tasks[@]} <= 1))
}

# Start time of a process (clock ticks since boot, /proc/PID/stat field 22);
# it survives exec, so it tells a recycled pid from the one we started.
_sw_pid_starttime() {
    local stat fields
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    # Fields after "(comm) " start at field 3, so field 22 is index 19 here.
    read -ra fields <<<"${stat##*) }"
    printf '%s\n' "${fields[19]}"
}

# sw_proc_pid NAME: pid of the live process recorded in $SW_VAR/run/NAME.pid.
# A recycled pid is ignored: its start time must match NAME.start.
sw_proc_pid() {
    local name=$1 pid
    pid=$(_sw_live_pid "$SW_VAR/run/$name.pid") || return 1
    if [[ -s $SW_VAR/run/$name.start ]]; then
        [[ $(_sw_pid_starttime "$pid") == "$(cat "$SW_VAR/run/$name.start")" ]] || return 1
    fi
    printf '%s\n' "$pid"
}

# _sw_bare CMD...: execs CMD with none of our descriptors but 0, 1 and 2
# (run it in a subshell or in the background). A daemon must not keep what
# its starter holds open: `flock LOCK scripts/start_all.sh` left LOCK locked
# for as long as the services ran, since each had inherited its descriptor.
_sw_bare() {
    local fd
    for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec "$@"
}

# _sw_spawn NAME OUT ERR CMD...: nohup CMD in its own session with the
# current environment; records pid and start time in _sw_pid.
_sw_spawn() {
    local name=$1 out=$2 err=$3 pid
    shift 3
    [[ -x $1 ]] || sw_die "$1 not found or not executable"
    # setsid: a Ctrl-C in the calling terminal must not reach the service.
    # Started from a subshell (no job control there, so setsid does not fork
    # and $! is the service itself: _sw_bare execs); the service is then
    # adopted by init.
    pid=$(_sw_bare setsid nohup "$@" </dev/null >>"$out" 2>>"$err" & echo "$!")
    echo "$pid" >"$SW_VAR/run/$name.pid"
    _sw_pid_starttime "$pid" >"$SW_VAR/run/$name.start" || true
    _sw_pid=$pid
}

# sw_start_proc NAME STDOUT STDERR CMD...
# Starts CMD unless NAME is already running, and records its command line
# and environment for sw_restart_proc.
sw_start_proc() {
    local name=$1 out=$2 err=$3 pid
    if pid=$(sw_proc_pid "$name"); then
        sw_log "$name already running (pid $pid)"
        return 0
    fi
    (
        umask 077
        printf '%s\0' "$out" "$err" "${@:4}" >"$SW_VAR/run/$name.cmd"
        env -0 >"$SW_VAR/run/$name.env"
    )
    _sw_spawn "$@"
    sw_log "started $name (pid $_sw_pid): ${*:4}"
}

# _sw_proc_record NAME: fills the arrays _sw_cmd (out, err, argv...) and
# _sw_env (KEY=VALUE...) from NAME's record; fails without one.
_sw_proc_record() {
    local name=$1
    [[ -s $SW_VAR/run/$name.cmd && -f $SW_VAR/run/$name.env ]] || return 1
    mapfile -d '' _sw_cmd <"$SW_VAR/run/$name.cmd"
    mapfile -d '' _sw_env <"$SW_VAR/run/$name.env"
    ((${#_sw_cmd[@]} >= 3))
}

# sw_restart_proc NAME: starts NAME (if it is not running) with exactly the
# command line and environment it was first started with.
sw_restart_proc() {
    local name=$1 pid
    if pid=$(sw_proc_pid "$name"); then
        sw_log "$name already running (pid $pid)"
        return 0
    fi
    _sw_proc_record "$name" || sw_die "$name: no record of how it was started ($SW_VAR/run/$name.cmd)"
    # env -i: nothing of the calling shell leaks in, nothing of the original is missing.
    _sw_spawn "$name" "${_sw_cmd[0]}" "${_sw_cmd[1]}" "$(command -v env)" -i "${_sw_env[@]}" "${_sw_cmd[@]:2}"
    # Not the environment: it holds passwords.
    sw_log "started $name (pid $_sw_pid) as recorded: ${_sw_cmd[*]:2}"
}

# sw_proc_names: every recorded process name, sorted.
sw_proc_names() {
    local f
    for f in "$SW_VAR"/run/*.cmd; do
        [[ -f $f ]] && basename "$f" .cmd
    done | sort -V
}

# sw_proc_arg NAME FLAG: the value following FLAG in NAME's recorded command line.
sw_proc_arg() {
    local name=$1 flag=$2 prev="" a
    _sw_proc_record "$name" || return 1
    for a in "${_sw_cmd[@]:2}"; do
        if [[ $prev == "$flag" ]]; then
            printf '%s\n' "$a"
            return 0
        fi
        prev=$a
    done
    return 1
}

# sw_stop_proc NAME [quiet]: TERM, wait up to SW_STOP_TIMEOUT (10 s), then KILL.
sw_stop_proc() {
    local name=$1 pid
    if pid=$(sw_proc_pid "$name"); then
        [[ ${2:-} == quiet ]] || sw_log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        if ! sw_wait_for -q -t "${SW_STOP_TIMEOUT:-10}" _sw_pid_gone "$pid"; then
            sw_log "$name (pid $pid) ignored TERM for ${SW_STOP_TIMEOUT:-10}s: killing it"
            kill -KILL "$pid" 2>/dev/null || true
            sw_wait_for -t 5 _sw_pid_gone "$pid" || true
        fi
    fi
    rm -f "$SW_VAR/run/$name.pid" "$SW_VAR/run/$name.start"
}

# sw_stop_group NAME...: TERM all of them at once, then wait for (or KILL) each.
sw_stop_group() {
    local name pid
    for name in "$@"; do
        if pid=$(sw_proc_pid "$name"); then
            sw_log "stopping $name (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    for name in "$@"; do
        sw_stop_proc "$name" quiet
    done
}

# sw_forget_proc NAME: removes NAME's record (it is no longer part of the system).
sw_forget_proc() {
    rm -f "$SW_VAR/run/$1".{pid,start,cmd,env}
}

# Hosts that are network namespaces on this machine (scripts/cluster.sh):
# SW_HOST_NETNS lists "ADDRESS=NAMESPACE ..."; a program for ADDRESS runs
# inside NAMESPACE (`ip netns exec` execs it, so the recorded pid is the
# program's own). Elsewhere, and for an address not listed, _sw_on is empty.
sw_on() {
    local pair
    _sw_on=()
    for pair in ${SW_HOST_NETNS:-}; do
        if [[ ${pair%%=*} == "$1" ]]; then
            _sw_on=("$(command -v ip)" netns exec "${pair#*=}")
            return 0
        fi
    done
}

# The tiers and their index in the port plan: instance I of tier T listens on
# SW_SERVICE_PORT_BASE + index * SW_SERVICE_PORT_STRIDE + I (7101, 7201, ...)
# and serves /metrics on that port + SW_RPC_ADMIN_OFFSET.
sw_tier_index() {
    case $1 in
    question) echo 1 ;; answer) echo 2 ;; comment) echo 3 ;; webui) echo 4 ;; user) echo 5 ;; vote) echo 6 ;;
    *) sw_die "unknown tier $1" ;;
    esac
}

# sw_start_rpc_instance TIER I HOST BIN_DIR LOG_DIR: TIER-I on HOST.
sw_start_rpc_instance() {
    local tier=$1 i=$2 host=$3 bin=$4 log=$5 port cmd
    port=$((${SW_SERVICE_PORT_BASE:-7000} + $(sw_tier_index "$tier") * ${SW_SERVICE_PORT_STRIDE:-100} + i))
    if [[ $tier == webui ]]; then cmd=("$bin/webui"); else cmd=("$bin/service" --service "$tier"); fi
    sw_on "$host"
    sw_start_proc "$tier-$i" /dev/null "$log/$tier-$i.log" "${_sw_on[@]}" "${cmd[@]}" \
        --listen "$host:$port" --admin "$host:$((port + ${SW_RPC_ADMIN_OFFSET:-1000}))"
}

# sw_start_balancer I HOST SHARED_HOST BIN_DIR LOG_DIR: balancer I on HOST:
# its own port (word I of SW_BALANCER_PORTS), the shared SHARED_HOST:SW_HTTP_PORT,
# admin on SW_ADMIN_PORT + I - 1.
sw_start_balancer() {
    local i=$1 host=$2 shared=$3 bin=$4 log=$5
    sw_balancer_ports "$i"
    sw_on "$host"
    sw_start_proc "balancer-$i" "$log/balancer-$i.access.log" "$log/balancer-$i.log" "${_sw_on[@]}" "$bin/balancer" \
        --listen "$host:$_sw_bal_port" --shared-listen "$shared:${SW_HTTP_PORT:-8080}" --admin "$host:$_sw_bal_admin"
}

# sw_balancer_ports I: _sw_bal_port (word I of SW_BALANCER_PORTS) and
# _sw_bal_admin (SW_ADMIN_PORT + I - 1) of balancer I.
sw_balancer_ports() {
    local ports
    read -ra ports <<<"${SW_BALANCER_PORTS:-8081 8082}"
    _sw_bal_port=${ports[$1 - 1]}
    _sw_bal_admin=$((${SW_ADMIN_PORT:-9090} + $1 - 1))
}

# _sw_all_registered URL NAME...: every NAME is alive (else exit 2, naming it
# in _sw_dead) and the catalog at URL lists as many instances of each tier as
# NAME has (question-1 question-2: two Question instances).
_sw_all_registered() {
    local url=$1 name
    shift
    for name in "$@"; do
        if ! sw_proc_pid "$name" >/dev/null; then
            _sw_dead=$name
            return 2
        fi
    done
    curl -fsS --max-time 2 "$url" 2>/dev/null | python3 -c '
import collections, json, sys
names = {"question": "Question", "answer": "Answer", "comment": "Comment", "webui": "WebUI",
         "user": "User", "vote": "Vote", "balancer": "Balancer"}
want = collections.Counter(names[n.rsplit("-", 1)[0]] for n in sys.argv[1:] if n.rsplit("-", 1)[0] in names)
try:
    services = json.load(sys.stdin)["services"]
except Exception:
    sys.exit(1)
have = {s.get("name"): len(s.get("instances") or []) for s in services}
sys.exit(0 if all(have.get(k, 0) >= n for k, n in want.items()) else 1)
' "$@"
}

# sw_await_registered URL TIMEOUT NAME...: waits until every NAME registered
# (as the balancer behind URL sees it); fails, saying why, if one exits or
# the time runs out.
sw_await_registered() {
    local url=$1 timeout=$2 rc deadline
    shift 2
    deadline=$((SECONDS + timeout))
    _sw_dead=""
    while :; do
        rc=0
        _sw_all_registered "$url" "$@" || rc=$?
        if ((rc == 0)); then
            return 0
        elif ((rc == 2)); then
            sw_log "ERROR: $_sw_dead exited; last lines of $SW_VAR/log/$_sw_dead.log:"
            tail -n 20 "$SW_VAR/log/$_sw_dead.log" >&2 || true
            return 1
        elif ((SECONDS >= deadline)); then
            sw_log "ERROR: not all instances registered within ${timeout}s; the balancer reports:"
            curl -sS --max-time 2 "$url" >&2 || true
            echo >&2
            sw_log "logs: $SW_VAR/log"
            return 1
        fi
        sleep 0.5
    done
}
