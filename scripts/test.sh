#!/usr/bin/env bash
# Runs the full test suite: installs missing Debian packages, starts a
# throw-away Redis (SW_TEST_REDIS_PORT, 26379) and PostgreSQL
# (SW_TEST_PG_PORT, 25432) separate from the ones of start_all.sh, builds the
# debug binaries the integration tests spawn, then `cargo test --workspace`.
# The test Redis and PostgreSQL are stopped on exit, pass or fail; the exit
# status is cargo test's. Extra arguments go to cargo test, e.g.
#   scripts/test.sh -p proto
#   scripts/test.sh -- --nocapture
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

# chromium + chromium-driver: tests/tests/browser.rs drives headless Chromium.
# python3-grpcio, python3-protobuf: tests/tests/grpc_interop.rs drives the RPC ports with grpcio;
# nghttp2-client: h2load drives the h2c endpoint in the same test.
sw_install_deps chromium chromium-driver python3-grpcio python3-protobuf nghttp2-client
sw_init_var

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    sw_stop_redis test-redis || true
    sw_stop_postgres test-pg || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sw_start_redis test-redis "${SW_TEST_REDIS_PORT:-26379}" fast
sw_start_postgres test-pg "${SW_TEST_PG_PORT:-25432}" fast
sw_pg_allow_plans test-pg "${SW_TEST_PG_PORT:-25432}"

export STACKWIRE_TEST_REDIS_URL=$STACKWIRE_REDIS_URL
# Tests reach the test Redis by URL; a Sentinel setting inherited from an
# operator's `. var/env` would send their processes to the start_all registry.
# (tests/tests/failover.rs and chaos.rs start a replicated Redis of their own.)
unset STACKWIRE_REDIS_SENTINELS STACKWIRE_REDIS_MASTER STACKWIRE_REDIS_PASSWORD
export STACKWIRE_TEST_DATABASE_URL=$STACKWIRE_DATABASE_URL
export STACKWIRE_BIN_DIR="${CARGO_TARGET_DIR:-$SW_REPO/target}/debug"
export STACKWIRE_TEST_LOG_DIR="${CARGO_TARGET_DIR:-$SW_REPO/target}/test-logs"
mkdir -p "$STACKWIRE_TEST_LOG_DIR"

sw_log "cargo build --workspace --bins"
cargo build --workspace --bins

# --workspace would override a -p/--package given on the command line.
scope=(--workspace)
for arg in "$@"; do
    case $arg in
    --) break ;;
    -p | -p* | --package | --package=*) scope=() ;;
    esac
done

sw_log "cargo test $(printf "%s " "${scope[@]}" "$@")"
rc=0
cargo test "${scope[@]}" "$@" || rc=$?
sw_log "cargo test exited with status $rc (test logs: $STACKWIRE_TEST_LOG_DIR)"
exit "$rc"
