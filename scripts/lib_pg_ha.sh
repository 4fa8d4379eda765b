# shellcheck shell=bash
# Replicated PostgreSQL for the stackwire scripts: sourced by scripts/lib.sh
# (never run); uses its helpers (sw_start_proc, sw_wait_for, _sw_pg, ...).
#
# Two PostgreSQL nodes, NAME-1 and NAME-2, each run by a Patroni (Debian's
# `patroni`), and three etcd members NAME-etcd-1..3 (Debian's `etcd-server`)
# that hold Patroni's leader lock. Patroni keeps one node primary and the
# other a streaming, *synchronous* standby (synchronous_mode: a COMMIT returns
# only once the standby has the WAL on disk), promotes the standby when the
# primary dies, and makes the old primary a standby again with pg_rewind when
# it comes back. Why Patroni, and how its timings were chosen: README,
# "The database: a primary and a synchronous standby".
#
# Settings (see lib.sh for how they are recorded): SW_HOST (127.0.0.1, the
# address every node binds; a host per node: SW_PG_HOSTS "h1 h2" and
# SW_ETCD_HOSTS "h1 h2 h3"), SW_PG_PORTS ("15432 15433"), SW_PATRONI_PORTS
# ("18008 18009", REST API), SW_ETCD_PORTS ("12379 12389 12399"; each peer
# port is the client port + 1), SW_PATRONI_TTL (8), SW_PATRONI_LOOP_WAIT (1),
# SW_PATRONI_RETRY_TIMEOUT (3).
#
#   sw_start_pg_ha NAME [fast]   start (or find running) etcd, Patroni nodes;
#                                create role/database stackwire; export
#                                STACKWIRE_DATABASE_URL (every node,
#                                target_session_attrs=read-write) and
#                                STACKWIRE_PATRONI_URLS
#   sw_stop_pg_ha NAME           standby first, then primary, then etcd
#   sw_pg_ha_running NAME        a Patroni node of NAME runs
#   sw_pg_ha_cluster NAME        Patroni's /cluster JSON from any node
#   sw_pg_ha_primary NAME        host:port of the running leader
#   sw_pg_ha_member_of NAME HOST:PORT   which node (NAME-1 or NAME-2) serves it
#   sw_pg_ha_streaming NAME NODE the node is a standby streaming from the primary
#   sw_pg_ha_sync NAME           the primary has a synchronous standby
#   sw_pg_ha_switchover NAME     hand the primary to the standby, through Patroni
#   sw_rolling_restart_pg_ha NAME

_sw_pg_ha_words() { # _sw_pg_ha_words VALUE DEFAULT: the value's words, or the default's
    printf '%s\n' "${1:-$2}"
}

