#!/usr/bin/env bash
# iotcert's credential guessing against THC hydra, in one run, on the same machine.
#
# Both tools get the same 1,000-password list (the right password last), the same user
# and the same concurrency (16 connections), against lighttpd basic authentication on a
# loopback address of this script's own:
#
#   1. no throttle: `auth.delay-invalid-creds` disabled (a `server.feature-flags` entry
#      in lighttpd 1.4.69): the tools' own speed;
#   2. throttle: lighttpd's default 1 s delay per failed login: the server sets the bound
#      (concurrency / delay), and iotcert must reach it and report the throttle (5.1-5).
#
# Each tool runs RUNS times (default 5) per server, alternating; the medians of attempts
# per second are printed with their ratio, and both tools' findings must be the same
# password. The throttled case uses the first THROTTLED_PASSWORDS (default 200) of the
# list, the right one moved last, to keep the run short.
#
# Needs: lighttpd, hydra (apt-get install -y lighttpd hydra), cargo. Run by hand, as any
# user, never in CI: `bench/credentials-vs-hydra.sh`.
set -euo pipefail

RUNS="${RUNS:-5}"
CONCURRENCY="${CONCURRENCY:-16}"
THROTTLED_PASSWORDS="${THROTTLED_PASSWORDS:-200}"
ADDRESS="${ADDRESS:-127.64.20.1}"
PORT="${PORT:-18090}"
USER_NAME=admin
RIGHT='Zq9-right-Pass-41'

for tool in lighttpd hydra cargo python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y lighttpd hydra)" >&2; exit 2; }
done

here="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
cargo build --quiet --release -p iotcert-suite-credentials --example guess --manifest-path "$here/Cargo.toml"
guess="$CARGO_TARGET_DIR/release/examples/guess"

work="$(mktemp -d)"
lighttpd_pid=""
cleanup() {
    [ -n "$lighttpd_pid" ] && kill "$lighttpd_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The list: 999 plausible wrong passwords, then the right one.
python3 - "$work/list-1000.txt" "$RIGHT" <<'EOF'
import sys
words = ["admin", "password", "root", "12345", "qwerty", "letmein", "camera", "default"]
lines = [f"{words[i % len(words)]}{i:04d}" for i in range(999)] + [sys.argv[2]]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
EOF
{ head -n "$((THROTTLED_PASSWORDS - 1))" "$work/list-1000.txt"; echo "$RIGHT"; } > "$work/list-throttled.txt"

echo "$USER_NAME:$RIGHT" > "$work/users"
echo "device home" > "$work/index.html"

start_lighttpd() { # $1: extra configuration line
    [ -n "$lighttpd_pid" ] && { kill "$lighttpd_pid" 2>/dev/null || true; wait "$lighttpd_pid" 2>/dev/null || true; }
    cat > "$work/lighttpd.conf" <<EOF
server.document-root = "$work"
server.bind = "$ADDRESS"
server.port = $PORT
server.max-connections = 1024
server.modules += ("mod_auth", "mod_authn_file")
index-file.names = ("index.html")
auth.backend = "plain"
auth.backend.plain.userfile = "$work/users"
auth.require = ("/" => ("method" => "basic", "realm" => "cam", "require" => "valid-user"))
$1
EOF
    lighttpd -D -f "$work/lighttpd.conf" 2>"$work/lighttpd.log" &
    lighttpd_pid=$!
    for _ in $(seq 50); do
        curl -s -o /dev/null "http://$ADDRESS:$PORT/" && return 0
        sleep 0.1
    done
    echo "lighttpd did not start: $(cat "$work/lighttpd.log")" >&2
    exit 2
}

run_hydra() { # $1: list; prints "attempts seconds found"
    local started ended out found
    started=$(date +%s.%N)
    out=$(hydra -I -q -f -t "$CONCURRENCY" -l "$USER_NAME" -P "$1" -s "$PORT" "$ADDRESS" http-get / 2>&1 || true)
    ended=$(date +%s.%N)
    found=$(echo "$out" | sed -n 's/.*password: \(.*\)$/\1/p' | head -n1)
    echo "$(wc -l < "$1") $(echo "$ended - $started" | bc -l) ${found:-none}"
}

run_iotcert() { # $1: list; prints "attempts seconds found" then the JSON line on stderr
    local json
    json=$("$guess" "$ADDRESS" "$PORT" http "$USER_NAME" "$1" "$CONCURRENCY" /)
    echo "$json" >&2
    python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(j["attempts"], j["seconds"], (j["accepted"] or ["none"])[0].split("/",1)[-1])' "$json"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

compare() { # $1: label, $2: list
    local h_rates=() i_rates=() h_found="" i_found="" line
    for run in $(seq "$RUNS"); do
        line=$(run_hydra "$2"); read -r n s f <<<"$line"
        h_rates+=("$(echo "$n / $s" | bc -l)"); h_found="$f"
        line=$(run_iotcert "$2" 2>>"$work/iotcert.jsonl"); read -r n s f <<<"$line"
        i_rates+=("$(echo "$n / $s" | bc -l)"); i_found="$f"
        printf '  run %d: hydra %.1f/s, iotcert %.1f/s\n' "$run" "${h_rates[-1]}" "${i_rates[-1]}"
    done
    local h_median i_median
    h_median=$(printf '%s\n' "${h_rates[@]}" | median)
    i_median=$(printf '%s\n' "${i_rates[@]}" | median)
    printf '%s: hydra median %.1f attempts/s, iotcert median %.1f attempts/s, ratio %.2fx\n' \
        "$1" "$h_median" "$i_median" "$(echo "$i_median / $h_median" | bc -l)"
    echo "  findings: hydra '$h_found', iotcert '$i_found' $([ "$h_found" = "$i_found" ] && echo '(identical)' || echo '(DIFFER)')"
    echo "  iotcert 5.1-5: $(tail -n1 "$work/iotcert.jsonl" | python3 -c 'import json,sys; b=json.load(sys.stdin)["brute_force"]; print(b["verdict"], b["summary"])')"
}

echo "== lighttpd basic auth, no delay ($(wc -l < "$work/list-1000.txt") passwords, $CONCURRENCY connections, $RUNS runs)"
start_lighttpd 'server.feature-flags += ("auth.delay-invalid-creds" => "disable")'
compare "no throttle" "$work/list-1000.txt"

echo "== lighttpd basic auth, default 1 s delay per failure ($(wc -l < "$work/list-throttled.txt") passwords)"
start_lighttpd ''
compare "throttled" "$work/list-throttled.txt"
echo "  server bound: $CONCURRENCY connections / 1 s = $CONCURRENCY attempts/s"
