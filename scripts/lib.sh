# shellcheck shell=bash
# Common functions for the stackwire scripts (sourced, never run).
#
# They set up what the Rust binaries and tests need on a bare Debian machine,
# running as root: Debian packages, a data directory ($SW_VAR) that the
# `postgres` user can reach, and private PostgreSQL and Redis instances on
# non-default ports, so the system's own clusters (5432/6379) are never used.
#
#   sw_install_deps [pkg...]  apt-get install what is missing; check cargo
#   sw_init_var               choose/create $SW_VAR (+ log/, run/, secrets)
#   sw_start_postgres NAME PORT [fast]   cluster in $SW_VAR/NAME
#   sw_stop_postgres NAME
#   sw_start_redis NAME PORT [fast]      redis in $SW_VAR/NAME
#   sw_stop_redis NAME
#   sw_start_redis_ha NAME PRIMARY REPLICA "S1 S2 S3" [fast]
#                                        primary + replica + 3 Sentinels
#   sw_stop_redis_ha NAME
#   sw_redis_primary NAME                host:port Sentinel reports now
#   sw_wait_for [-t SECS] [-m MSG] CMD...   poll CMD until it succeeds
#   sw_start_proc NAME OUT ERR CMD...    nohup CMD, pid in $SW_VAR/run/NAME.pid
#   sw_stop_proc NAME [quiet]            TERM, wait, KILL after ~10 s
#
# sw_start_postgres exports STACKWIRE_DATABASE_URL and sw_start_redis exports
# STACKWIRE_REDIS_URL; sw_start_redis_ha exports STACKWIRE_REDIS_SENTINELS,
# STACKWIRE_REDIS_MASTER and STACKWIRE_REDIS_PASSWORD (and STACKWIRE_REDIS_URL
# for the first primary, for tools); child processes inherit them.

# Resolve the checkout from this file's own location.
SW_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export SW_REPO

# rustup installs cargo here; non-login shells (CI, sudo) often lack it.
for _sw_d in /root/.cargo/bin "${HOME:-/root}/.cargo/bin"; do
    if [[ -d $_sw_d && :$PATH: != *":$_sw_d:"* ]]; then
        PATH="$_sw_d:$PATH"
    fi
done
unset _sw_d
export PATH

