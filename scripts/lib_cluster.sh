# shellcheck shell=bash
# The cluster of hosts that scripts/cluster.sh builds and scripts/partition.sh
# breaks: sourced by both (after scripts/lib.sh), never run.
#
# Every host is a Linux network namespace `swc-NAME` with one veth whose
# inside end is `eth0` (address 198.18.0.N/24) and whose outside end,
# `swc-NAME`, is a port of the bridge `swc-br0`. The bridge holds 198.18.0.1,
# so this machine (the root namespace) reaches every host, and nothing else:
# no default route, no NAT, no forwarding. 198.18.0.0/15 is RFC 2544's
# benchmarking range, never routed on the Internet. Cutting a host's link is
# `ip link set swc-NAME down` on the outside end: the inside sees no carrier,
# nothing gets in or out, and its processes keep running, unaware.
#
#   edge1 .11, edge2 .12   a balancer each, keepalived sharing the VIP .10
#   app1 .21, app2 .22     one instance of every service and a webui each
#   db1 .31, db2 .32       PostgreSQL under Patroni, an etcd member each
#   db3 .33                the third etcd member (a witness: no PostgreSQL)
#   reg1 .41, reg2 .42     Redis primary, replica; reg3 .43: a Sentinel on each
#
# Only one cluster can be up on a machine at a time (the names and addresses
# are fixed); $SWC_OWNER_FILE names the data directory of the one that is.

SWC_NET=198.18.0
SWC_BRIDGE=swc-br0
SWC_VIP=$SWC_NET.10
SWC_HOSTS=(edge1:11 edge2:12 app1:21 app2:22 db1:31 db2:32 db3:33 reg1:41 reg2:42 reg3:43)
SWC_OWNER_FILE=/run/stackwire-cluster.owner

swc_addr() { # swc_addr NAME: the host's address
    local h
    for h in "${SWC_HOSTS[@]}"; do
        if [[ ${h%%:*} == "$1" ]]; then
            printf '%s.%s\n' "$SWC_NET" "${h#*:}"
            return 0
        fi
    done
    sw_die "no cluster host named $1"
}
# swc_admin EDGE: HOST:PORT of the admin listener (/healthz, /status/json)
# of the balancer on edge host EDGE (edge1 or edge2).
swc_admin() {
    sw_balancer_ports "${1#edge}"
    # shellcheck disable=SC2154 # set by sw_balancer_ports (lib_procs.sh)
    printf '%s:%s\n' "$(swc_addr "$1")" "$_sw_bal_admin"
}
# swc_use_var: the cluster's own data directory (SW_CLUSTER_VAR, else
# cluster/ beside start_all.sh's), with its own settings, becomes SW_VAR.
swc_use_var() {
    if [[ -z ${SW_CLUSTER_VAR:-} ]]; then
        SW_CLUSTER_VAR=$(
            unset SW_VAR
            sw_choose_var
            printf '%s/cluster\n' "$SW_VAR"
        )
    fi
    export SW_CLUSTER_VAR SW_VAR=$SW_CLUSTER_VAR
}
swc_ns() { printf 'swc-%s\n' "$1"; }
swc_names() { local h; for h in "${SWC_HOSTS[@]}"; do printf '%s\n' "${h%%:*}"; done; }

# swc_layout: exports the settings that place every tier on its hosts (read
# by lib_ha.sh, lib_pg_ha.sh and lib_procs.sh's sw_on).
swc_layout() {
    local n map=""
    for n in $(swc_names); do map+="${map:+ }$(swc_addr "$n")=$(swc_ns "$n")"; done
    export SW_HOST_NETNS=$map
    export SW_PG_HOSTS="$(swc_addr db1) $(swc_addr db2)"
    export SW_ETCD_HOSTS="$(swc_addr db1) $(swc_addr db2) $(swc_addr db3)"
    export SW_REDIS_HOSTS="$(swc_addr reg1) $(swc_addr reg2)"
    export SW_SENTINEL_HOSTS="$(swc_addr reg1) $(swc_addr reg2) $(swc_addr reg3)"
    export SW_HTTP_HOST=$SWC_VIP
    # Each node on a host of its own: one port per kind, as on real machines.
    export SW_PG_PORTS="15432 15432" SW_PATRONI_PORTS="18008 18008" SW_ETCD_PORTS="12379 12379 12379"
    export SW_REDIS_PORT=16379 SW_REDIS_REPLICA_PORT=16379 SW_SENTINEL_PORTS="26380 26380 26380"
}

# swc_vip_holder: the edge host that has the virtual address now, or fails.
swc_vip_holder() {
    local n
    for n in edge1 edge2; do
        if ip -n "$(swc_ns "$n")" -4 -o addr show dev eth0 2>/dev/null | grep -q " $SWC_VIP/"; then
            printf '%s\n' "$n"
            return 0
        fi
    done
    return 1
}

