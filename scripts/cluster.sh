#!/usr/bin/env bash
# stackwire on a cluster of hosts: every tier on hosts of its own, each host a
# Linux network namespace on this machine (see scripts/lib_cluster.sh for the
# addresses), so that discovery, health checks, Sentinel, Patroni and the
# balancers meet a real network: hosts that are alive but unreachable, slow
# links, lost packets (scripts/partition.sh does that to them).
#
#   scripts/cluster.sh up       build the hosts, start everything, print the URL
#   scripts/cluster.sh status   hosts, links, the virtual address, every process
#   scripts/cluster.sh down     stop every process, remove every namespace,
#                               veth and the bridge; leaves nothing behind
#
# The same start functions as scripts/start_all.sh (lib_procs.sh, lib_ha.sh,
# lib_pg_ha.sh) place each process on its host: `ip netns exec swc-HOST` in
# front of the very command line a real machine would run, which docs/deploy.md
# gives as systemd units. Every stackwire process gets exactly the environment
# of two files, as its unit does: $SW_VAR/etc/stackwire.env (the registry's
# Sentinels and password, the database URL, the CSRF secret; the same on every
# host) and $SW_VAR/etc/HOST/host.env (SW_HOST, the address it binds).
#
# The edge is one address, 198.18.0.10: keepalived (VRRP version 3, unicast
# between the two edge hosts, no multicast) holds it on one edge host and
# moves it to the other when that host dies or its link goes down; both
# balancers bind it (ip_nonlocal_bind), so whichever host holds it serves.
#
# Needs root. Data (logs, pid files, databases) in $SW_VAR/cluster, where
# SW_VAR is chosen as for start_all.sh (SW_CLUSTER_VAR: another directory);
# SW_BIN_DIR uses ready binaries instead of building release ones;
# SW_START_TIMEOUT (120 s); SW_CLUSTER_WAIT (0 s): how long `up` waits while
# another checkout's cluster is up (there is one per machine).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
# shellcheck source=scripts/lib_cluster.sh
. scripts/lib_cluster.sh

