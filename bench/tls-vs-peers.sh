#!/usr/bin/env bash
# Full TLS assessment of one endpoint (the panel's legacy server: TLS 1.0-1.3, every
# OpenSSL suite at SECLEVEL 0, RSA-1024/SHA-1 certificate), median of RUNS runs each:
# iotcert (tls-assess example), sslscan, testssl.sh (full default run). Run by hand:
#   bench/tls-vs-peers.sh            RUNS=5 by default; TESTSSL_RUNS (default RUNS)
# Without testssl.sh installed, its row says "not installed" and the other two run.
# Wall time and CPU time (user + system, the tool and its children) are both reported:
# testssl.sh is a bash script that forks openssl, dd and hexdump thousands of times, so on
# a shared machine its wall time follows the load far more than the other two tools'.
# testssl.sh runs with `--nodns none`: the target is an IP address, and without it
# testssl.sh sends a PTR (rDNS) and a CAA query to the system resolver, off loopback; no
# check of the endpoint is skipped. `--phone-out` stays off (its default), so no CRL or
# OCSP server is contacted either: everything stays on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin"
RUNS=${RUNS:-5}
TESTSSL_RUNS=${TESTSSL_RUNS:-$RUNS}
TESTSSL=$(command -v testssl.sh || command -v testssl || true)
command -v sslscan >/dev/null || { echo "sslscan missing: apt-get install sslscan" >&2; exit 2; }
[[ -n $TESTSSL ]] || echo "testssl.sh missing (apt-get install testssl.sh): measuring iotcert and sslscan only" >&2
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p iotcert-suite-tls --example tls-assess
ASSESS=$CARGO_TARGET_DIR/release/examples/tls-assess

# shellcheck source=bench/tls-panel.sh
source bench/tls-panel.sh
trap stop_panel EXIT
target=$(address_of legacy)

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
measure() { # runs command... -> "wall-median cpu-median" in seconds
  local runs=$1; shift
  local times
  times=$(mktemp)
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %U %S' -o "$times.run" "$@" > /dev/null 2>&1 || true
    tail -n 1 "$times.run" >> "$times"
  done
  echo "$(awk '{print $1}' "$times" | median) $(awk '{print $2 + $3}' "$times" | median)"
  rm -f "$times" "$times.run"
}
ratio() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN {if (b > 0) printf f, a / b; else printf "n/a"}'; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
read -r iotcert iotcert_cpu < <(measure "$RUNS" "$ASSESS" "$target" 4433 "$work/ca.pem")
read -r sslscan sslscan_cpu < <(measure "$RUNS" sslscan --no-colour --show-certificate "$target:4433")
testssl=0 testssl_cpu=0
if [[ -n $TESTSSL ]]; then
  read -r testssl testssl_cpu < <(measure "$TESTSSL_RUNS" "$TESTSSL" --quiet --warnings off --color 0 \
    --nodns none "$target:4433")
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
printf 'endpoint %s:4433, median of %s runs (testssl.sh: %s)\n' "$target" "$RUNS" "$TESTSSL_RUNS"
printf 'load average (1, 5, 15 min) before: %s, after: %s\n' "$load_before" "$load_after"
printf '              wall        CPU\n'
printf '  iotcert    %8.2f s  %8.2f s\n' "$iotcert" "$iotcert_cpu"
printf '  sslscan    %8.2f s  %8.2f s\n' "$sslscan" "$sslscan_cpu"
if [[ -n $TESTSSL ]]; then
  printf '  testssl.sh %8.2f s  %8.2f s\n' "$testssl" "$testssl_cpu"
else
  printf '  testssl.sh not installed\n'
fi
printf '  iotcert / sslscan = %sx wall, %sx CPU; iotcert / testssl.sh = %sx wall\n' \
  "$(ratio "$iotcert" "$sslscan" %.2f)" "$(ratio "$iotcert_cpu" "$sslscan_cpu" %.2f)" \
  "$(ratio "$iotcert" "$testssl" %.3f)"