swc_net_exists() { ip link show "$SWC_BRIDGE" >/dev/null 2>&1; }

# swc_net_up: bridge, namespaces, veths, addresses (each only if missing).
swc_net_up() {
    local n ns
    if ! swc_net_exists; then
        ip link add "$SWC_BRIDGE" type bridge
        # Forward at once: no STP learning delay on a port that comes back up.
        ip link set "$SWC_BRIDGE" type bridge forward_delay 0 stp_state 0
        ip addr add "$SWC_NET.1/24" dev "$SWC_BRIDGE"
        ip link set "$SWC_BRIDGE" up
    fi
    for n in $(swc_names); do
        ns=$(swc_ns "$n")
        if ! ip netns list | grep -qx "$ns\( (id: [0-9]*)\)\?"; then
            ip netns add "$ns"
        fi
        if ! ip link show "$ns" >/dev/null 2>&1; then
            ip link add "$ns" type veth peer name eth0 netns "$ns"
            ip link set "$ns" master "$SWC_BRIDGE"
            ip -n "$ns" addr add "$(swc_addr "$n")/24" dev eth0
        fi
        ip link set "$ns" up
        ip -n "$ns" link set lo up
        ip -n "$ns" link set eth0 up
    done
    # The balancers bind the virtual address whichever edge holds it now.
    for n in edge1 edge2; do ip netns exec "$(swc_ns "$n")" sysctl -qw net.ipv4.ip_nonlocal_bind=1; done
}

# swc_net_down: every namespace, veth and the bridge (processes first: a
# namespace that still has one lives on after `ip netns del`).
swc_net_down() {
    local n ns
    for n in $(swc_names); do
        ns=$(swc_ns "$n")
        ip link del "$ns" 2>/dev/null || true
        if ip netns list | grep -q "^$ns\( \|$\)"; then ip netns del "$ns"; fi
    done
    if swc_net_exists; then ip link del "$SWC_BRIDGE"; fi
}

# swc_ns_pids: every process inside a cluster namespace.
swc_ns_pids() {
    local n
    for n in $(swc_names); do ip netns pids "$(swc_ns "$n")" 2>/dev/null || true; done
}

swc_cut() { ip link set "$(swc_ns "$1")" down; }  # swc_cut NAME: the host's link down
swc_heal() { ip link set "$(swc_ns "$1")" up; }   # swc_heal NAME: and up again

# swc_slow_on NAME / swc_slow_off NAME: 200 ms delay and 5% loss on
# everything the host sends, with tc netem. A kernel built without sch_netem
# (CONFIG_NET_SCH_NETEM unset, as on some VM kernels: `tc` says "Specified
# qdisc kind is unknown") gets the same from scripts/netdelay.py: an
# iptables NFQUEUE rule (`--queue-bypass`: packets pass if it dies) hands
# each outgoing packet's id to it, and it drops 5% and releases the rest
# 200 ms later. swc_slow_kind says which.
SWC_SLOW_QUEUE=7
swc_slow_on() {
    local ns log pidf
    ns=$(swc_ns "$1")
    if tc -n "$ns" qdisc add dev eth0 root netem delay 200ms loss 5% 2>/dev/null; then
        swc_slow_kind="netem delay 200ms loss 5%"
        return 0
    fi
    log="$SW_VAR/log/netdelay-$1.log"
    pidf="$SW_VAR/run/netdelay-$1.pid"
    : >"$log"
    ip netns exec "$ns" python3 "$SW_REPO/scripts/netdelay.py" "$SWC_SLOW_QUEUE" 200 5 >>"$log" 2>&1 &
    echo "$!" >"$pidf"
    sw_wait_for -t 10 -m "netdelay listening in $ns" grep -q '^netdelay: queue' "$log" ||
        sw_die "scripts/netdelay.py did not start in $ns: $(tail -n 3 "$log")"
    ip netns exec "$ns" iptables-legacy -A OUTPUT -j NFQUEUE --queue-num "$SWC_SLOW_QUEUE" --queue-bypass
    swc_slow_kind="no netem in this kernel: scripts/netdelay.py (NFQUEUE) delay 200ms loss 5%"
}
swc_slow_off() {
    local ns pidf="$SW_VAR/run/netdelay-$1.pid" pid
    ns=$(swc_ns "$1")
    tc -n "$ns" qdisc del dev eth0 root 2>/dev/null || true
    while ip netns exec "$ns" iptables-legacy -D OUTPUT -j NFQUEUE --queue-num "$SWC_SLOW_QUEUE" --queue-bypass 2>/dev/null; do :; done
    if pid=$(cat "$pidf" 2>/dev/null); then
        kill "$pid" 2>/dev/null || true
        sw_wait_for -q -t 5 _sw_pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
        rm -f "$pidf"
    fi
}
