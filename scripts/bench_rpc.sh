#!/usr/bin/env bash
# stackwire's RPC against tonic, unary echo, side by side in one run.
#
# Servers, each on its own port of this machine: stackwire's native frames
# with the echo answered on the event loop (as tonic answers on its runtime's
# thread), the same with the echo on the worker pool (how services' blocking
# handlers run), the first one again over gRPC/h2c on the same port (called
# by tonic's client, so only the server differs from the anchor), and tonic
# 0.12 (scripts/bench/rpc_tonic, built here, outside the workspace); and a
# stock grpcio (Python) client (scripts/bench/rpc_grpcio/client.py, Debian's
# python3-grpcio) against stackwire's h2c and against tonic: Python's
# interpreter lock makes that client the limit, so its two rows compare the
# servers under the same foreign client (grpcio-h2c / grpcio-tonic), not
# grpcio against the Rust clients. Each is
# called with 1 and with IN_FLIGHT calls in flight
# over one connection (stackwire: that many threads sharing one multiplexed
# `proto::Connection`; tonic: that many tasks sharing one channel), a 22-byte
# message each way, SECS seconds a run, interleaved over ROUNDS rounds so that
# drift hits every side alike. Prints calls/s (median of the rounds), the
# ratios to tonic, and stackwire's h2c over tonic under the grpcio client.
#
# Env: ROUNDS (3), SECS (5), IN_FLIGHT (50), BUILD (1; 0 reuses built binaries),
# SW_BENCH_RPC_PORT (19500: this and the next two ports are used).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ROUNDS=${ROUNDS:-3}
SECS=${SECS:-5}
IN_FLIGHT=${IN_FLIGHT:-50}
PORT=${SW_BENCH_RPC_PORT:-19500}

sw_install_deps python3-grpcio
sw_bench_machine
if [[ ${BUILD:-1} == 1 ]]; then
    cargo build --release -p proto --example rpc_bench
    (cd scripts/bench/rpc_tonic && cargo build --release)
fi
SW=${CARGO_TARGET_DIR:-$SW_REPO/target}/release/examples/rpc_bench
TONIC=scripts/bench/rpc_tonic/target/release/rpc_tonic
[[ -x $SW && -x $TONIC ]] || sw_die "benchmark binaries missing; run with BUILD=1"

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# name, port, client command (given ADDR IN_FLIGHT SECS after it)
sides=(
    "native|$PORT|$SW call"
    "native-pool|$((PORT + 1))|$SW call"
    "h2c|$PORT|$TONIC call"
    "tonic|$((PORT + 2))|$TONIC call"
    "grpcio-h2c|$PORT|/usr/bin/python3 scripts/bench/rpc_grpcio/client.py"
    "grpcio-tonic|$((PORT + 2))|/usr/bin/python3 scripts/bench/rpc_grpcio/client.py"
)
start() { # port, command...
    local port=$1
    shift
    "$@" >/dev/null &
    pids+=($!)
    sw_wait_for -t 10 -m "port $port" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
}
start "$PORT" "$SW" serve "127.0.0.1:$PORT"
start "$((PORT + 1))" "$SW" serve "127.0.0.1:$((PORT + 1))" --pool
start "$((PORT + 2))" "$TONIC" serve "127.0.0.1:$((PORT + 2))"

declare -A runs
for ((round = 1; round <= ROUNDS; round++)); do
    for n in 1 "$IN_FLIGHT"; do
        for side in "${sides[@]}"; do
            IFS='|' read -r name port cmd <<<"$side"
            # shellcheck disable=SC2086 # cmd is a command and its arguments
            out=$($cmd "127.0.0.1:$port" "$n" "$SECS")
            rate=$(awk '{printf "%.0f", $2 / $4}' <<<"$out")
            runs[$name,$n]+="$rate "
            printf 'round %d  %-12s %3d in flight  %8d calls/s\n' "$round" "$name" "$n" "$rate"
        done
    done
done

median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
printf '%-12s %14s %14s %10s %10s\n' side "1 in flight" "$IN_FLIGHT in flight" "ratio@1" "ratio@$IN_FLIGHT"
t1=$(median "${runs[tonic,1]}")
tn=$(median "${runs[tonic,$IN_FLIGHT]}")
for side in "${sides[@]}"; do
    name=${side%%|*}
    m1=$(median "${runs[$name,1]}")
    mn=$(median "${runs[$name,$IN_FLIGHT]}")
    awk -v n="$name" -v a="$m1" -v b="$mn" -v ta="$t1" -v tb="$tn" \
        'BEGIN {printf "%-12s %14d %14d %9.2fx %9.2fx\n", n, a, b, a / ta, b / tb}'
done
g1=$(median "${runs[grpcio-tonic,1]}")
gn=$(median "${runs[grpcio-tonic,$IN_FLIGHT]}")
awk -v a="$(median "${runs[grpcio-h2c,1]}")" -v b="$(median "${runs[grpcio-h2c,$IN_FLIGHT]}")" -v ta="$g1" -v tb="$gn" \
    'BEGIN {printf "grpcio client: stackwire h2c / tonic %9.2fx %9.2fx\n", a / ta, b / tb}'
echo "goals: native >= 2x tonic at 1 in flight and >= 1.5x at $IN_FLIGHT; h2c >= 1.0x at both"
