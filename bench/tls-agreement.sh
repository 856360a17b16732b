#!/usr/bin/env bash
# Agreement of the iotcert TLS suite with testssl.sh on a panel of misconfigured servers
# (bench/tls-panel.sh). For each server and each finding both tools cover, prints
# whether they agree, then the agreement rate. Run by hand, never in CI:
#   bench/tls-agreement.sh
# Needs openssl, nginx (nginx-light) and testssl.sh (Debian package testssl.sh, command
# `testssl`). testssl.sh runs the tests that map to iotcert's checks, all servers in
# parallel; expect a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin"
TESTSSL=$(command -v testssl.sh || command -v testssl || true)
[[ -n $TESTSSL ]] || { echo "testssl.sh missing: apt-get install testssl.sh" >&2; exit 2; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p iotcert-suite-tls --example tls-assess
ASSESS=$CARGO_TARGET_DIR/release/examples/tls-assess

# shellcheck source=bench/tls-panel.sh
source bench/tls-panel.sh
trap stop_panel EXIT

for name in $PANEL; do
  address=$(address_of "$name")
  "$ASSESS" "$address" 4433 "$work/ca.pem" > "$work/$name.iotcert.jsonl"
  "$TESTSSL" --quiet --warnings off --color 0 --add-ca "$work/ca.pem" -p -s -S -R -C -Z -H \
    --jsonfile "$work/$name.testssl.json" "$address:4433" > /dev/null 2>&1 &
done
wait_for_testssl() { for name in $PANEL; do while [[ ! -s $work/$name.testssl.json ]] || ! python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$work/$name.testssl.json" 2>/dev/null; do sleep 2; done; done; }
wait_for_testssl

python3 - "$work" $PANEL <<'PY'
import json, sys
work, panel = sys.argv[1], sys.argv[2:]
def offered(f): return f.get("finding", "").startswith("offered")
# finding -> (iotcert check, iotcert says "problem" when verdict is FAIL,
#             testssl says "problem" from its own JSON)
def testssl_views(t):
    g = lambda i: t.get(i, {"severity": "", "finding": ""})
    return {
        "legacy protocol (SSLv3/TLS1.0/TLS1.1)": any(offered(g(i)) for i in ("SSLv3", "TLS1", "TLS1_1")),
        "no TLS 1.2/1.3": not any(offered(g(i)) for i in ("TLS1_2", "TLS1_3")),
        "weak suites (NULL/aNULL/EXPORT/LOW/3DES)": any(offered(g(i)) for i in ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW", "cipherlist_3DES_IDEA")),
        "insecure renegotiation": g("secure_renego")["severity"] not in ("OK", "INFO", ""),
        "compression (CRIME)": g("CRIME_TLS")["severity"] not in ("OK", "INFO", ""),
        "no fallback protection": g("fallback_SCSV")["severity"] not in ("OK", "INFO", ""),
        "heartbleed": g("heartbleed")["severity"] not in ("OK", "INFO", ""),
        "certificate expired": "expired" in g("cert_expirationStatus")["finding"].lower(),
        "untrusted chain": g("cert_chain_of_trust")["severity"] not in ("OK", "INFO", ""),
        "name mismatch": g("cert_trust")["severity"] not in ("OK", "INFO", ""),
        "weak key": g("cert_keySize")["severity"] not in ("OK", "INFO", ""),
        "SHA-1/MD5 signature": g("cert_signatureAlgorithm")["severity"] not in ("OK", "INFO", ""),
    }
CHECK = {
    "legacy protocol (SSLv3/TLS1.0/TLS1.1)": "tls.legacy-protocol",
    "no TLS 1.2/1.3": "tls.modern-protocol",
    "weak suites (NULL/aNULL/EXPORT/LOW/3DES)": "tls.weak-cipher-suite",
    "insecure renegotiation": "tls.secure-renegotiation",
    "compression (CRIME)": "tls.compression",
    "no fallback protection": "tls.fallback-protection",
    "heartbleed": "tls.heartbleed",
    "certificate expired": "tls.certificate-validity",
    "untrusted chain": "tls.certificate-trust",
    "name mismatch": "tls.certificate-name",
    "weak key": "tls.certificate-key-strength",
    "SHA-1/MD5 signature": "tls.certificate-signature",
}
agree = total = 0
for name in panel:
    mine = {}
    for line in open(f"{work}/{name}.iotcert.jsonl"):
        r = json.loads(line); mine[r["check"]] = r
    raw = json.load(open(f"{work}/{name}.testssl.json"))
    theirs = testssl_views({f["id"]: f for f in raw})
    for finding, check in CHECK.items():
        r = mine.get(check)
        if r is None or r["verdict"] not in ("PASS", "FAIL"):
            print(f"{name:11} {finding:42} iotcert undecided ({r and r['verdict']}) - skipped")
            continue
        ours = r["verdict"] == "FAIL"
        total += 1
        same = ours == theirs[finding]
        agree += same
        print(f"{name:11} {finding:42} iotcert={'problem' if ours else 'ok':7} testssl={'problem' if theirs[finding] else 'ok':7} {'agree' if same else 'DISAGREE'}")
print(f"agreement: {agree}/{total} = {100.0 * agree / max(total, 1):.1f}%")
PY
