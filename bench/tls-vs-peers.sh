#!/usr/bin/env bash
# Full TLS assessment of one endpoint (the panel's legacy server: TLS 1.0-1.3, every
# OpenSSL suite at SECLEVEL 0, RSA-1024/SHA-1 certificate), median of RUNS runs each:
# iotcert (tls-assess example), sslscan, testssl.sh (full default run). Run by hand:
#   bench/tls-vs-peers.sh            RUNS=5 by default; TESTSSL_RUNS (default RUNS)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin"
RUNS=${RUNS:-5}
TESTSSL_RUNS=${TESTSSL_RUNS:-$RUNS}
TESTSSL=$(command -v testssl.sh || command -v testssl || true)
command -v sslscan >/dev/null || { echo "sslscan missing: apt-get install sslscan" >&2; exit 2; }
[[ -n $TESTSSL ]] || { echo "testssl.sh missing: apt-get install testssl.sh" >&2; exit 2; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p iotcert-suite-tls --example tls-assess
ASSESS=$CARGO_TARGET_DIR/release/examples/tls-assess

# shellcheck source=bench/tls-panel.sh
source bench/tls-panel.sh
trap stop_panel EXIT
target=$(address_of legacy)

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
measure() { # runs command...
  local runs=$1; shift
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s.%N)
    "$@" > /dev/null 2>&1 || true
    end=$(date +%s.%N)
    echo "$end - $start" | bc
  done | median
}
iotcert=$(measure "$RUNS" "$ASSESS" "$target" 4433 "$work/ca.pem")
sslscan=$(measure "$RUNS" sslscan --no-colour --show-certificate "$target:4433")
testssl=$(measure "$TESTSSL_RUNS" "$TESTSSL" --quiet --warnings off --color 0 "$target:4433")
printf 'endpoint %s:4433, median of %s runs (testssl.sh: %s)\n' "$target" "$RUNS" "$TESTSSL_RUNS"
printf '  iotcert    %8.2f s\n  sslscan    %8.2f s\n  testssl.sh %8.2f s\n' "$iotcert" "$sslscan" "$testssl"
printf '  iotcert / sslscan = %.2fx, iotcert / testssl.sh = %.3fx\n' \
  "$(echo "$iotcert / $sslscan" | bc -l)" "$(echo "$iotcert / $testssl" | bc -l)"