usage() { sw_die "usage: scripts/cluster.sh up|down|status"; }
(($# == 1)) || usage
[[ $(id -u) == 0 ]] || sw_die "cluster.sh needs root (network namespaces)"

swc_use_var

etc="$SW_VAR/etc"
log="$SW_VAR/log"

# The processes of each host, in start order.
app_tiers=(question answer comment user vote webui)

# on_host HOST CMD...: CMD with exactly the environment a unit of HOST gets.
on_host() {
    local host=$1 v
    shift
    (
        for v in $(compgen -e); do [[ $v == PATH ]] || export -n "$v"; done
        set -a
        # shellcheck disable=SC1090,SC1091
        . "$etc/stackwire.env"
        # shellcheck disable=SC1090
        . "$etc/$host/host.env"
        set +a
        "$@"
    )
}

# write_env_files: stackwire.env from what the data tiers exported, host.env per host.
write_env_files() {
    local k v n
    mkdir -p "$etc"
    (
        umask 077
        for k in STACKWIRE_REDIS_SENTINELS STACKWIRE_REDIS_MASTER STACKWIRE_REDIS_PASSWORD \
            STACKWIRE_DATABASE_URL STACKWIRE_PATRONI_URLS STACKWIRE_CSRF_SECRET; do
            v=${!k}
            # Unquoted values, so that systemd and a shell read the file alike.
            [[ $v =~ ^[A-Za-z0-9@:/?=.,_%+-]*$ ]] || sw_die "$k has a character the env file cannot carry"
            printf '%s=%s\n' "$k" "$v"
        done >"$etc/stackwire.env.tmp"
        mv "$etc/stackwire.env.tmp" "$etc/stackwire.env"
        for n in $(swc_names); do
            mkdir -p "$etc/$n"
            {
                printf 'SW_HOST=%s\n' "$(swc_addr "$n")"
                if [[ $n == edge* ]]; then
                    sw_balancer_ports "${n#edge}"
                    printf 'SW_VIP=%s\nSW_BALANCER_PORT=%s\nSW_BALANCER_ADMIN_PORT=%s\n' "$SWC_VIP" "$_sw_bal_port" "$_sw_bal_admin"
                fi
            } >"$etc/$n/host.env"
        done
    )
}

# keepalived_conf I: the VRRP instance of edge host I (1 or 2).
keepalived_conf() {
    local i=$1 me peer dir
    me=$(swc_addr "edge$i")
    peer=$(swc_addr "edge$((3 - i))")
    sw_balancer_ports "$i"
    dir="$SW_VAR/keepalived-$i"
    mkdir -p "$dir"
    cat >"$dir/keepalived.conf" <<CONF
# written by scripts/cluster.sh; changes are overwritten
global_defs {
    router_id stackwire-edge$i
    vrrp_version 3
    # Announce the move at once and again a second later (the machine's ARP cache).
    vrrp_garp_master_delay 1
    vrrp_garp_master_repeat 3
    script_user root
}
# The address follows a balancer that answers, not just a host that is up:
# a balancer that died, hung or was frozen fails /healthz twice (about 2 s)
# and this host gives the address up (FAULT), as HAProxy deployments track
# their proxy's process.
vrrp_script balancer_healthy {
    script "$(command -v curl) -fsS --max-time 1 -o /dev/null http://$me:$_sw_bal_admin/healthz"
    interval 1
    timeout 2
    fall 2
    rise 2
}
vrrp_instance stackwire_edge {
    # Both start as backups; the higher priority is elected, and a host
    # coming back does not take the address back (nopreempt): one move per fault.
    state BACKUP
    nopreempt
    interface eth0
    virtual_router_id 51
    priority $((200 - 50 * i))
    # VRRPv3 adverts every 0.3 s: a silent master is replaced after
    # 3 x 0.3 s + skew, about 1.1 s (the limit is 3 s, under load).
    advert_int 0.3
    unicast_src_ip $me
    unicast_peer {
        $peer
    }
    virtual_ipaddress {
        $SWC_VIP/24 dev eth0
    }
    track_script {
        balancer_healthy
    }
}
CONF
    printf '%s\n' "$dir/keepalived.conf"
}

# other_owner: the data directory of another checkout's cluster that is up
# (or starting) on this machine; fails when there is none. An owner whose
# directory is gone, or whose claim is 10 minutes old with no bridge, is stale.
other_owner() {
    local owner
    owner=$(cat "$SWC_OWNER_FILE" 2>/dev/null) || return 1
    [[ -n $owner && $owner != "$SW_VAR" && -d $owner ]] || return 1
    if ! swc_net_exists && [[ -z $(find "$SWC_OWNER_FILE" -mmin -10 2>/dev/null) ]]; then return 1; fi
    printf '%s\n' "$owner"
}

# claim_cluster: makes this checkout the owner of the machine's cluster,
# waiting up to SW_CLUSTER_WAIT seconds (0) while another one owns it.
claim_cluster() {
    local owner deadline=$((SECONDS + ${SW_CLUSTER_WAIT:-0}))
    exec 9>"$SWC_OWNER_FILE.lock"
    while :; do
        flock 9
        if ! owner=$(other_owner); then
            echo "$SW_VAR" >"$SWC_OWNER_FILE"
            flock -u 9
            return 0
        fi
        flock -u 9
        ((SECONDS < deadline)) || sw_die "a cluster of $owner is up on this machine: run its cluster.sh down first"
        sleep 2
    done
}

cmd_up() {
    local owner n i bin conf started=()
    sw_install_deps python3 patroni etcd-server etcd-client keepalived iproute2 nftables iptables
    claim_cluster
    sw_init_var
    swc_layout
    sw_save_settings
    swc_net_up
    sw_log "hosts: $(for n in $(swc_names); do printf '%s=%s ' "$n" "$(swc_addr "$n")"; done)"

    sw_start_pg_ha pg
    sw_start_redis_ha redis "$SW_REDIS_PORT" "$SW_REDIS_REPLICA_PORT" "$SW_SENTINEL_PORTS"
    write_env_files

    if [[ -n ${SW_BIN_DIR:-} ]]; then
        bin=$SW_BIN_DIR
    else
        sw_log "cargo build --release --workspace --bins"
        cargo build --release --workspace --bins
        bin="${CARGO_TARGET_DIR:-$SW_REPO/target}/release"
    fi
    for i in 1 2; do
        for n in "${app_tiers[@]}"; do
            on_host "app$i" sw_start_rpc_instance "$n" "$i" "$(swc_addr "app$i")" "$bin" "$log"
            started+=("$n-$i")
        done
    done
    for i in 1 2; do
        on_host "edge$i" sw_start_balancer "$i" "$(swc_addr "edge$i")" "$SWC_VIP" "$bin" "$log"
        started+=("balancer-$i")
    done
    for i in 1 2; do
        conf=$(keepalived_conf "$i")
        sw_on "$(swc_addr "edge$i")"
        sw_start_proc "keepalived-$i" /dev/null "$log/keepalived-$i.log" "${_sw_on[@]}" "$(command -v keepalived)" \
            --dont-fork --log-console --log-detail --vrrp --use-file "$conf" \
            --pid "$SW_VAR/keepalived-$i/keepalived.pid" --vrrp_pid "$SW_VAR/keepalived-$i/vrrp.pid"
        started+=("keepalived-$i")
    done
    sw_wait_for -t 30 -m "an edge host holding $SWC_VIP" swc_vip_holder || sw_die "keepalived elected no edge host"
    sw_log "waiting for all instances to register (http://$SWC_VIP:${SW_HTTP_PORT:-8080}/webserv/services)"
    sw_await_registered "http://$SWC_VIP:${SW_HTTP_PORT:-8080}/webserv/services" "${SW_START_TIMEOUT:-120}" \
        "${started[@]}" || exit 1
    echo
    echo "stackwire cluster is up: http://$SWC_VIP:${SW_HTTP_PORT:-8080}/ (held by $(swc_vip_holder))"
    echo "  status:  http://$(swc_admin edge1)/status, http://$(swc_admin edge2)/status"
    echo "  hosts:   scripts/cluster.sh status;  logs: $log/"
    echo "  stop:    scripts/cluster.sh down"
}

cmd_status() {
    local n ns state pid name
    sw_choose_var
    swc_layout
    if [[ -s $SW_VAR/secrets ]]; then sw_secrets; fi
    if ! swc_net_exists; then
        echo "no cluster (bridge $SWC_BRIDGE absent)"
    else
        echo "bridge $SWC_BRIDGE $SWC_NET.1/24; virtual address $SWC_VIP on $(swc_vip_holder || echo nobody)"
        for n in $(swc_names); do
            ns=$(swc_ns "$n")
            state=$(cat "/sys/class/net/$ns/operstate" 2>/dev/null || echo absent)
            printf '  %-6s %-12s link %-5s %s\n' "$n" "$(swc_addr "$n")" "$state" \
                "$(tc -n "$ns" qdisc show dev eth0 2>/dev/null | grep -o 'netem.*' || true)$(
                    [[ -s $SW_VAR/run/netdelay-$n.pid ]] && echo "netdelay.py 200ms 5%")"
        done
    fi
    [[ -d $SW_VAR/run ]] || return 0
    echo "processes ($SW_VAR/run):"
    for name in $(sw_proc_names); do
        if pid=$(sw_proc_pid "$name"); then state="pid $pid"; else state=down; fi
        printf '  %-14s %s\n' "$name" "$state"
    done
    for name in "$SW_VAR"/redis-*/; do
        name=$(basename "$name")
        if pid=$(_sw_live_pid "$SW_VAR/$name/redis.pid" || _sw_live_pid "$SW_VAR/$name/sentinel.pid"); then
            state="pid $pid"
        else
            state=down
        fi
        printf '  %-14s %s\n' "$name" "$state"
    done
    if swc_net_exists; then
        echo "redis primary (per Sentinel): $(sw_redis_primary redis 2>/dev/null || echo none)"
        echo "postgres primary (per Patroni): $(sw_pg_ha_primary pg 2>/dev/null || echo none)"
    fi
}

cmd_down() {
    local name pid pids n owner
    # Links back up and no netem left: the stops below talk to every host.
    if swc_net_exists && ! other_owner >/dev/null; then
        for n in $(swc_names); do
            ip link set "$(swc_ns "$n")" up 2>/dev/null || true
            swc_slow_off "$n"
        done
    fi
    if [[ -d $SW_VAR/run ]]; then
        sw_secrets
        sw_stop_group keepalived-1 keepalived-2 balancer-1 balancer-2
        local rest=()
        for name in $(sw_proc_names); do
            case $name in pg-* | keepalived-* | balancer-*) ;; *) rest+=("$name") ;; esac
        done
        sw_stop_group "${rest[@]}"
        swc_layout
        sw_stop_redis_ha redis
        sw_stop_pg_ha pg
    fi
    # Anything still inside a namespace (a process that outlived its record).
    if owner=$(other_owner); then
        sw_log "the namespaces belong to the cluster of $owner: left alone"
        return 0
    fi
    pids=$(swc_ns_pids | sort -u | tr '\n' ' ')
    if [[ -n ${pids// /} ]]; then
        sw_log "killing what is left in the cluster's namespaces: $pids"
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
        for pid in $pids; do sw_wait_for -q -t 5 _sw_pid_gone "$pid" || true; done
    fi
    swc_net_down
    if [[ -s $SWC_OWNER_FILE && $(cat "$SWC_OWNER_FILE") == "$SW_VAR" ]]; then rm -f "$SWC_OWNER_FILE"; fi
    sw_log "cluster down: no namespace, veth or bridge of it remains"
}

case $1 in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*) usage ;;
esac
