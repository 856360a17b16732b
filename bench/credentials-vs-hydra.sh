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
# Two kinds of rows. The headline rows (MODE=run, the default; MODE=both runs both)
# time `iotcert run` itself, the whole process a user starts, with the profile's
# defaults (the credentials suite only, no [pacing], no [credentials] settings but the
# list, given as the model's `known_defaults`), against hydra with its own defaults
# (16 tasks): lighttpd without and with its delay. iotcert's rate there is the list
# over the whole process's time, which also covers its built-in database, the
# 5.1-5 measurement and the report; its finding is the default-credential check's.
# The example rows (MODE=example) time `examples/guess.rs`, the suite's guessing
# alone, at CONCURRENCY connections each and a pacer of 256 open and 100,000/s.
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
MODE="${MODE:-run}"
ADDRESS="${ADDRESS:-127.64.20.1}"
PORT="${PORT:-18090}"
SSH_ADDRESS=127.64.20.2
SSH_PORT=18022
FTP_ADDRESS=127.64.20.3
FTP_PORT=18021
USER_NAME=admin
SYSTEM_USER=iotcbench
RIGHT='Zq9-right-Pass-41'
# The unit's own credential, declared to iotcert as the control that shows a good login.
OWN_USER=operator
OWN='unit-1-own-Secret-77'

for tool in lighttpd hydra cargo python3 bc curl; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y lighttpd hydra bc curl)" >&2; exit 2; }
done

here="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
cargo build --quiet --release -p iotcert-suite-credentials --example guess -p iotcert --manifest-path "$here/Cargo.toml"
guess="$CARGO_TARGET_DIR/release/examples/guess"
iotcert="$CARGO_TARGET_DIR/release/iotcert"

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

printf '%s:%s\n%s:%s\n' "$USER_NAME" "$RIGHT" "$OWN_USER" "$OWN" > "$work/users"
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

# `iotcert run` with the defaults, the list as the model's known defaults; $1: list,
# then ADDRESS PORT SERVICE USER; prints "attempts seconds found" (attempts: the list).
run_campaign() {
    local list=$1 address=$2 port=$3 service=$4 user=$5 started ended
    {
        printf '[device]\nmanufacturer = "Bench"\nmodel = "Login"\nfirmware_version = "1"\n\n'
        printf '[[units]]\nid = "unit-1"\naddress = "%s"\n\n' "$address"
        printf '[[interfaces]]\nport = %s\ntransport = "tcp"\nservice = "%s"\nauthentication = "password"\n\n' "$port" "$service"
        printf '[campaign]\nsuites = ["credentials"]\n\n'
        printf '[[credentials.unit_credentials]]\nunit = "unit-1"\nservice = "%s"\nusername = "%s"\npassword = "%s"\n\n' \
            "$service" "$OWN_USER" "$OWN"
        while read -r password; do
            printf '[[credentials.known_defaults]]\nusername = "%s"\npassword = "%s"\n\n' "$user" "$password"
        done <"$list"
    } >"$work/campaign.toml"
    rm -rf "$work/campaign"
    started=$(date +%s.%N)
    if ! IOTCERT_DATA_DIR="$work/campaign/data" "$iotcert" --quiet run "$work/campaign.toml" \
        --out "$work/campaign" --fail-on never >"$work/campaign.log" 2>&1; then
        echo "iotcert run failed:" >&2; tail -n 20 "$work/campaign.log" >&2; exit 1
    fi
    ended=$(date +%s.%N)
    python3 - "$work/campaign/report.json" "$RIGHT" "$(wc -l <"$list")" "$(echo "$ended - $started" | bc -l)" <<'PY'
import json, sys
report, right, attempts, seconds = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]
result = next(r for r in report["results"] if r["check"] == "credentials.default-credential")
found = right if result["verdict"] == "FAIL" and right in json.dumps(result) else "none"
if found == "none":
    print(f"iotcert: {result['verdict']}: {result['summary']}", file=sys.stderr)
print(attempts, seconds, found)
print("brute-force " + json.dumps({"brute_force": next(
    {"verdict": r["verdict"], "summary": r["summary"]}
    for r in report["results"] if r["check"] == "credentials.brute-force-resistance")}), file=sys.stderr)
PY
}