sw_log() { printf '[stackwire] %s\n' "$*" >&2; }
sw_die() {
    printf '[stackwire] ERROR: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------

# Directory holding initdb/pg_ctl (newest installed major version), or "".
sw_pg_bindir() {
    if [[ -n ${SW_PG_BINDIR:-} ]]; then
        printf '%s\n' "$SW_PG_BINDIR"
        return
    fi
    local d
    for d in /usr/lib/postgresql/*/bin; do
        if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
            printf '%s\n' "$d"
        fi
    done | sort -V | tail -n1
}

_sw_apt_updated=0
_sw_apt_install() {
    local out
    out=$(mktemp)
    export DEBIAN_FRONTEND=noninteractive
    if [[ $_sw_apt_updated == 0 ]]; then
        sw_log "apt-get update"
        apt-get update -qq >"$out" 2>&1 || {
            cat "$out" >&2
            rm -f "$out"
            sw_die "apt-get update failed"
        }
        _sw_apt_updated=1
    fi
    sw_log "apt-get install $*"
    apt-get install -y -qq --no-install-recommends "$@" >"$out" 2>&1 || {
        cat "$out" >&2
        rm -f "$out"
        sw_die "apt-get install $* failed"
    }
    rm -f "$out"
}

# sw_need_cmds CMD[:PACKAGE]...: apt-get install the packages whose command
# is missing (PACKAGE defaults to CMD).
sw_need_cmds() {
    local missing=() spec
    for spec in "$@"; do
        command -v "${spec%%:*}" >/dev/null || missing+=("${spec#*:}")
    done
    if ((${#missing[@]})); then
        [[ $(id -u) == 0 ]] || sw_die "missing packages (${missing[*]}); run as root or install them"
        _sw_apt_install "${missing[@]}"
    fi
}

# sw_install_deps [extra-package...]
# Installs redis-server, redis-sentinel, postgresql, protobuf-compiler, curl
# and any extra packages (e.g. wrk, python3) that are missing, then checks
# for cargo.
sw_install_deps() {
    local missing=() pkg
    command -v redis-server >/dev/null || missing+=(redis-server)
    command -v redis-cli >/dev/null || missing+=(redis-tools)
    command -v redis-sentinel >/dev/null || missing+=(redis-sentinel)
    if [[ -z $(sw_pg_bindir) ]] || ! command -v psql >/dev/null; then
        missing+=(postgresql)
    fi
    command -v protoc >/dev/null || missing+=(protobuf-compiler)
    command -v curl >/dev/null || missing+=(curl)
    for pkg in "$@"; do
        case $pkg in
        python3) command -v python3 >/dev/null || missing+=(python3) ;;
        *) command -v "$pkg" >/dev/null || dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg") ;;
        esac
    done
    if ((${#missing[@]})); then
        [[ $(id -u) == 0 ]] || sw_die "missing packages (${missing[*]}); run as root or install them"
        _sw_apt_install "${missing[@]}"
    fi
    [[ -n $(sw_pg_bindir) ]] || sw_die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
    getent passwd postgres >/dev/null || sw_die "user 'postgres' does not exist (is the postgresql package installed?)"
    command -v cargo >/dev/null ||
        sw_die "cargo not found: install a Rust toolchain with rustup (looked in PATH, /root/.cargo/bin, \$HOME/.cargo/bin)"
}

# ---------------------------------------------------------------------------
# Data directory
# ---------------------------------------------------------------------------

# True when user $1 can search every directory down to (and including) $2.
_sw_user_can_reach() {
    local user=$1 dir=$2
    if getent passwd "$user" >/dev/null; then
        # access(2) also needs search permission on every parent directory.
        (cd / && runuser -u "$user" -- test -x "$dir") 2>/dev/null
        return
    fi
    # No such user yet: fall back to the mode bits (world-searchable path).
    local p=$dir
    while :; do
        [[ -d $p ]] || return 1
        [[ $(stat -c %A "$p") == ?????????[xt] ]] || return 1
        [[ $p == / ]] && return 0
        p=$(dirname "$p")
    done
}

# Chooses $SW_VAR: $SW_VAR if already set, else $REPO/var when the postgres
# user can reach $REPO, else /var/lib/stackwire/<checkout>-<sha1 of path>.
sw_choose_var() {
    if [[ -n ${SW_VAR:-} ]]; then
        SW_VAR_REASON="from the environment"
    elif _sw_user_can_reach postgres "$SW_REPO"; then
        SW_VAR="$SW_REPO/var"
        SW_VAR_REASON="inside the checkout"
    else
        local hash
        hash=$(printf '%s' "$SW_REPO" | sha1sum | cut -c1-10)
        SW_VAR="/var/lib/stackwire/$(basename "$SW_REPO")-$hash"
        SW_VAR_REASON="the checkout $SW_REPO is not reachable by user postgres"
    fi
    export SW_VAR SW_VAR_REASON
    sw_load_settings
}

# The settings start_all.sh records in $SW_VAR/settings (one KEY=VALUE a
# line), so that every later script (stop_all.sh, rolling_restart.sh,
# chaos.sh, another start_all.sh), run from any shell, even `env -i`, uses
# the ports and sizes the system was started with. The environment wins over
# the file; the defaults are each script's own.
SW_SETTINGS_VARS=(SW_HOST SW_PG_PORT SW_PG_PORTS SW_PATRONI_PORTS SW_ETCD_PORTS SW_PG_HA
    SW_REDIS_PORT SW_REDIS_REPLICA_PORT SW_SENTINEL_PORTS SW_HTTP_PORT SW_BALANCER_PORTS
    SW_ADMIN_PORT SW_SERVICE_PORT_BASE SW_SERVICE_PORT_STRIDE SW_RPC_ADMIN_OFFSET SW_QUESTIONS SW_ANSWERS SW_COMMENTS SW_WEBUIS SW_USERS
    SW_VOTES SW_BIN_DIR SW_HTTP_HOST SW_PATRONI_TTL SW_PATRONI_LOOP_WAIT SW_PATRONI_RETRY_TIMEOUT
    SW_PG_HOSTS SW_ETCD_HOSTS SW_REDIS_HOSTS SW_SENTINEL_HOSTS SW_HOST_NETNS)

# sw_load_settings: sets each recorded setting that the environment does not.
sw_load_settings() {
    local f="$SW_VAR/settings" k v n known
    SW_SETTINGS_FROM_FILE=""
    [[ -f $f ]] || return 0
    while IFS='=' read -r k v; do
        [[ $k =~ ^SW_[A-Z0-9_]+$ ]] || continue
        known=0
        for n in "${SW_SETTINGS_VARS[@]}"; do [[ $n == "$k" ]] && known=1; done
        ((known)) || continue
        if [[ -z ${!k+set} ]]; then
            printf -v "$k" '%s' "$v"
            export "${k?}"
            SW_SETTINGS_FROM_FILE+=" $k"
        fi
    done <"$f"
}

# sw_setting_origin NAME: where a setting's value came from, for log lines:
# "the environment", or the settings file of an earlier start_all.sh.
sw_setting_origin() {
    if [[ " ${SW_SETTINGS_FROM_FILE:-} " == *" $1 "* ]]; then
        echo "recorded in $SW_VAR/settings by an earlier start; $1= in the environment clears it"
    else
        echo "from the environment"
    fi
}

# sw_save_settings: records every setting that is set now.
sw_save_settings() {
    local k
    for k in "${SW_SETTINGS_VARS[@]}"; do
        if [[ -n ${!k+set} && ${!k} != *$'\n'* ]]; then printf '%s=%s\n' "$k" "${!k}"; fi
    done >"$SW_VAR/settings.tmp"
    mv "$SW_VAR/settings.tmp" "$SW_VAR/settings"
}

# sw_init_var: choose and create $SW_VAR with log/ and run/ and a secrets file.
sw_init_var() {
    sw_choose_var
    mkdir -p "$SW_VAR/log" "$SW_VAR/run"
    # The postgres user needs to traverse $SW_VAR to reach its cluster dirs.
    chmod 755 "$SW_VAR" "$SW_VAR/log"
    if [[ $SW_VAR == /var/lib/stackwire/* ]]; then
        chmod 755 /var/lib/stackwire
        # So that `. var/env` and var/log work from the checkout all the same.
        if [[ ! -e $SW_REPO/var || -L $SW_REPO/var ]]; then
            ln -sfn "$SW_VAR" "$SW_REPO/var"
        fi
    fi
    sw_log "data directory: $SW_VAR ($SW_VAR_REASON)"
    sw_secrets
}

# Creates $SW_VAR/secrets once (random hex passwords, mode 600) and loads
# SW_PG_PASSWORD and SW_REDIS_PASSWORD from it, and exports
# STACKWIRE_CSRF_SECRET (the HMAC key every webui instance shares; added to
# an older secrets file that lacks it).
sw_secrets() {
    local f="$SW_VAR/secrets"
    if [[ ! -s $f ]]; then
        (
            umask 077
            printf 'pg_password=%s\nredis_password=%s\n' \
                "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" \
                "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" >"$f.tmp"
            mv "$f.tmp" "$f"
        )
    fi
    if ! grep -q '^csrf_secret=' "$f"; then
        printf 'csrf_secret=%s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >>"$f"
    fi
    chmod 600 "$f"
    STACKWIRE_CSRF_SECRET=$(sed -n 's/^csrf_secret=//p' "$f")
    export STACKWIRE_CSRF_SECRET
    SW_PG_PASSWORD=$(sed -n 's/^pg_password=//p' "$f")
    SW_REDIS_PASSWORD=$(sed -n 's/^redis_password=//p' "$f")
    [[ $SW_PG_PASSWORD =~ ^[0-9a-f]{16,}$ && $SW_REDIS_PASSWORD =~ ^[0-9a-f]{16,}$ &&
        $STACKWIRE_CSRF_SECRET =~ ^[0-9a-f]{32,}$ ]] ||
        sw_die "$f is malformed; delete it (and the clusters under $SW_VAR) to regenerate"
}

_sw_need_var() {
    [[ -n ${SW_VAR:-} && -n ${SW_PG_PASSWORD:-} ]] || sw_init_var
}

# ---------------------------------------------------------------------------
# Polling
# ---------------------------------------------------------------------------

# sw_wait_for [-t SECONDS] [-m MESSAGE] [-q] CMD...
# Runs CMD (quietly) every 0.2 s until it succeeds; fails after the timeout
# (default 30 s) with MESSAGE (no message with -q).
sw_wait_for() {
    local timeout=30 msg="" quiet=""
    while (($#)); do
        case $1 in
        -t) timeout=$2; shift 2 ;;
        -m) msg=$2; shift 2 ;;
        -q) quiet=1; shift ;;
        --) shift; break ;;
        *) break ;;
        esac
    done
    local deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            [[ -n $quiet ]] || sw_log "ERROR: timed out after ${timeout}s waiting for: ${msg:-$*}"
            return 1
        fi
        sleep 0.2
    done
}

# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------

# Runs a PostgreSQL server tool as user postgres, from / (root's cwd may be
# unreadable to postgres).
_sw_pg() {
    local bin
    bin=$(sw_pg_bindir)
    # _sw_bare: a server pg_ctl starts keeps none of our descriptors.
    (cd / && _sw_bare runuser -u postgres -- "$bin/$1" "${@:2}")
}

# psql as the superuser over the cluster's own unix socket (trust auth).
_sw_pg_psql() {
    local dir=$1 port=$2
    shift 2
    (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres "$@")
}

# _sw_pg_create_db DIR PORT [SQL]: role and database `stackwire`,
# idempotently, in the server whose socket is in DIR; the password is (re)set
# from secrets. SQL, when given, runs after them in the same session.
_sw_pg_create_db() {
    local dir=$1 port=$2 extra=${3:-}
    _sw_pg_psql "$dir" "$port" <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'stackwire') THEN
    CREATE ROLE stackwire;
  END IF;
END \$\$;
ALTER ROLE stackwire WITH LOGIN CREATEDB PASSWORD '$SW_PG_PASSWORD';
SELECT 'CREATE DATABASE stackwire OWNER stackwire'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'stackwire')\gexec
$extra
SQL
}

# sw_start_postgres NAME PORT [fast]
# Private cluster in $SW_VAR/NAME on 127.0.0.1:PORT with role and database
# `stackwire`; exports STACKWIRE_DATABASE_URL. "fast" turns off fsync (tests).
sw_start_postgres() {
    local name=$1 port=$2 fast=${3:-}
    _sw_need_var
    local dir="$SW_VAR/$name" log="$SW_VAR/log/$name.log"

    if [[ ! -f $dir/PG_VERSION ]]; then
        sw_log "initdb $dir"
        rm -rf "$dir"
        mkdir -p "$dir"
        chown postgres:postgres "$dir"
        chmod 700 "$dir"
        local locale=C
        locale -a 2>/dev/null | grep -qix 'c\.utf-\?8' && locale=C.UTF-8
        _sw_pg initdb -D "$dir" -U postgres --encoding=UTF8 --locale="$locale" \
            --auth-local=trust --auth-host=scram-sha-256 >"$SW_VAR/log/$name.initdb.log" 2>&1 ||
            {
                cat "$SW_VAR/log/$name.initdb.log" >&2
                sw_die "initdb failed for $dir"
            }
        echo "include_if_exists = 'stackwire.conf'" >>"$dir/postgresql.conf"
    fi

    # Rewritten each start so a changed port takes effect.
    {
        echo "# written by scripts/lib.sh; changes are overwritten"
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $port"
        echo "unix_socket_directories = '${dir//\'/\'\'}'"
        echo "unix_socket_permissions = 0700"
        if [[ $fast == fast ]]; then
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } >"$dir/stackwire.conf"
    chown postgres:postgres "$dir/stackwire.conf"

    if _sw_pg pg_ctl status -D "$dir" >/dev/null 2>&1; then
        # Line 4 of postmaster.pid is the port it listens on.
        if [[ $(sed -n 4p "$dir/postmaster.pid" 2>/dev/null) != "$port" ]]; then
            sw_log "postgres $name runs on another port: restarting it on $port"
            _sw_pg pg_ctl stop -D "$dir" -m fast -w -t 60 >/dev/null ||
                sw_die "could not stop postgres $name (data: $dir)"
        else
            sw_log "postgres $name already running"
        fi
    fi
    if ! _sw_pg pg_ctl status -D "$dir" >/dev/null 2>&1; then
        touch "$log"
        chown postgres:postgres "$log"
        sw_log "starting postgres $name on 127.0.0.1:$port"
        if ! _sw_pg pg_ctl start -D "$dir" -l "$log" -w -t 60 >/dev/null; then
            tail -n 20 "$log" >&2
            sw_die "postgres $name failed to start (log: $log)"
        fi
    fi
    sw_wait_for -t 60 -m "postgres $name accepting connections on 127.0.0.1:$port" \
        "$(sw_pg_bindir)/pg_isready" -q -h 127.0.0.1 -p "$port" ||
        sw_die "postgres $name is not ready on port $port (running with another port? log: $log)"

    _sw_pg_create_db "$dir" "$port" || sw_die "could not create role/database stackwire in $name"

    STACKWIRE_DATABASE_URL="postgresql://stackwire:$SW_PG_PASSWORD@127.0.0.1:$port/stackwire"
    export STACKWIRE_DATABASE_URL
}

# sw_pg_allow_plans NAME PORT: lets role stackwire switch on auto_explain for
# a database it owns (ALTER DATABASE ... SET session_preload_libraries and
# auto_explain.*, superuser-only settings granted one by one, PostgreSQL 15).
# For test clusters: tests/tests/scale.rs reads every plan the services run.
sw_pg_allow_plans() {
    local name=$1 port=$2
    _sw_need_var
    _sw_pg_psql "$SW_VAR/$name" "$port" -c "GRANT SET ON PARAMETER session_preload_libraries,
        auto_explain.log_min_duration, auto_explain.log_analyze, auto_explain.log_timing,
        auto_explain.log_format, auto_explain.log_nested_statements, auto_explain.log_level TO stackwire" ||
        sw_die "could not grant the auto_explain settings in $name"
}

# sw_stop_postgres NAME: fast shutdown; harmless if not running.
sw_stop_postgres() {
    local name=$1
    _sw_need_var
    local dir="$SW_VAR/$name"
    [[ -f $dir/PG_VERSION && -n $(sw_pg_bindir) ]] || return 0
    if _sw_pg pg_ctl status -D "$dir" >/dev/null 2>&1; then
        sw_log "stopping postgres $name"
        _sw_pg pg_ctl stop -D "$dir" -m fast -w -t 60 >/dev/null ||
            sw_log "WARNING: pg_ctl stop failed for $dir"
    fi
}

# ---------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------

# _sw_redis_cli ADDR ARGS...: ADDR is HOST:PORT, or a PORT on 127.0.0.1.
_sw_redis_cli() {
    local addr=$1 host=127.0.0.1
    shift
    if [[ $addr == *:* ]]; then host=${addr%:*}; fi
    # Bounded: a host cut off by scripts/partition.sh never answers (nor refuses).
    REDISCLI_AUTH=$SW_REDIS_PASSWORD timeout "${SW_REDIS_CLI_TIMEOUT:-5}" redis-cli -h "$host" -p "${addr##*:}" "$@"
}

# _sw_redis_conf_addr CONF: HOST:PORT a redis.conf or sentinel.conf written here binds.
_sw_redis_conf_addr() {
    local host port
    host=$(sed -n 's/^bind \([^ ]*\).*/\1/p' "$1" 2>/dev/null | head -n1)
    port=$(sed -n 's/^port //p' "$1" 2>/dev/null | head -n1)
    [[ -n $port ]] || return 1
    printf '%s:%s\n' "${host:-127.0.0.1}" "$port"
}

_sw_redis_ping() { [[ $(_sw_redis_cli "$1" ping 2>/dev/null) == PONG ]]; }

# One-letter state of a process (R, S, Z, ...) or "" if there is none.
_sw_pid_state() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    printf '%s\n' "${stat%% *}"
}

