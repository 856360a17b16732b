#!/usr/bin/env bash
# What a new user gets: `iotcert run` (the whole process) with the profile defaults,
# against one loopback unit of real daemons (mosquitto 1883, lighttpd 8080, dropbear
# 2222, vsftpd 2121 on one address of its own).
#
# 1. The full 65,535-port sweep: a profile with only the device, its unit, its declared
#    interfaces and `suites = ["ports"]`, timed side by side with
#    `nmap -sT -p- -n -Pn -T4`, alternating tool by tool (the order flips every round).
#    The open TCP ports iotcert reports must equal nmap's in every run. Two ratios: the
#    whole processes (iotcert also reads every open service and sends its UDP probes,
#    which nmap -sT does not), and the sweeps themselves, each by its tool's own clock
#    (the sweep's `duration_ms` in iotcert's report, nmap's "scanned in" line).
# 2. A whole default campaign (every suite) against the same unit, and against the
#    testbed's insecure model (`iotcert-testbed`, with examples/testbed-insecure.toml
#    stripped of its [pacing]), wall time per run.
#
# Medians of RUNS (default 5; CAMPAIGN_RUNS for the whole campaigns, default RUNS; 0
# skips them). A run that fails (an exit code other than 0 with
# `--fail-on never`, or differing open ports) fails the bench instead of counting.
# Needs root for vsftpd's chroot and nmap, mosquitto, lighttpd, dropbear-bin, vsftpd.
# Run by hand, never in CI: `bench/defaults.sh`.
set -euo pipefail

ADDRESS=${ADDRESS:-127.231.0.1}
TESTBED_BLOCK=${TESTBED_BLOCK:-232}
RUNS=${RUNS:-5}
CAMPAIGN_RUNS=${CAMPAIGN_RUNS:-$RUNS}
repo=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$PATH:/usr/sbin:/sbin"

for tool in nmap mosquitto lighttpd dropbear dropbearkey vsftpd python3; do
    command -v "$tool" >/dev/null || {
        echo "missing $tool: apt-get install -y nmap mosquitto lighttpd dropbear-bin vsftpd python3" >&2
        exit 2
    }
done

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

