#!/usr/bin/env bash
# iotcert's credential guessing against THC hydra, in one run, on the same machine.
#
# Both tools get the same password list (the right password last), the same user and
# the same concurrency (16 connections), against servers on loopback addresses of this
# script's own:
#
#   1. no throttle: lighttpd basic authentication with `auth.delay-invalid-creds`
#      disabled (a `server.feature-flags` entry in lighttpd 1.4.69), 1,000 passwords:
#      the tools' own speed;
#   2. throttling servers, where the server sets the bound and iotcert must reach it and
#      report the throttle it measured (5.1-5):
#      - lighttpd's default 1 s delay per failed login (bound: 16 connections / 1 s);
#      - dropbear: about 300 ms per failed password and at most 5 unauthenticated
#        connections per address, the rest closed at once (bound: 5 / 0.3 s);
#      - vsftpd with PAM: pam_unix's 2 s fail delay plus vsftpd's 1 s
#        `delay_failed_login` (bound: 16 connections / 3 s).
#      These use the first THROTTLED_PASSWORDS (default 200; vsftpd: FTP_PASSWORDS,
#      default 100) of the list, the right one moved last, to keep the run short.
#
# Each tool runs RUNS times (default 5) per server, alternating; the medians of attempts
# per second are printed with their ratio, and both tools' findings must be the same
# password. Rates are passwords sent per second until the right one (last) is found:
# hydra's the whole list over its time; iotcert's the attempts it saw judged plus those
# it abandoned in flight when the password was found (as hydra -f does), over its time.
# The tools take turns with a second's pause, so a server has let go of one tool's
# connections before the other starts. The bound printed for a throttling server comes
# from iotcert's measurement: connections held at once over the median failure time.
#
# Needs: lighttpd, hydra, dropbear, vsftpd, bc (apt-get install -y lighttpd hydra
# dropbear-bin vsftpd bc), cargo. dropbear and vsftpd log in system accounts: as root the
# script makes a throw-away user for them (removed at exit); as any other user those two
# servers are skipped. SERVERS (default "lighttpd dropbear vsftpd") picks which run.
# Run by hand, never in CI: `bench/credentials-vs-hydra.sh`.
set -euo pipefail

RUNS="${RUNS:-5}"
CONCURRENCY="${CONCURRENCY:-16}"
THROTTLED_PASSWORDS="${THROTTLED_PASSWORDS:-200}"
FTP_PASSWORDS="${FTP_PASSWORDS:-100}"
SERVERS="${SERVERS:-lighttpd dropbear vsftpd}"
ADDRESS="${ADDRESS:-127.64.20.1}"
PORT="${PORT:-18090}"
SSH_ADDRESS=127.64.20.2
SSH_PORT=18022
FTP_ADDRESS=127.64.20.3
FTP_PORT=18021
USER_NAME=admin
SYSTEM_USER=iotcbench
RIGHT='Zq9-right-Pass-41'

for tool in lighttpd hydra cargo python3 bc curl; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y lighttpd hydra bc curl)" >&2; exit 2; }
done

here="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
cargo build --quiet --release -p iotcert-suite-credentials --example guess --manifest-path "$here/Cargo.toml"
guess="$CARGO_TARGET_DIR/release/examples/guess"