# Pid from a pid file if that process is alive (not a zombie), else fails.
_sw_live_pid() {
    local f=$1 pid
    [[ -s $f ]] || return 1
    pid=$(head -n1 "$f")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    _sw_pid_gone "$pid" && return 1
    printf '%s\n' "$pid"
}

# sw_start_redis NAME PORT [fast]
# Private redis on 127.0.0.1:PORT, data in $SW_VAR/NAME; exports
# STACKWIRE_REDIS_URL. "fast" disables RDB snapshots (tests). One node of
# scripts/lib_ha.sh's kind, a primary with no replica; one that is alive but
# not answering on this port with this password is replaced.
sw_start_redis() {
    local name=$1 port=$2 fast=${3:-}
    _sw_need_var
    _sw_redis_node "$name" "127.0.0.1:$port" primary "$fast"
    STACKWIRE_REDIS_URL="redis://:$SW_REDIS_PASSWORD@127.0.0.1:$port/"
    export STACKWIRE_REDIS_URL
}

# sw_stop_redis NAME: stops the data node in $SW_VAR/NAME (_sw_redis_stop).
sw_stop_redis() { _sw_redis_stop redis "$1"; }

# _sw_redis_stop KIND NAME: a redis-server (KIND redis) or redis-sentinel
# (KIND sentinel) in $SW_VAR/NAME, if its pid file names a live process:
# SHUTDOWN NOSAVE through the address its KIND.conf binds (else TERM), then
# KILL if it is still there after 10 s.
_sw_redis_stop() {
    local kind=$1 name=$2
    _sw_need_var
    local dir="$SW_VAR/$name" pid addr
    pid=$(_sw_live_pid "$dir/$kind.pid") || return 0
    sw_log "stopping $kind $name"
    if ! addr=$(_sw_redis_conf_addr "$dir/$kind.conf") ||
        ! _sw_redis_cli "$addr" shutdown nosave >/dev/null 2>&1; then
        kill -TERM "$pid" 2>/dev/null || true
    fi
    if ! sw_wait_for -q -t 10 _sw_pid_gone "$pid"; then
        sw_log "$kind $name (pid $pid) did not shut down: killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/$kind.pid"
}

