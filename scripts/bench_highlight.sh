#!/usr/bin/env bash
# The measurement behind webui's choice of highlighter (docs/highlighting.md):
# for each engine (syntect with its default grammars, tree-sitter-highlight
# with three grammars, webui's own tokenizer) a clean release build of
# scripts/bench/highlight timed on this machine (its compile time, the
# binary's size), then the binary run 3 times: milliseconds until it can
# highlight (loading grammars), resident memory then and after highlighting,
# and microseconds per snippet (a Rust, a Python and a JavaScript block).
# Each engine builds in its own target directory under $SW_VAR, so every
# build is from scratch; crates come from crates.io through cargo.
#   scripts/bench_highlight.sh [own|syntect|treesitter ...]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
sw_init_var
engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(own syntect treesitter)
crate=scripts/bench/highlight
for e in "${engines[@]}"; do
    case $e in own | syntect | treesitter) ;; *) sw_die "unknown engine $e (own, syntect, treesitter)" ;; esac
    target="$SW_VAR/bench-highlight/$e"
    rm -rf "$target"
    # Fetch first, so the build time is compile time only.
    cargo fetch --manifest-path "$crate/Cargo.toml" >/dev/null 2>&1 || true
    start=$(date +%s.%N)
    cargo build --quiet --release --manifest-path "$crate/Cargo.toml" --features "$e" --target-dir "$target"
    end=$(date +%s.%N)
    bin="$target/release/highlight_bench"
    printf 'engine=%s clean_build_s=%.1f binary_kb=%d\n' "$e" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$(($(stat -c %s "$bin") / 1024))"
    for _ in 1 2 3; do "$bin"; done
done
