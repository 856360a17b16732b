#!/usr/bin/env bash
# Bulk label verification (issue 14, item 23): a procurement team checks hundreds of
# labels. Side by side in one run: N labels verified one process each (the only way
# before `iotcert verify LABEL…`) and the same N in one call, RUNS times each; prints
# the median labels per second of both and their ratio.
# The label comes from a real campaign of the harness's external test suite, issued with
# a development PKI; N copies of it are verified (the chain cache is per process, the
# signature is checked for every label).
set -euo pipefail
cd "$(dirname "$0")/.."
count="${LABELS:-500}"
runs="${RUNS:-5}"
cargo build --release --quiet --bin iotcert
iotcert="$PWD/target/release/iotcert"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export IOTCERT_DATA_DIR="$work/data"
"$iotcert" --quiet pki init --dir "$work/pki" >/dev/null
printf 'firmware' >"$work/fw.bin"
cat >"$work/scheme.toml" <<'SCHEME'
[scheme]
id = "bench-scheme"
name = "bench scheme"
version = 1
label_lifetime_months = 12

[[level]]
number = 1
name = "Baseline"
suites = ["ext"]
SCHEME
cat >"$work/profile.toml" <<PROFILE
[device]
manufacturer = "Bench"
model = "Bulk"
firmware_version = "1"
firmware_image = "fw.bin"

[[units]]
id = "unit-1"
address = "127.0.0.1"

[campaign]
suites = ["ext"]

[[external_suites]]
program = "$PWD/harness/tests/fixtures/external_suite.py"
PROFILE
campaign=$("$iotcert" run "$work/profile.toml" 2>&1 >/dev/null | awk '/^campaign /{print $2; exit}')
"$iotcert" --quiet label issue "$campaign" --key "$work/pki/lab-signer.key.pem" \
  --cert "$work/pki/lab-signer-chain.pem" --scheme "$work/scheme.toml" -o "$work/label" >/dev/null
mkdir -p "$work/labels"
for i in $(seq "$count"); do cp "$work/label/label.json" "$work/labels/$i.json"; done
roots="$work/pki/scheme-root.pem"

rate() { awk -v n="$count" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
now() { date +%s.%N; }
singles=() bulks=()
for run in $(seq "$runs"); do
  start=$(now)
  for f in "$work"/labels/*.json; do "$iotcert" verify "$f" --roots "$roots" >/dev/null; done
  singles+=("$(rate "$(awk -v a="$start" -v b="$(now)" 'BEGIN { print b - a }')")")
  start=$(now)
  "$iotcert" verify "$work"/labels/*.json --roots "$roots" --json >"$work/out.jsonl"
  bulks+=("$(rate "$(awk -v a="$start" -v b="$(now)" 'BEGIN { print b - a }')")")
  [[ $(grep -c '"valid":true' "$work/out.jsonl") == "$count" ]] || { echo "not every label verified" >&2; exit 1; }
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
single=$(median "${singles[@]}")
bulk=$(median "${bulks[@]}")
echo "labels verified per second, $count labels, median of $runs runs"
echo "one process per label: $single/s (runs: ${singles[*]})"
echo "one call, all labels:  $bulk/s (runs: ${bulks[*]})"
awk -v a="$bulk" -v b="$single" 'BEGIN { printf "ratio bulk/single: %.1fx\n", a / b }'
