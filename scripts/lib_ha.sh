# shellcheck shell=bash
# Replicated Redis for the stackwire scripts: sourced by scripts/lib.sh (never
# run), and uses its helpers (_sw_redis_cli, _sw_live_pid, sw_wait_for, ...).

# ---------------------------------------------------------------------------
# Replicated Redis: a primary, one replica and three Sentinels
# ---------------------------------------------------------------------------
#
# Every node requires AUTH (requirepass; masterauth so a replica, or a demoted
# primary, can sync; the Sentinels use `sentinel auth-pass` towards the data
# nodes and requirepass towards clients and each other). Failover timing is
# chosen to finish in a few seconds instead of Sentinel's default minute or
# so (see README, "Replication"): SW_SENTINEL_DOWN_MS (1000) of silence makes
# a Sentinel call the primary down, a quorum of 2 agrees, and the replica is
# promoted; SW_SENTINEL_FAILOVER_MS (4000) bounds one failover attempt.
#
# Hosts (see lib.sh for how settings are recorded): SW_REDIS_HOSTS ("h1 h2",
# the data nodes NAME-a and NAME-b) and SW_SENTINEL_HOSTS ("h1 h2 h3"), each
# defaulting to SW_HOST (127.0.0.1); a node binds its host's address and is
# started on that host (sw_on: inside its network namespace under cluster.sh).

# Name of the master the Sentinels monitor (clients ask for it by name).
SW_REDIS_MASTER_NAME=${SW_REDIS_MASTER_NAME:-stackwire}