# Fills _pg_ports, _pg_hosts, _api_ports, _etcd_ports, _etcd_hosts.
_sw_pg_ha_layout() {
    local h=${SW_HOST:-127.0.0.1}
    read -ra _pg_ports <<<"$(_sw_pg_ha_words "${SW_PG_PORTS:-}" "15432 15433")"
    read -ra _pg_hosts <<<"$(_sw_pg_ha_words "${SW_PG_HOSTS:-}" "$h $h")"
    read -ra _api_ports <<<"$(_sw_pg_ha_words "${SW_PATRONI_PORTS:-}" "18008 18009")"
    read -ra _etcd_ports <<<"$(_sw_pg_ha_words "${SW_ETCD_PORTS:-}" "12379 12389 12399")"
    read -ra _etcd_hosts <<<"$(_sw_pg_ha_words "${SW_ETCD_HOSTS:-}" "$h $h $h")"
    ((${#_pg_ports[@]} == 2 && ${#_pg_hosts[@]} == 2 && ${#_api_ports[@]} == 2)) ||
        sw_die "SW_PG_PORTS, SW_PG_HOSTS and SW_PATRONI_PORTS name two nodes each"
    ((${#_etcd_ports[@]} == 3 && ${#_etcd_hosts[@]} == 3)) ||
        sw_die "SW_ETCD_PORTS and SW_ETCD_HOSTS name three etcd members each"
}

# The replication and superuser passwords, kept with the others in secrets.
_sw_pg_ha_secrets() {
    local f="$SW_VAR/secrets" k
    for k in pg_superuser_password pg_replication_password; do
        if ! grep -q "^$k=" "$f"; then
            printf '%s=%s\n' "$k" "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" >>"$f"
        fi
    done
    SW_PG_SUPER_PASSWORD=$(sed -n 's/^pg_superuser_password=//p' "$f")
    SW_PG_REPL_PASSWORD=$(sed -n 's/^pg_replication_password=//p' "$f")
}

_sw_etcd_endpoints() {
    local i out=""
    for i in 0 1 2; do out+="${out:+,}${_etcd_hosts[i]}:${_etcd_ports[i]}"; done
    printf '%s\n' "$out"
}

_sw_etcd_healthy() { # _sw_etcd_healthy HOST:PORT
    ETCDCTL_API=3 etcdctl --endpoints="http://$1" --dial-timeout=1s --command-timeout=2s endpoint health >/dev/null 2>&1
}

# _sw_start_etcd NAME: the three members (each started unless running).
_sw_start_etcd() {
    local name=$1 i cluster="" member dir token
    token="stackwire-$(printf '%s' "$SW_VAR" | sha1sum | cut -c1-10)"
    for i in 0 1 2; do
        cluster+="${cluster:+,}$name-etcd-$((i + 1))=http://${_etcd_hosts[i]}:$((_etcd_ports[i] + 1))"
    done
    for i in 0 1 2; do
        member="$name-etcd-$((i + 1))"
        dir="$SW_VAR/$member"
        mkdir -p "$dir"
        chmod 700 "$dir"
        # --initial-cluster-state is read only by a member without data.
        sw_on "${_etcd_hosts[i]}"
        sw_start_proc "$member" /dev/null "$SW_VAR/log/$member.log" "${_sw_on[@]}" "$(command -v etcd)" \
            --name "$member" --data-dir "$dir/data" \
            --listen-client-urls "http://${_etcd_hosts[i]}:${_etcd_ports[i]}" \
            --advertise-client-urls "http://${_etcd_hosts[i]}:${_etcd_ports[i]}" \
            --listen-peer-urls "http://${_etcd_hosts[i]}:$((_etcd_ports[i] + 1))" \
            --initial-advertise-peer-urls "http://${_etcd_hosts[i]}:$((_etcd_ports[i] + 1))" \
            --initial-cluster "$cluster" --initial-cluster-token "$token" --initial-cluster-state new \
            --heartbeat-interval 100 --election-timeout 1000 --log-outputs stderr --enable-v2=true
    done
    for i in 0 1 2; do
        sw_wait_for -t 60 -m "etcd $name-etcd-$((i + 1)) healthy" _sw_etcd_healthy "${_etcd_hosts[i]}:${_etcd_ports[i]}" ||
            sw_die "etcd $name-etcd-$((i + 1)) is not healthy (log: $SW_VAR/log/$name-etcd-$((i + 1)).log)"
    done
}

# _sw_patroni_conf NAME I [fast]: writes $SW_VAR/NAME-I/patroni.yml (mode 600, postgres's).
_sw_patroni_conf() {
    local name=$1 i=$2 fast=${3:-} node="$1-$(($2 + 1))" dir bindir locale=C
    dir="$SW_VAR/$node"
    bindir=$(sw_pg_bindir)
    locale -a 2>/dev/null | grep -qix 'c\.utf-\?8' && locale=C.UTF-8
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    chmod 700 "$dir"
    (
        umask 077
        cat >"$dir/patroni.yml.tmp" <<YAML
# written by scripts/lib_pg_ha.sh; changes are overwritten
scope: $name
namespace: /stackwire/
name: $node
log:
  level: INFO
  format: '%(asctime)s $node patroni %(levelname)s: %(message)s'
restapi:
  listen: ${_pg_hosts[i]}:${_api_ports[i]}
  connect_address: ${_pg_hosts[i]}:${_api_ports[i]}
# The v2 API on purpose: Patroni 3.0.2's etcd3 client rewrites the leader
# key unconditionally when a leader paused past its TTL resumes (it stole the
# lock back from a promoted standby in tests/tests/pg_failover.rs); its v2
# client only ever compare-and-swaps the key on its own name.
etcd:
  hosts: $(_sw_etcd_endpoints)
bootstrap:
  dcs:
    ttl: ${SW_PATRONI_TTL:-8}
    loop_wait: ${SW_PATRONI_LOOP_WAIT:-1}
    retry_timeout: ${SW_PATRONI_RETRY_TIMEOUT:-3}
    primary_start_timeout: 0
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    synchronous_mode_strict: false
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        synchronous_commit: 'on'
        wal_level: replica
        wal_log_hints: 'on'
        hot_standby: 'on'
        hot_standby_feedback: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 256MB
        max_connections: 200
  initdb:
  - encoding: UTF8
  - locale: $locale
  - auth-local: trust
  - auth-host: scram-sha-256
postgresql:
  listen: ${_pg_hosts[i]}:${_pg_ports[i]}
  connect_address: ${_pg_hosts[i]}:${_pg_ports[i]}
  data_dir: $dir/data
  bin_dir: $bindir
  pgpass: $dir/pgpass
  use_unix_socket: true
  use_unix_socket_repl: false
  authentication:
    superuser:
      username: postgres
      password: '$SW_PG_SUPER_PASSWORD'
    replication:
      username: replicator
      password: '$SW_PG_REPL_PASSWORD'
    rewind:
      username: postgres
      password: '$SW_PG_SUPER_PASSWORD'
  parameters:
    unix_socket_directories: '$dir'
    unix_socket_permissions: '0700'
    password_encryption: scram-sha-256
$(if [[ $fast == fast ]]; then echo "    fsync: 'off'"; fi)
  pg_hba:
  - local all all trust
  - host replication replicator all scram-sha-256
  - host all all all scram-sha-256
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
YAML
    )
    chown postgres:postgres "$dir/patroni.yml.tmp"
    mv "$dir/patroni.yml.tmp" "$dir/patroni.yml"
}

# sw_pg_ha_cluster NAME: Patroni's /cluster document from the first node that answers.
sw_pg_ha_cluster() {
    local i
    _sw_pg_ha_layout
    for i in 0 1; do
        curl -fsS --max-time 2 "http://${_pg_hosts[i]}:${_api_ports[i]}/cluster" 2>/dev/null && return 0
    done
    return 1
}

# sw_pg_ha_primary NAME: host:port of the running leader.
sw_pg_ha_primary() {
    sw_pg_ha_cluster "$1" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
for m in doc.get("members", []):
    if m.get("role") in ("leader", "master", "primary") and m.get("state") == "running":
        print("%s:%s" % (m["host"], m["port"]))
        sys.exit(0)
sys.exit(1)'
}

sw_pg_ha_running() {
    sw_proc_pid "$1-1" >/dev/null || sw_proc_pid "$1-2" >/dev/null
}

# sw_pg_ha_member_of NAME HOST:PORT: the node name (NAME-1/NAME-2) serving it.
sw_pg_ha_member_of() {
    local i
    _sw_pg_ha_layout
    for i in 0 1; do
        if [[ ${_pg_hosts[i]}:${_pg_ports[i]} == "$2" ]]; then
            printf '%s\n' "$1-$((i + 1))"
            return 0
        fi
    done
    return 1
}

# _sw_pg_ha_sql NODE SQL: one value, as the superuser over NODE's own socket.
_sw_pg_ha_sql() {
    local node=$1 port
    port=$(sed -n 's/^  listen: .*:\([0-9]*\)$/\1/p' "$SW_VAR/$node/patroni.yml" | tail -n1)
    (cd / && runuser -u postgres -- psql -X -qAt -h "$SW_VAR/$node" -p "$port" -U postgres -d postgres -c "$2") 2>/dev/null
}

# _sw_pg_ha_writable_primary NAME: Patroni has a leader, and its server is
# out of recovery (writes succeed).
_sw_pg_ha_writable_primary() {
    local primary node
    primary=$(sw_pg_ha_primary "$1") || return 1
    node=$(sw_pg_ha_member_of "$1" "$primary") || return 1
    [[ $(_sw_pg_ha_sql "$node" "SELECT pg_is_in_recovery()") == f ]]
}

# sw_pg_ha_streaming NAME NODE: NODE is a standby receiving WAL from the primary.
sw_pg_ha_streaming() {
    [[ $(_sw_pg_ha_sql "$2" "SELECT status FROM pg_stat_wal_receiver") == streaming ]]
}

# _sw_pg_ha_patroni_sync NAME: Patroni itself records a running synchronous
# standby (its /sync key; only that node may be promoted or switched to).
_sw_pg_ha_patroni_sync() {
    sw_pg_ha_cluster "$1" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
sys.exit(0 if any(m.get("role") == "sync_standby" and m.get("state") in ("running", "streaming")
                  for m in doc.get("members", [])) else 1)'
}

# sw_pg_ha_sync NAME: the primary has a synchronous standby that is
# streaming, and Patroni knows it as such.
sw_pg_ha_sync() {
    local primary node
    _sw_pg_ha_patroni_sync "$1" || return 1
    primary=$(sw_pg_ha_primary "$1") || return 1
    node=$(sw_pg_ha_member_of "$1" "$primary") || return 1
    [[ $(_sw_pg_ha_sql "$node" "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync' AND state = 'streaming'") -ge 1 ]]
}

# sw_start_pg_ha NAME [fast]
sw_start_pg_ha() {
    local name=$1 fast=${2:-} i node primary pnode url hosts="" apis=""
    _sw_need_var
    _sw_pg_ha_layout
    _sw_pg_ha_secrets
    _sw_start_etcd "$name"
    for i in 0 1; do
        node="$name-$((i + 1))"
        _sw_patroni_conf "$name" "$i" "$fast"
        # setpriv execs (no forking wrapper in between), so the recorded pid
        # is Patroni's own and a TERM reaches it.
        sw_on "${_pg_hosts[i]}"
        sw_start_proc "$node" /dev/null "$SW_VAR/log/$node.log" "${_sw_on[@]}" "$(command -v setpriv)" \
            --reuid postgres --regid postgres --init-groups -- "$(command -v patroni)" "$SW_VAR/$node/patroni.yml"
        hosts+="${hosts:+,}${_pg_hosts[i]}:${_pg_ports[i]}"
        apis+="${apis:+,}${_pg_hosts[i]}:${_api_ports[i]}"
    done
    # Patroni names its leader before the promotion has finished: until then
    # the leader's server is still read-only, and creating the role fails.
    sw_wait_for -t 120 -m "a Patroni leader for $name that accepts writes" _sw_pg_ha_writable_primary "$name" ||
        sw_die "no PostgreSQL primary came up (logs: $SW_VAR/log/$name-1.log, $name-2.log)"
    primary=$(sw_pg_ha_primary "$name")
    pnode=$(sw_pg_ha_member_of "$name" "$primary")
    # Role and database, idempotently; the password is (re)set from secrets.
    _sw_pg_ha_create_db "$pnode" || sw_die "could not create role/database stackwire on $pnode"
    sw_wait_for -t 120 -m "a synchronous standby for $name" sw_pg_ha_sync "$name" ||
        sw_die "the standby did not start streaming (logs: $SW_VAR/log/$name-1.log, $name-2.log)"
    sw_log "postgres primary (per Patroni): $primary ($pnode); standby streaming, synchronous"
    url="postgresql://stackwire:$SW_PG_PASSWORD@$hosts/stackwire?target_session_attrs=read-write"
    STACKWIRE_DATABASE_URL=$url
    STACKWIRE_PATRONI_URLS=$apis
    export STACKWIRE_DATABASE_URL STACKWIRE_PATRONI_URLS
}

_sw_pg_ha_create_db() {
    local node=$1 port
    port=$(sed -n 's/^  listen: .*:\([0-9]*\)$/\1/p' "$SW_VAR/$node/patroni.yml" | tail -n1)
    # pg_monitor: to see its synchronous standby's lag in pg_stat_replication (services/src/infra/replicas.rs).
    _sw_pg_create_db "$SW_VAR/$node" "$port" "GRANT pg_monitor TO stackwire;"
}

# sw_stop_pg_ha NAME: the standby's Patroni first (so stopping the primary
# finds no one to fail over to), then the primary's, then etcd.
sw_stop_pg_ha() {
    local name=$1 primary pnode="" node i
    _sw_need_var
    [[ -d $SW_VAR/$name-1 || -d $SW_VAR/$name-etcd-1 ]] || return 0
    primary=$(sw_pg_ha_primary "$name" 2>/dev/null) && pnode=$(sw_pg_ha_member_of "$name" "$primary")
    for node in "$name-1" "$name-2"; do
        [[ $node == "$pnode" ]] || SW_STOP_TIMEOUT=60 sw_stop_proc "$node"
    done
    if [[ -n $pnode ]]; then SW_STOP_TIMEOUT=60 sw_stop_proc "$pnode"; fi
    # A Patroni that had to be killed leaves its PostgreSQL running.
    for node in "$name-1" "$name-2"; do
        if [[ -f $SW_VAR/$node/data/postmaster.pid ]] && _sw_pg pg_ctl status -D "$SW_VAR/$node/data" >/dev/null 2>&1; then
            sw_log "stopping the PostgreSQL that $node's Patroni left behind"
            _sw_pg pg_ctl stop -D "$SW_VAR/$node/data" -m fast -w -t 60 >/dev/null || true
        fi
    done
    for i in 1 2 3; do sw_stop_proc "$name-etcd-$i"; done
}

# sw_pg_ha_switchover NAME: the standby becomes primary through Patroni (a
# checkpoint, a clean stop of the primary, the standby promoted once it has
# every byte, the old primary following it); waits until it is synchronous again.
sw_pg_ha_switchover() {
    local name=$1 primary pnode cand i conf
    primary=$(sw_pg_ha_primary "$name") || sw_die "no PostgreSQL primary to switch over from"
    pnode=$(sw_pg_ha_member_of "$name" "$primary")
    [[ $pnode == "$name-1" ]] && cand="$name-2" || cand="$name-1"
    sw_wait_for -t 60 -m "$cand streaming and synchronous before the switchover" sw_pg_ha_sync "$name" ||
        sw_die "no synchronous standby to switch over to"
    conf="$SW_VAR/$pnode/patroni.yml"
    _sw_is_primary() { [[ $(sw_pg_ha_member_of "$name" "$(sw_pg_ha_primary "$name")") == "$1" ]]; }
    # patronictl exits 0 even when Patroni refuses (it prints "Switchover
    # failed, details: 412, ..." while its view of the synchronous standby
    # catches up, say): success is judged by who is primary afterwards, a
    # refusal is said as such, and the switchover is asked for again.
    local said=""
    _sw_switch() {
        said=$( (cd / && runuser -u postgres -- patronictl -c "$conf" switchover --leader "$pnode" \
            --candidate "$cand" --force "$name") 2>&1) || true
        printf '%s\n' "$said" >&2
        if grep -qiE 'switchover failed|error' <<<"$said"; then
            sw_log "Patroni refused the switchover to $cand: $(grep -iE 'failed|error' <<<"$said" | head -n1)"
        fi
        sw_wait_for -q -t 20 _sw_is_primary "$cand"
    }
    sw_wait_for -t 90 -m "$cand to be the primary (patronictl switchover)" _sw_switch ||
        sw_die "the switchover to $cand did not happen; $pnode is still the primary." \
            "Patroni's last answer: $(tr '\n' ' ' <<<"$said" | cut -c1-300)"
    sw_wait_for -t 120 -m "$pnode streaming from $cand, synchronous" sw_pg_ha_sync "$name" ||
        sw_die "$pnode did not rejoin as a synchronous standby"
    sw_log "postgres primary switched over from $pnode to $cand; $pnode streams from it"
}

# sw_rolling_restart_pg_ha NAME: each etcd member in turn (two keep the
# quorum), the standby's node, a switchover to it, then the old primary's node.
sw_rolling_restart_pg_ha() {
    local name=$1 i member primary pnode node
    _sw_need_var
    _sw_pg_ha_layout
    for i in 0 1 2; do
        member="$name-etcd-$((i + 1))"
        sw_stop_proc "$member"
        sw_restart_proc "$member"
        sw_wait_for -t 60 -m "etcd $member healthy" _sw_etcd_healthy "${_etcd_hosts[i]}:${_etcd_ports[i]}" ||
            sw_die "etcd $member did not come back"
    done
    primary=$(sw_pg_ha_primary "$name") || sw_die "no PostgreSQL primary"
    pnode=$(sw_pg_ha_member_of "$name" "$primary")
    for node in "$name-1" "$name-2"; do
        [[ $node == "$pnode" ]] && continue
        SW_STOP_TIMEOUT=60 sw_stop_proc "$node"
        sw_restart_proc "$node"
        sw_wait_for -t 120 -m "$node streaming again, synchronous" sw_pg_ha_sync "$name" ||
            sw_die "$node did not rejoin as a synchronous standby"
        sw_log "restarted $node (standby)"
    done
    sw_pg_ha_switchover "$name"
    SW_STOP_TIMEOUT=60 sw_stop_proc "$pnode"
    sw_restart_proc "$pnode"
    sw_wait_for -t 120 -m "$pnode streaming again, synchronous" sw_pg_ha_sync "$name" ||
        sw_die "$pnode did not rejoin as a synchronous standby"
    sw_log "restarted $pnode (the old primary, now the standby)"
}