work="$(mktemp -d)"
lighttpd_pid=""
server_pid=""
made_user=""
cleanup() {
    [ -n "$lighttpd_pid" ] && kill "$lighttpd_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    [ -n "$made_user" ] && userdel -r "$made_user" 2>/dev/null || true
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
{ head -n "$((FTP_PASSWORDS - 1))" "$work/list-1000.txt"; echo "$RIGHT"; } > "$work/list-ftp.txt"

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

stop_server() {
    [ -n "$server_pid" ] && { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
    server_pid=""
}

wait_port() { # $1: address, $2: port, $3: the server's log
    for _ in $(seq 50); do
        python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.2).close()' "$1" "$2" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "no server on $1:$2: $(cat "$3")" >&2
    exit 2
}

make_system_user() {
    [ "$(id -u)" = 0 ] || return 1
    [ -n "$made_user" ] && return 0
    userdel -r "$SYSTEM_USER" 2>/dev/null || true
    useradd -m -s /bin/sh "$SYSTEM_USER"
    made_user=$SYSTEM_USER
    echo "$SYSTEM_USER:$RIGHT" | chpasswd
}

run_hydra() { # $1: list, then hydra's target arguments; prints "attempts seconds found"
    local list=$1 started ended out found
    shift
    started=$(date +%s.%N)
    out=$(hydra -I -q -f -t "$CONCURRENCY" -P "$list" "$@" 2>&1 || true)
    ended=$(date +%s.%N)
    found=$(echo "$out" | sed -n 's/.*password: \(.*\)$/\1/p' | head -n1)
    echo "$(wc -l < "$list") $(echo "$ended - $started" | bc -l) ${found:-none}"
}

run_iotcert() { # $1: list, then ADDRESS PORT PROTOCOL USER [PATH]; prints "attempts seconds found", the JSON on stderr
    local list=$1 json
    shift
    json=$("$guess" "$1" "$2" "$3" "$4" "$list" "$CONCURRENCY" "${@:5}")
    echo "$json" >&2
    python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(j["attempts"] + j["abandoned"], j["seconds"], (j["accepted"] or ["none"])[0].split("/",1)[-1])' "$json"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# $1: label, $2: list, $3: hydra's target arguments, $4: iotcert's (each one word list)
compare() {
    local h_rates=() i_rates=() h_found="" i_found="" line n s f
    : > "$work/iotcert.jsonl"
    for run in $(seq "$RUNS"); do
        # shellcheck disable=SC2086 # the argument lists are split on purpose
        line=$(run_hydra "$2" $3); read -r n s f <<<"$line"
        h_rates+=("$(echo "$n / $s" | bc -l)"); h_found="$f"
        sleep 1
        # shellcheck disable=SC2086
        line=$(run_iotcert "$2" $4 2>>"$work/iotcert.jsonl"); read -r n s f <<<"$line"
        i_rates+=("$(echo "$n / $s" | bc -l)"); i_found="$f"
        printf '  run %d: hydra %.1f/s, iotcert %.1f/s\n' "$run" "${h_rates[-1]}" "${i_rates[-1]}"
        sleep 1
    done
    local h_median i_median
    h_median=$(printf '%s\n' "${h_rates[@]}" | median)
    i_median=$(printf '%s\n' "${i_rates[@]}" | median)
    printf '%s: hydra median %.1f attempts/s, iotcert median %.1f attempts/s, ratio %.2fx\n' \
        "$1" "$h_median" "$i_median" "$(echo "$i_median / $h_median" | bc -l)"
    echo "  findings: hydra '$h_found', iotcert '$i_found' $([ "$h_found" = "$i_found" ] && echo '(identical)' || echo '(DIFFER)')"
    python3 - "$work/iotcert.jsonl" "$CONCURRENCY" <<'EOF'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
limits = [r["connection_limit"] for r in runs if r.get("connection_limit")]
held = min(limits) if limits else int(sys.argv[2])
delay = statistics.median(r["median_attempt_ms"] or 0 for r in runs) / 1000
if delay >= 0.25:
    seen = f"; iotcert saw at most {held} held at once" if limits else ""
    print(f"  server bound: {held} connections / {delay:.2f} s per failure = {held / delay:.1f} attempts/s{seen}")
b = runs[-1]["brute_force"]
print(f"  iotcert 5.1-5: {b['verdict']} {b['summary']}")
EOF
}

for server in $SERVERS; do
    case "$server" in
    lighttpd)
        echo "== lighttpd basic auth, no delay ($(wc -l < "$work/list-1000.txt") passwords, $CONCURRENCY connections, $RUNS runs)"
        start_lighttpd 'server.feature-flags += ("auth.delay-invalid-creds" => "disable")'
        compare "lighttpd, no throttle" "$work/list-1000.txt" \
            "-l $USER_NAME -s $PORT $ADDRESS http-get /" "$ADDRESS $PORT http $USER_NAME /"
        echo "== lighttpd basic auth, default 1 s delay per failure ($(wc -l < "$work/list-throttled.txt") passwords)"
        start_lighttpd ''
        compare "lighttpd, throttled" "$work/list-throttled.txt" \
            "-l $USER_NAME -s $PORT $ADDRESS http-get /" "$ADDRESS $PORT http $USER_NAME /"
        ;;
    dropbear)
        command -v dropbear >/dev/null || { echo "== dropbear skipped: apt-get install -y dropbear-bin"; continue; }
        make_system_user || { echo "== dropbear skipped: a throw-away system user needs root"; continue; }
        echo "== dropbear password login ($(wc -l < "$work/list-throttled.txt") passwords)"
        stop_server
        dropbearkey -t ed25519 -f "$work/dropbear_key" >/dev/null 2>&1
        dropbear -F -E -p "$SSH_ADDRESS:$SSH_PORT" -r "$work/dropbear_key" 2>"$work/dropbear.log" &
        server_pid=$!
        wait_port "$SSH_ADDRESS" "$SSH_PORT" "$work/dropbear.log"
        compare "dropbear, throttled" "$work/list-throttled.txt" \
            "-l $SYSTEM_USER -s $SSH_PORT $SSH_ADDRESS ssh" "$SSH_ADDRESS $SSH_PORT ssh $SYSTEM_USER"
        stop_server
        ;;
    vsftpd)
        command -v vsftpd >/dev/null || { echo "== vsftpd skipped: apt-get install -y vsftpd"; continue; }
        make_system_user || { echo "== vsftpd skipped: a throw-away system user needs root"; continue; }
        echo "== vsftpd with PAM ($(wc -l < "$work/list-ftp.txt") passwords)"
        stop_server
        mkdir -p "$work/empty"
        cat > "$work/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=$FTP_ADDRESS
listen_port=$FTP_PORT
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=NO
seccomp_sandbox=NO
pam_service_name=vsftpd
secure_chroot_dir=$work/empty
EOF
        vsftpd "$work/vsftpd.conf" 2>"$work/vsftpd.log" &
        server_pid=$!
        wait_port "$FTP_ADDRESS" "$FTP_PORT" "$work/vsftpd.log"
        compare "vsftpd, throttled" "$work/list-ftp.txt" \
            "-l $SYSTEM_USER -s $FTP_PORT $FTP_ADDRESS ftp" "$FTP_ADDRESS $FTP_PORT ftp $SYSTEM_USER"
        stop_server
        ;;
    *) echo "unknown server $server (lighttpd, dropbear, vsftpd)" >&2; exit 2 ;;
    esac
done
