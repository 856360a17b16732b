#!/usr/bin/env bash
# Full TLS assessment of one endpoint (the panel's legacy server: TLS 1.0-1.3, every
# OpenSSL suite at SECLEVEL 0, RSA-1024/SHA-1 certificate), side by side in one run:
# `iotcert run` (the whole process a user starts, the TLS suite with the profile's
# defaults: no [pacing], the panel's CA as trust anchor) against sslscan, and
# testssl.sh (full default run) when installed. Run by hand, never in CI:
#   bench/tls-vs-peers.sh            RUNS=5 rounds; TESTSSL_RUNS=1 (0 skips it)
#
# Rounds alternate tool by tool, the order flipping every round. Every round compares
# findings: the (version, suite) pairs iotcert's report accepted must equal sslscan's,
# and a run that fails (an exit code other than 0, no report, a differing set) fails
# the bench instead of counting. Wall and CPU time (user + system, the tool and its
# children) are both reported: testssl.sh is a bash script that forks openssl, dd and
# hexdump thousands of times, so its wall time follows the load. testssl.sh runs with
# `--nodns none` (no PTR or CAA query off loopback; no check of the endpoint skipped)
# and without `--phone-out`, so everything stays on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin"
RUNS=${RUNS:-5}
TESTSSL_RUNS=${TESTSSL_RUNS:-1}
TESTSSL=$(command -v testssl.sh || command -v testssl || true)
command -v sslscan >/dev/null || { echo "sslscan missing: apt-get install sslscan" >&2; exit 2; }
[[ -n $TESTSSL ]] || echo "testssl.sh missing (apt-get install testssl.sh): measuring iotcert and sslscan only" >&2
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p iotcert
IOTCERT=$CARGO_TARGET_DIR/release/iotcert

# shellcheck source=bench/tls-panel.sh
source bench/tls-panel.sh
trap stop_panel EXIT
target=$(address_of legacy)

cat >"$work/profile.toml" <<TOML
[device]
manufacturer = "Bench"
model = "TLS panel"
firmware_version = "1"

[[units]]
id = "unit-1"
address = "$target"

[[interfaces]]
port = 4433
transport = "tcp"
service = "https"
tls = true

[campaign]
suites = ["tls"]

[tls]
trust_anchors = ["$work/ca.pem"]
TOML

# timed NAME command...: runs it under /usr/bin/time; prints "wall cpu" in seconds and
# fails the bench when it fails.
timed() {
  local name=$1; shift
  if ! /usr/bin/time -f '%e %U %S' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err"; then
    echo "$name failed:" >&2; tail -n 20 "$work/$name.err" >&2; exit 1
  fi
  awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$work/$name.time"
}

# The (version, suite) pairs accepted, one "version suite" line each, sorted.
iotcert_pairs() {
  local campaign sha
  read -r campaign sha < <(python3 - "$work/iotcert/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
items = [e for r in report["results"] if r["check"] == "tls.weak-cipher-suite"
         for e in r.get("evidence", []) if e["label"] == "tls.weak-cipher-suite per port"]
if len(items) != 1:
    sys.exit("iotcert: no per-port evidence of tls.weak-cipher-suite in the report")
print(report["campaign"]["id"], items[0]["sha256"])
PY
  )
  IOTCERT_DATA_DIR="$work/iotcert/data" "$IOTCERT" --quiet evidence "$campaign" "$sha" |
    python3 -c '
import json, sys
for port in json.load(sys.stdin):
    for version, scan in port["scan"]["versions"].items():
        if not scan["enumerated"]:
            sys.exit(f"iotcert: the suites of version {version} were not enumerated")
        for suite in scan["suites"]:
            print(version, suite)' | sort
}
sslscan_pairs() {
  python3 - "$work/sslscan.xml" <<'PY' | sort
import re, sys
versions = {"SSLv2": 2, "SSLv3": 768, "TLSv1.0": 769, "TLSv1.1": 770, "TLSv1.2": 771, "TLSv1.3": 772}
text = open(sys.argv[1]).read()
for match in re.finditer(r'<cipher status="[a-z]+" sslversion="([^"]+)"[^>]*? id="0x([0-9A-Fa-f]+)"', text):
    print(versions[match.group(1)], int(match.group(2), 16))
PY
}