# ---------------------------------------------------------------------------
# Benchmarks (scripts/bench_*.sh)
# ---------------------------------------------------------------------------

# sw_bench_machine: the line every benchmark prints first, so that its
# figures are read with the machine's size and how busy it was.
sw_bench_machine() {
    echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (other work running distorts the numbers)"
}

# sw_raise_nofile NEED WHAT: this shell's open-file limit raised to what the
# hard limit allows, at most 65536 (containers often cap it lower); dies
# unless NEED descriptors fit, naming WHAT needs them.
sw_raise_nofile() {
    local hard
    hard=$(ulimit -Hn)
    if [[ $hard == unlimited ]]; then hard=65536; fi
    ulimit -n "$((hard < 65536 ? hard : 65536))"
    (($(ulimit -n) >= $1)) || sw_die "need ulimit -n >= $1 for $2 (hard limit $hard)"
}

# Replicated Redis (sw_start_redis_ha, sw_stop_redis_ha, sw_redis_primary):
# scripts/lib_ha.sh, sourced at the end of this file.

# Application processes (sw_start_proc, sw_stop_proc, sw_restart_proc, ...):
# scripts/lib_procs.sh, sourced below.

# shellcheck source=scripts/lib_procs.sh
. "$SW_REPO/scripts/lib_procs.sh"
# shellcheck source=scripts/lib_ha.sh
. "$SW_REPO/scripts/lib_ha.sh"
# shellcheck source=scripts/lib_pg_ha.sh
. "$SW_REPO/scripts/lib_pg_ha.sh"