# Like compare, for the headline rows: `iotcert run` (defaults) against hydra (defaults).
compare_run() { # $1: label, $2: list, $3: hydra's target arguments, $4: ADDRESS PORT SERVICE USER
    local h_rates=() i_rates=() line n s f
    for run in $(seq "$RUNS"); do
        # shellcheck disable=SC2086 # the argument lists are split on purpose
        if ((run % 2)); then
            line=$(run_hydra_defaults "$2" $3); read -r n s f <<<"$line"
            h_rates+=("$(echo "$n / $s" | bc -l)"); check_found hydra "$f" "$run"
            sleep 1
            line=$(run_campaign "$2" $4 2>"$work/campaign.err"); read -r n s f <<<"$line"
            i_rates+=("$(echo "$n / $s" | bc -l)"); check_found iotcert "$f" "$run"
        else
            line=$(run_campaign "$2" $4 2>"$work/campaign.err"); read -r n s f <<<"$line"
            i_rates+=("$(echo "$n / $s" | bc -l)"); check_found iotcert "$f" "$run"
            sleep 1
            line=$(run_hydra_defaults "$2" $3); read -r n s f <<<"$line"
            h_rates+=("$(echo "$n / $s" | bc -l)"); check_found hydra "$f" "$run"
        fi
        printf '  run %d: hydra %.1f/s, iotcert run %.1f/s, both found the password\n' "$run" "${h_rates[-1]}" "${i_rates[-1]}"
        sleep 1
    done
    local h_median i_median
    h_median=$(printf '%s\n' "${h_rates[@]}" | median)
    i_median=$(printf '%s\n' "${i_rates[@]}" | median)
    [ -f "$work/hydra.failures" ] && echo "  hydra failed to log in (could not connect) in $(wc -l <"$work/hydra.failures") runs, each run again"
    rm -f "$work/hydra.failures"
    printf '%s: hydra (defaults, 16 tasks) median %.1f passwords/s, iotcert run (defaults) median %.1f passwords/s, ratio %.2fx\n' \
        "$1" "$h_median" "$i_median" "$(echo "$i_median / $h_median" | bc -l)"
    sed -n 's/^brute-force //p' "$work/campaign.err" >"$work/campaign.brute"
    python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["brute_force"]; print("  iotcert 5.1-5 (last run): " + b["verdict"] + " " + b["summary"])' "$work/campaign.brute"
}

# hydra with its own defaults (16 tasks); $1: list, then its target arguments. hydra 9.4
# sometimes ends with "0 valid password found ... could not be connected" against
# lighttpd (2 of 5 runs by hand): such a run is counted in hydra.failures and run again,
# at most 5 times, never counted as a rate.
run_hydra_defaults() {
    local list=$1 started ended out found
    shift
    for _ in 1 2 3 4 5; do
        started=$(date +%s.%N)
        out=$(hydra -I -q -f -P "$list" "$@" 2>&1 || true)
        ended=$(date +%s.%N)
        echo "$out" >"$work/hydra.out"
        found=$(echo "$out" | sed -n 's/.*password: \(.*\)$/\1/p' | head -n1)
        [ -n "$found" ] && break
        echo x >>"$work/hydra.failures"
        sleep 1
    done
    echo "$(wc -l < "$list") $(echo "$ended - $started" | bc -l) ${found:-none}"
}

check_found() { # $1: tool, $2: what it found, $3: run
    if [ "$2" != "$RIGHT" ]; then
        if [ "$1" = hydra ]; then cat "$work/hydra.out" >&2; else grep -v '^brute-force ' "$work/campaign.err" >&2; fi
    fi
    [ "$2" = "$RIGHT" ] || { echo "run $3: $1 found '$2', not the right password: the run failed" >&2; exit 1; }
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
        start_lighttpd 'server.feature-flags += ("auth.delay-invalid-creds" => "disable")'
        if [ "$MODE" != example ]; then
            echo "== iotcert run (defaults) against hydra (defaults): lighttpd basic auth, no delay ($(wc -l < "$work/list-1000.txt") passwords, $RUNS runs)"
            compare_run "lighttpd, no throttle" "$work/list-1000.txt" \
                "-l $USER_NAME -s $PORT $ADDRESS http-get /" "$ADDRESS $PORT http $USER_NAME"
        fi
        if [ "$MODE" != run ]; then
            echo "== example: lighttpd basic auth, no delay ($(wc -l < "$work/list-1000.txt") passwords, $CONCURRENCY connections, $RUNS runs)"
            compare "lighttpd, no throttle" "$work/list-1000.txt" \
                "-l $USER_NAME -s $PORT $ADDRESS http-get /" "$ADDRESS $PORT http $USER_NAME /"
        fi
        start_lighttpd ''
        if [ "$MODE" != example ]; then
            echo "== iotcert run (defaults) against hydra (defaults): lighttpd basic auth, default 1 s delay per failure ($(wc -l < "$work/list-throttled.txt") passwords)"
            compare_run "lighttpd, throttled" "$work/list-throttled.txt" \
                "-l $USER_NAME -s $PORT $ADDRESS http-get /" "$ADDRESS $PORT http $USER_NAME"
        fi
        if [ "$MODE" != run ]; then
            echo "== example: lighttpd basic auth, default 1 s delay per failure ($(wc -l < "$work/list-throttled.txt") passwords)"
            compare "lighttpd, throttled" "$work/list-throttled.txt" \
                "-l $USER_NAME -s $PORT $ADDRESS http-get /" "$ADDRESS $PORT http $USER_NAME /"
        fi
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