wait_listening() {
    local address=$1 port=$2
    for _ in $(seq 100); do
        timeout 0.2 bash -c "exec 3<>/dev/tcp/$address/$port" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on $address:$port; see $work/*.log" >&2
    exit 2
}

printf 'listener 1883 %s\npersistence false\nallow_anonymous false\n' "$ADDRESS" >"$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
mkdir -p "$work/www" "$work/empty"
echo '<html>bench</html>' >"$work/www/index.html"
cat >"$work/lighttpd.conf" <<CONF
server.document-root = "$work/www"
server.bind = "$ADDRESS"
server.port = 8080
server.errorlog = "$work/lighttpd-error.log"
CONF
lighttpd -D -f "$work/lighttpd.conf" >"$work/lighttpd.log" 2>&1 &
pids+=($!)
dropbearkey -t ed25519 -f "$work/hostkey" >/dev/null 2>&1
dropbear -F -E -p "$ADDRESS:2222" -r "$work/hostkey" >"$work/dropbear.log" 2>&1 &
pids+=($!)
cat >"$work/vsftpd.conf" <<CONF
listen=YES
listen_ipv6=NO
listen_address=$ADDRESS
listen_port=2121
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=NO
seccomp_sandbox=NO
secure_chroot_dir=$work/empty
CONF
vsftpd "$work/vsftpd.conf" >"$work/vsftpd.log" 2>&1 &
pids+=($!)
for port in 1883 8080 2222 2121; do wait_listening "$ADDRESS" "$port"; done

echo "building iotcert and iotcert-testbed (release)..." >&2
(cd "$repo" && cargo build --quiet --release -p iotcert -p iotcert-testbed)
iotcert="$repo/target/release/iotcert"
testbed="$repo/target/release/iotcert-testbed"

interfaces() {
    cat <<TOML
[[interfaces]]
port = 1883
transport = "tcp"
service = "mqtt"
authentication = "password"

[[interfaces]]
port = 8080
transport = "tcp"
service = "http"

[[interfaces]]
port = 2222
transport = "tcp"
service = "ssh"
authentication = "password"

[[interfaces]]
port = 2121
transport = "tcp"
service = "ftp"
authentication = "password"
TOML
}

profile() {
    local suites=$1
    printf '[device]\nmanufacturer = "Bench"\nmodel = "Daemons"\nfirmware_version = "1"\n\n'
    printf '[[units]]\nid = "unit-1"\naddress = "%s"\n\n' "$ADDRESS"
    [ -n "$suites" ] && printf '[campaign]\nsuites = [%s]\n\n' "$suites"
    interfaces
}
profile '"ports"' >"$work/sweep.toml"
profile '' >"$work/campaign.toml"
grep -v '^\[pacing\]\|^max_connections\|^connections_per_second' "$repo/examples/testbed-insecure.toml" |
    sed "s/127\.77\./127.$TESTBED_BLOCK./g" >"$work/testbed.toml"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# `iotcert run PROFILE` into a fresh store and folder; its wall time in ms on stdout.
run_iotcert() {
    local profile=$1 name=$2 start end
    rm -rf "$work/$name"
    start=$(now_ms)
    if ! IOTCERT_DATA_DIR="$work/$name/data" "$iotcert" run "$profile" --out "$work/$name/out" \
        --fail-on never --quiet >"$work/$name.log" 2>&1; then
        echo "iotcert run $profile failed:" >&2
        tail -n 20 "$work/$name.log" >&2
        exit 1
    fi
    end=$(now_ms)
    echo $((end - start))
}

# The open TCP ports of unit-1 in a report, one per line, sorted.
report_ports() {
    python3 - "$1" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
ports = set()
for section in report["sections"]:
    for group in (section.get("chart") or {}).get("groups", []):
        if group["label"].startswith("unit-1:"):
            ports |= {int(t["label"].split("/")[0]) for t in group["tiles"] if t["label"].endswith("/tcp")}
print("\n".join(str(p) for p in sorted(ports)))
PY
}

# How long unit-1's TCP sweep took by iotcert's own clock, in ms.
report_sweep_ms() {
    python3 - "$1" <<'PY'
import json, sys
def sweeps(node):
    if isinstance(node, str) and node.startswith("{"):
        try:
            node = json.loads(node)
        except ValueError:
            return
    if isinstance(node, dict):
        if "tcp_sweep" in node and isinstance(node["tcp_sweep"], dict):
            yield node["tcp_sweep"]["duration_ms"]
        for value in node.values():
            yield from sweeps(value)
    elif isinstance(node, list):
        for value in node:
            yield from sweeps(value)
found = set(sweeps(json.load(open(sys.argv[1]))))
if len(found) != 1:
    sys.exit(f"expected one sweep duration in the report, found {sorted(found)}")
print(found.pop())
PY
}

report_pace() {
    python3 - "$1" <<'PY'
import json, sys
for row in json.load(open(sys.argv[1]))["pacing"]:
    print(f"{row['unit']}: {row['summary']}")
PY
}

run_nmap() {
    local start end
    start=$(now_ms)
    nmap -sT -p- -n -Pn -T4 "$ADDRESS" -oG - >"$work/nmap.out"
    end=$(now_ms)
    # nmap's own clock: "# Nmap done at ... scanned in 0.59 seconds".
    awk '/scanned in/ { printf "%d\n", $(NF - 1) * 1000 }' "$work/nmap.out" >"$work/nmap.sweep_ms"
    grep -o 'Ports: .*' "$work/nmap.out" | sed 's/^Ports: //; s/\t.*//' | tr ',' '\n' |
        awk -F/ '$2 == "open" { gsub(/ /, "", $1); print $1 }' | sort -n >"$work/nmap.ports"
    echo $((end - start))
}

