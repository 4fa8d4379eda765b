#!/usr/bin/env bash
# Stops everything scripts/start_all.sh started, front to back: the balancers,
# the web UIs, the services (TERM, then KILL after ~10 s), then the private
# Redis (Sentinels first, so no failover starts, then both data nodes) and
# PostgreSQL (the standby's Patroni, the primary's, then etcd). Harmless when nothing is running. The test instances
# of scripts/test.sh are not touched.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

sw_choose_var
if [[ ! -d $SW_VAR ]]; then
    sw_log "nothing to stop ($SW_VAR does not exist)"
    exit 0
fi
sw_log "data directory: $SW_VAR"
sw_secrets

# Balancer first so no new requests come in, then the web UIs, then the rest.
balancers=() webuis=() others=()
for f in "$SW_VAR"/run/*.pid; do
    [[ -f $f ]] || continue
    name=$(basename "$f" .pid)
    case $name in
    pg-*) ;; # the database nodes: below, in their own order
    balancer*) balancers+=("$name") ;;
    webui-*) webuis+=("$name") ;;
    *) others+=("$name") ;;
    esac
done
sw_stop_group "${balancers[@]}"
sw_stop_group "${webuis[@]}"
sw_stop_group "${others[@]}"

sw_stop_redis_ha redis
sw_stop_redis redis # a single Redis from an older start_all.sh
sw_stop_pg_ha pg
sw_stop_postgres pg # a single PostgreSQL (SW_PG_HA=0, or an older start_all.sh)
sw_log "stopped"