run_iotcert() {
  rm -rf "$work/iotcert"
  timed iotcert env IOTCERT_DATA_DIR="$work/iotcert/data" "$IOTCERT" --quiet run "$work/profile.toml" \
    --out "$work/iotcert" --fail-on never
}
run_sslscan() { timed sslscan sslscan --no-colour --show-certificate --xml="$work/sslscan.xml" "$target:4433"; }
# testssl.sh's exit code counts what it found wrong (245 and above are its own errors),
# so a run is whole when its code is below 245 and it printed its "Done" line.
run_testssl() {
  local code=0
  /usr/bin/time -f '%e %U %S' -o "$work/testssl.time" "$TESTSSL" --quiet --warnings off --color 0 \
    --nodns none "$target:4433" >"$work/testssl.out" 2>"$work/testssl.err" || code=$?
  if ((code >= 245)) || ! grep -q '^ Done ' "$work/testssl.out"; then
    echo "testssl.sh failed (exit $code):" >&2; tail -n 20 "$work/testssl.out" "$work/testssl.err" >&2; exit 1
  fi
  # With a non-zero exit, time writes "Command exited with non-zero status N" first.
  tail -n 1 "$work/testssl.time" | awk '{ printf "%s %.2f\n", $1, $2 + $3 }'
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN {if (b > 0) printf f, a / b; else printf "n/a"}'; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$work/iotcert.times"; : >"$work/sslscan.times"; : >"$work/testssl.times"
for round in $(seq "$RUNS"); do
  tools=(iotcert sslscan)
  if [[ -n $TESTSSL ]] && ((round <= TESTSSL_RUNS)); then tools+=(testssl); fi
  if ((round % 2 == 0)); then tools=("${tools[@]:1}" "${tools[0]}"); fi
  for tool in "${tools[@]}"; do "run_$tool" >>"$work/$tool.times"; done
  iotcert_pairs >"$work/iotcert.pairs"
  sslscan_pairs >"$work/sslscan.pairs"
  if [[ ! -s $work/iotcert.pairs ]] || ! cmp -s "$work/iotcert.pairs" "$work/sslscan.pairs"; then
    echo "round $round: accepted (version, suite) pairs differ:" >&2
    diff "$work/iotcert.pairs" "$work/sslscan.pairs" >&2 || true
    exit 1
  fi
  printf 'round %d (%s): iotcert %s s, sslscan %s s; %d accepted (version, suite) pairs, identical; load %s\n' \
    "$round" "${tools[*]}" "$(tail -n1 "$work/iotcert.times" | cut -d' ' -f1)" \
    "$(tail -n1 "$work/sslscan.times" | cut -d' ' -f1)" "$(wc -l <"$work/iotcert.pairs")" \
    "$(cut -d' ' -f1 /proc/loadavg)"
done
wall() { awk '{print $1}' "$work/$1.times" | median; }
cpu() { awk '{print $2}' "$work/$1.times" | median; }
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
printf '\nendpoint %s:4433, median of %s rounds (testssl.sh: %s)\n' "$target" "$RUNS" "$(wc -l <"$work/testssl.times")"
printf 'load average (1, 5, 15 min) before: %s, after: %s\n' "$load_before" "$load_after"
printf '                          wall        CPU\n'
printf '  iotcert run (defaults) %8.2f s  %8.2f s\n' "$(wall iotcert)" "$(cpu iotcert)"
printf '  sslscan                %8.2f s  %8.2f s\n' "$(wall sslscan)" "$(cpu sslscan)"
if [[ -s $work/testssl.times ]]; then
  printf '  testssl.sh             %8.2f s  %8.2f s\n' "$(wall testssl)" "$(cpu testssl)"
fi
printf '  iotcert / sslscan = %sx wall, %sx CPU\n' \
  "$(ratio "$(wall iotcert)" "$(wall sslscan)" %.3f)" "$(ratio "$(cpu iotcert)" "$(cpu sslscan)" %.2f)"
