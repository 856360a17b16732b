#!/usr/bin/env bash
# Label verification benchmark (issue "Trust label"): verifications per second on one
# core and the size of a level-2 label with a two-certificate chain. Runs
# label/examples/label_bench.rs RUNS times (default 5, SECONDS each phase, default 2),
# pinned to one core when taskset exists, and prints the median of each figure, per
# wall-clock second and per second of CPU time (the fair figure on a shared machine).
# Goals: >= 10000 verifications/s, <= 4096 bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${RUNS:-5}"
seconds="${SECONDS_PER_PHASE:-2}"
cargo build --release --quiet --manifest-path label/Cargo.toml --example label_bench
pin=()
if command -v taskset >/dev/null 2>&1; then
  pin=(taskset -c "${CPU:-0}")
fi
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for run in $(seq "$runs"); do
  "${pin[@]}" cargo run --release --quiet --manifest-path label/Cargo.toml --example label_bench -- "$seconds" \
    | sed "s/^/$run /" >>"$results"
done
echo "label verification, median of $runs runs (${seconds}s per phase, one thread${pin:+, ${pin[*]}})"
for key in label_bytes chain_certificates \
  warm_verifications_per_second warm_verifications_per_cpu_second \
  cold_verifications_per_second cold_verifications_per_cpu_second \
  ecdsa_p256_verifications_per_second ecdsa_p256_verifications_per_cpu_second; do
  median=$(awk -v key="$key" '$2 == key { print $3 }' "$results" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  all=$(awk -v key="$key" '$2 == key { printf "%s ", $3 }' "$results")
  printf '%-32s %10s   (runs: %s)\n' "$key" "$median" "${all% }"
done