echo "== 1. full sweep, defaults: iotcert run (ports suite) against nmap -sT -p- -T4"
sweep_ms=()
nmap_ms=()
sweep_phase_ms=()
nmap_phase_ms=()
for round in $(seq "$RUNS"); do
    if ((round % 2)); then
        sweep_ms+=("$(run_iotcert "$work/sweep.toml" sweep)")
        nmap_ms+=("$(run_nmap)")
    else
        nmap_ms+=("$(run_nmap)")
        sweep_ms+=("$(run_iotcert "$work/sweep.toml" sweep)")
    fi
    sweep_phase_ms+=("$(report_sweep_ms "$work/sweep/out/report.json")")
    nmap_phase_ms+=("$(cat "$work/nmap.sweep_ms")")
    report_ports "$work/sweep/out/report.json" >"$work/iotcert.ports"
    if ! cmp -s "$work/iotcert.ports" "$work/nmap.ports"; then
        echo "round $round: open ports differ: iotcert [$(paste -sd, "$work/iotcert.ports")] nmap [$(paste -sd, "$work/nmap.ports")]" >&2
        exit 1
    fi
    printf 'round %d: iotcert run %6d ms (sweep %4d ms)  nmap %6d ms (sweep %4d ms)  load %s  open: %s\n' "$round" \
        "${sweep_ms[-1]}" "${sweep_phase_ms[-1]}" "${nmap_ms[-1]}" "${nmap_phase_ms[-1]}" \
        "$(cut -d' ' -f1 /proc/loadavg)" "$(paste -sd, "$work/iotcert.ports")"
done
report_pace "$work/sweep/out/report.json"
sweep_median=$(median "${sweep_ms[@]}")
nmap_median=$(median "${nmap_ms[@]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
phase_median=$(median "${sweep_phase_ms[@]}")
nmap_phase_median=$(median "${nmap_phase_ms[@]}")
echo "whole process: iotcert run median ${sweep_median} ms, nmap median ${nmap_median} ms," \
    "ratio $(ratio "$sweep_median" "$nmap_median"), identical open sets in every run"
echo "sweep by each tool's clock: iotcert median ${phase_median} ms, nmap median ${nmap_phase_median} ms," \
    "ratio $(ratio "$phase_median" "$nmap_phase_median")"
if ((CAMPAIGN_RUNS == 0)); then
    exit 0
fi

echo "== 2. whole default campaign against the unit of real daemons"
campaign_ms=()
for round in $(seq "$CAMPAIGN_RUNS"); do
    campaign_ms+=("$(run_iotcert "$work/campaign.toml" campaign)")
    printf 'round %d: %6d ms  load %s\n' "$round" "${campaign_ms[-1]}" "$(cut -d' ' -f1 /proc/loadavg)"
done
report_pace "$work/campaign/out/report.json"
echo "whole campaign, real daemons: median $(median "${campaign_ms[@]}") ms"

echo "== 3. whole default campaign against the testbed's insecure model"
"$testbed" --kind insecure --address "127.$TESTBED_BLOCK.2.1" >"$work/testbed.log" 2>&1 &
pids+=($!)
wait_listening "127.$TESTBED_BLOCK.2.1" 2222
testbed_ms=()
for round in $(seq "$CAMPAIGN_RUNS"); do
    testbed_ms+=("$(run_iotcert "$work/testbed.toml" testbed)")
    printf 'round %d: %6d ms  load %s\n' "$round" "${testbed_ms[-1]}" "$(cut -d' ' -f1 /proc/loadavg)"
done
report_pace "$work/testbed/out/report.json"
echo "whole campaign, testbed insecure model: median $(median "${testbed_ms[@]}") ms"
echo "$(nproc) cores, load now $(cut -d' ' -f1-3 /proc/loadavg)"