# Fills _redis_hosts (NAME-a, NAME-b) and _sentinel_hosts.
_sw_redis_layout() {
    local h=${SW_HOST:-127.0.0.1}
    read -ra _redis_hosts <<<"${SW_REDIS_HOSTS:-$h $h}"
    read -ra _sentinel_hosts <<<"${SW_SENTINEL_HOSTS:-$h $h $h}"
    ((${#_redis_hosts[@]} == 2)) || sw_die "SW_REDIS_HOSTS names two hosts"
}

# _sw_redis_node NAME HOST:PORT ROLE [fast]: one data node (ROLE: primary,
# or replica-of:HOST:PORT) unless it already answers.
_sw_redis_node() {
    local name=$1 addr=$2 role=$3 fast=${4:-} lines
    lines=("protected-mode yes" "masterauth $SW_REDIS_PASSWORD" "appendonly no" "replica-read-only yes")
    if [[ $fast == fast ]]; then lines+=('save ""'); fi
    if [[ $role == replica-of:* ]]; then
        role=${role#replica-of:}
        lines+=("replicaof ${role%:*} ${role##*:}")
    fi
    _sw_redis_daemon redis "$name" "$addr" "$3" "${lines[@]}"
}

# _sw_sentinel NAME HOST:PORT PRIMARY_HOST:PORT: one Sentinel unless it
# answers. Its config is written only when it is not running: Sentinel
# rewrites the file itself to remember the current primary across restarts.
_sw_sentinel() {
    local name=$1 addr=$2 primary=$3 m=$SW_REDIS_MASTER_NAME
    _sw_redis_daemon sentinel "$name" "$addr" "monitoring $primary" \
        "# and rewritten by Sentinel itself: the current primary, the other Sentinels, the epoch" \
        "sentinel resolve-hostnames no" \
        "sentinel monitor $m ${primary%:*} ${primary##*:} 2" \
        "sentinel auth-pass $m $SW_REDIS_PASSWORD" \
        "sentinel down-after-milliseconds $m ${SW_SENTINEL_DOWN_MS:-1000}" \
        "sentinel failover-timeout $m ${SW_SENTINEL_FAILOVER_MS:-4000}" \
        "sentinel parallel-syncs $m 1"
}

# _sw_redis_daemon KIND NAME HOST:PORT WHAT LINE...: unless a redis-server
# (KIND redis) or redis-sentinel (KIND sentinel) NAME already answers on
# HOST:PORT, stops what is left of it, writes $SW_VAR/NAME/KIND.conf (what
# every node has: address, pid file, log, directory, password; then each
# LINE) and starts it (_sw_redis_launch). WHAT is for the log.
_sw_redis_daemon() {
    local kind=$1 name=$2 addr=$3 what=$4
    shift 4
    local dir="$SW_VAR/$name"
    local pidfile="$dir/$kind.pid"
    mkdir -p "$dir"
    chmod 700 "$dir"
    if _sw_live_pid "$pidfile" >/dev/null && _sw_redis_ping "$addr"; then
        sw_log "$kind $name already running"
        return 0
    fi
    _sw_redis_stop "$kind" "$name"
    (
        umask 077
        {
            echo "# written by scripts/lib_ha.sh; changes are overwritten"
            echo "bind ${addr%:*}"
            echo "port ${addr##*:}"
            echo "daemonize yes"
            echo "pidfile \"$pidfile\""
            echo "logfile \"$SW_VAR/log/$name.log\""
            echo "dir \"$dir\""
            echo "requirepass $SW_REDIS_PASSWORD"
            printf '%s\n' "$@"
        } >"$dir/$kind.conf"
    )
    sw_log "starting $kind $name ($what) on $addr"
    _sw_redis_launch "$kind" "$name" "$addr"
}

# _sw_redis_launch KIND NAME HOST:PORT: runs redis-server (KIND redis) or
# redis-sentinel (KIND sentinel) on $SW_VAR/NAME/KIND.conf, on HOST (sw_on),
# and waits for it to answer on HOST:PORT; the log's tail if it does not.
_sw_redis_launch() {
    local kind=$1 name=$2 addr=$3 bin=redis-server log="$SW_VAR/log/$2.log"
    if [[ $kind == sentinel ]]; then bin=redis-sentinel; fi
    sw_on "${addr%:*}"
    (_sw_bare "${_sw_on[@]}" "$bin" "$SW_VAR/$name/$kind.conf") || sw_die "$kind $name failed to start (log: $log)"
    if ! sw_wait_for -t 30 -m "$kind $name answering on $addr" _sw_redis_ping "$addr"; then
        if [[ -f $log ]]; then tail -n 20 "$log" >&2; fi
        sw_die "$kind $name is not ready (log: $log)"
    fi
}

# sw_start_redis_ha NAME PRIMARY_PORT REPLICA_PORT "S1 S2 S3" [fast]
# Nodes NAME-a (first primary), NAME-b (first replica), NAME-sentinel-N, on
# the hosts of _sw_redis_layout.
sw_start_redis_ha() {
    local name=$1 p_port=$2 r_port=$3 s_ports=$4 fast=${5:-} i=0 sp list="" cur="" a b
    _sw_need_var
    _sw_redis_layout
    a=${_redis_hosts[0]}:$p_port
    b=${_redis_hosts[1]}:$r_port
    # After a failover the roles are swapped: a node (re)started while the
    # Sentinels know a primary joins it as a replica, instead of coming up
    # as a second primary with stale data until Sentinel demotes it.
    cur=$(sw_redis_primary "$name" 2>/dev/null) || cur=""
    if [[ -z $cur || $cur == "$a" ]]; then
        _sw_redis_node "$name-a" "$a" primary "$fast"
        _sw_redis_node "$name-b" "$b" "replica-of:$a" "$fast"
        cur=$a
    else
        _sw_redis_node "$name-b" "$b" primary "$fast"
        _sw_redis_node "$name-a" "$a" "replica-of:$b" "$fast"
    fi
    for sp in $s_ports; do
        _sw_sentinel "$name-sentinel-$((i + 1))" "${_sentinel_hosts[i]}:$sp" "$cur"
        list+="${list:+,}${_sentinel_hosts[i]}:$sp"
        i=$((i + 1))
    done
    echo "$list" >"$SW_VAR/$name.sentinels"
    STACKWIRE_REDIS_SENTINELS=$list
    STACKWIRE_REDIS_MASTER=$SW_REDIS_MASTER_NAME
    STACKWIRE_REDIS_PASSWORD=$SW_REDIS_PASSWORD
    STACKWIRE_REDIS_URL="redis://:$SW_REDIS_PASSWORD@$a/"
    export STACKWIRE_REDIS_SENTINELS STACKWIRE_REDIS_MASTER STACKWIRE_REDIS_PASSWORD STACKWIRE_REDIS_URL
    sw_wait_for -t 30 -m "Sentinels to agree on a primary for $SW_REDIS_MASTER_NAME" sw_redis_primary "$name" ||
        sw_die "no Sentinel reports a primary for $SW_REDIS_MASTER_NAME"
    sw_log "redis primary (per Sentinel): $(sw_redis_primary "$name")"
}

# sw_redis_primary NAME: prints host:port of the current primary.
sw_redis_primary() {
    local name=$1 sp out
    for sp in $(tr ',' ' ' <"$SW_VAR/$name.sentinels" 2>/dev/null); do
        out=$(_sw_redis_cli "$sp" sentinel get-master-addr-by-name "$SW_REDIS_MASTER_NAME" 2>/dev/null) || continue
        out=$(printf '%s' "$out" | tr '\n' ':')
        out=${out%:}
        if [[ $out == *:[0-9]* ]]; then
            printf '%s\n' "$out"
            return 0
        fi
    done
    return 1
}

# sw_stop_redis_ha NAME: Sentinels first (so stopping the primary starts no
# failover), then both data nodes.
sw_stop_redis_ha() {
    local name=$1 d
    _sw_need_var
    for d in "$SW_VAR/$name"-sentinel-*; do
        [[ -d $d ]] || continue
        _sw_redis_stop sentinel "$(basename "$d")"
    done
    sw_stop_redis "$name-b"
    sw_stop_redis "$name-a"
    rm -f "$SW_VAR/$name.sentinels"
}

# _sw_redis_synced ADDR: a replica whose link to its primary is up.
_sw_redis_synced() {
    _sw_redis_cli "$1" info replication 2>/dev/null | grep -q '^master_link_status:up'
}

# _sw_redis_node_name NAME HOST:PORT: which data node (NAME-a or NAME-b) serves it.
_sw_redis_node_name() {
    local d
    for d in "$SW_VAR/$1"-a "$SW_VAR/$1"-b; do
        if [[ $(_sw_redis_conf_addr "$d/redis.conf") == "$2" ]]; then
            basename "$d"
            return 0
        fi
    done
    return 1
}

# _sw_redis_primary_is NAME HOST:PORT: the Sentinels of NAME name it the primary.
_sw_redis_primary_is() {
    [[ $(sw_redis_primary "$1") == "$2" ]]
}

# _sw_redis_failover_to NAME HOST:PORT: one SENTINEL FAILOVER of NAME's
# primary, then up to 10 s for HOST:PORT to be the primary; true at once when
# it is already. A Sentinel refuses (NOGOODSLAVE) until it has seen a
# restarted replica in the primary's INFO: the caller asks again
# (sw_wait_for) until one accepts.
_sw_redis_failover_to() {
    local name=$1 addr=$2 sp
    _sw_redis_primary_is "$name" "$addr" && return 0
    for sp in $(tr ',' ' ' <"$SW_VAR/$name.sentinels"); do
        if [[ $(_sw_redis_cli "$sp" sentinel failover "$SW_REDIS_MASTER_NAME" 2>/dev/null) == OK ]]; then
            sw_wait_for -q -t 10 _sw_redis_primary_is "$name" "$addr"
            return
        fi
    done
    return 1
}

# _sw_redis_rejoin NODE HOST:PORT PRIMARY: data node NODE (on HOST:PORT)
# restarted as a replica of PRIMARY, and synced with it.
_sw_redis_rejoin() {
    sw_stop_redis "$1"
    _sw_redis_node "$1" "$2" "replica-of:$3"
    sw_wait_for -t 60 -m "redis $1 synced with the primary $3" _sw_redis_synced "$2" ||
        sw_die "redis $1 did not sync"
}

# sw_rolling_restart_redis_ha NAME: restarts every node of a running
# replicated Redis without a moment with no primary that Sentinel does not
# cover: each Sentinel in turn (the others keep the quorum), the replica
# (rejoining the primary), then SENTINEL FAILOVER makes the freshly synced
# replica the primary, and the old primary restarts as its replica. Clients
# see what they see in any Sentinel failover: a READONLY or a refused
# connection, after which they ask the Sentinels again.
sw_rolling_restart_redis_ha() {
    local name=$1 d addr primary replica raddr=""
    _sw_need_var
    for d in "$SW_VAR/$name"-sentinel-*; do
        [[ -d $d ]] || continue
        primary=$(sw_redis_primary "$name") || sw_die "no Sentinel reports a primary for $SW_REDIS_MASTER_NAME"
        addr=$(_sw_redis_conf_addr "$d/sentinel.conf")
        _sw_redis_stop sentinel "$(basename "$d")"
        # Its own rewritten config remembers the primary, the other Sentinels and the epoch.
        _sw_redis_launch sentinel "$(basename "$d")" "$addr"
        sw_log "restarted $(basename "$d")"
    done
    primary=$(sw_redis_primary "$name") || sw_die "no Sentinel reports a primary for $SW_REDIS_MASTER_NAME"
    for d in "$SW_VAR/$name"-a "$SW_VAR/$name"-b; do
        addr=$(_sw_redis_conf_addr "$d/redis.conf") || continue
        [[ $addr != "$primary" ]] && raddr=$addr
    done
    [[ -n $raddr ]] || sw_die "no Redis replica of $name to restart"
    replica=$(_sw_redis_node_name "$name" "$raddr")
    _sw_redis_rejoin "$replica" "$raddr" "$primary"
    sw_log "restarted redis $replica (replica)"
    sw_wait_for -t 60 -m "Sentinel failover of $SW_REDIS_MASTER_NAME to $raddr" _sw_redis_failover_to "$name" "$raddr" ||
        sw_die "the Sentinel failover to $raddr did not happen"
    sw_log "redis primary moved to $raddr by a Sentinel failover"
    replica=$(_sw_redis_node_name "$name" "$primary")
    _sw_redis_rejoin "$replica" "$primary" "$raddr"
    sw_log "restarted redis $replica (the old primary, now a replica)"
}
