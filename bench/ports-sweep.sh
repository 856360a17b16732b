#!/usr/bin/env bash
# Full 65,535-port TCP connect sweep of a loopback target: the ports suite's sweep
# (examples/sweep.rs, the code `iotcert run` uses) against `nmap -sT -p- -n -Pn -T4`.
#
# Starts mosquitto, lighttpd and dropbear on one loopback address of its own, then
# alternates RUNS sweeps of each tool (the order flips every round so neither always
# runs on a warmer machine), and prints each tool's median wall time, the ratio
# iotcert/nmap and whether the open-port sets were identical in every run.
#
#   bench/ports-sweep.sh                      # defaults below
#   RUNS=9 MAX_CONNECTIONS=256 bench/ports-sweep.sh
#
# Run by hand, never in CI: it needs the daemons and nmap, and wants a quiet machine.
set -euo pipefail

ADDRESS=${ADDRESS:-127.62.0.1}
RUNS=${RUNS:-5}
MAX_CONNECTIONS=${MAX_CONNECTIONS:-128}
repo=$(cd "$(dirname "$0")/.." && pwd)

for tool in nmap mosquitto lighttpd dropbear dropbearkey; do
    if ! command -v "$tool" >/dev/null && ! [ -x "/usr/sbin/$tool" ]; then
        echo "missing $tool: apt-get install -y nmap mosquitto lighttpd dropbear-bin" >&2
        exit 2
    fi
done
export PATH="$PATH:/usr/sbin:/sbin"

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

wait_listening() {
    local port=$1
    for _ in $(seq 100); do
        if timeout 0.2 bash -c "exec 3<>/dev/tcp/$ADDRESS/$port" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "nothing listens on $ADDRESS:$port; see $work/*.log" >&2
    exit 2
}

printf 'listener 1883 %s\npersistence false\n' "$ADDRESS" >"$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)

mkdir -p "$work/www"
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

for port in 1883 8080 2222; do
    wait_listening "$port"
done

echo "building the sweep (release)..." >&2
(cd "$repo" && cargo build --quiet --release -p iotcert-suite-ports --example sweep)
sweep="$repo/target/release/examples/sweep"

now_ns() { date +%s%N; }

# CPU seconds (user + system) of a command, written to $work/cpu: on a shared machine
# the wall time depends on the load, the CPU time much less.
cpu_timed() {
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f '%U %S' -o "$work/cpu" "$@"
    else
        echo '0 0' >"$work/cpu"
        "$@"
    fi
}
cpu_seconds() { awk '{ printf "%.2f", $1 + $2 }' "$work/cpu"; }

run_iotcert() {
    local start end
    start=$(now_ns)
    cpu_timed "$sweep" "$ADDRESS" 1-65535 "$MAX_CONNECTIONS" >"$work/iotcert.out" 2>"$work/iotcert.err"
    end=$(now_ns)
    iotcert_ms+=($(((end - start) / 1000000)))
    iotcert_cpu+=("$(cpu_seconds)")
    sed -n 's/^open: //p' "$work/iotcert.out" | tr ',' '\n' | sed '/^$/d' | sort -n >"$work/iotcert.ports"
}

run_nmap() {
    local start end
    start=$(now_ns)
    cpu_timed nmap -sT -p- -n -Pn -T4 "$ADDRESS" -oG - >"$work/nmap.out"
    end=$(now_ns)
    nmap_ms+=($(((end - start) / 1000000)))
    nmap_cpu+=("$(cpu_seconds)")
    grep -o 'Ports: .*' "$work/nmap.out" | sed 's/^Ports: //; s/\t.*//' | tr ',' '\n' |
        awk -F/ '$2 == "open" { gsub(/ /, "", $1); print $1 }' | sort -n >"$work/nmap.ports"
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

iotcert_ms=()
nmap_ms=()
iotcert_cpu=()
nmap_cpu=()
identical=yes
for round in $(seq "$RUNS"); do
    if ((round % 2)); then
        run_iotcert
        run_nmap
    else
        run_nmap
        run_iotcert
    fi
    if ! cmp -s "$work/iotcert.ports" "$work/nmap.ports"; then
        identical=no
        echo "round $round: open ports differ: iotcert [$(paste -sd, "$work/iotcert.ports")] nmap [$(paste -sd, "$work/nmap.ports")]" >&2
        # Listeners of other processes on 0.0.0.0 come and go between two sweeps; say
        # whether each differing port listens now, to tell churn from a missed port.
        comm -3 "$work/iotcert.ports" "$work/nmap.ports" | tr -d '\t' | while read -r port; do
            echo "  port $port listening now: $(ss -Hltn "sport = :$port" | awk '{ print $4 }' | paste -sd' ' -)" >&2
        done
    fi
    printf 'round %d: iotcert %5d ms (%s s CPU)  nmap %5d ms (%s s CPU)  load %s  open: %s\n' "$round" \
        "${iotcert_ms[-1]}" "${iotcert_cpu[-1]}" "${nmap_ms[-1]}" "${nmap_cpu[-1]}" \
        "$(cut -d' ' -f1 /proc/loadavg)" "$(paste -sd, "$work/iotcert.ports")"
done

iotcert_median=$(median "${iotcert_ms[@]}")
nmap_median=$(median "${nmap_ms[@]}")
echo
echo "target:            $ADDRESS (mosquitto 1883, lighttpd 8080, dropbear 2222), $(nproc) cores"
echo "iotcert:           $sweep $ADDRESS 1-65535 $MAX_CONNECTIONS"
echo "nmap:              nmap -sT -p- -n -Pn -T4 $ADDRESS"
echo "runs:              $RUNS each, alternating"
echo "iotcert median:    ${iotcert_median} ms"
echo "nmap median:       ${nmap_median} ms"
echo "ratio iotcert/nmap: $(awk -v a="$iotcert_median" -v b="$nmap_median" 'BEGIN { printf "%.2f", a / b }')"
echo "median CPU seconds: iotcert $(median "${iotcert_cpu[@]}"), nmap $(median "${nmap_cpu[@]}") (user + system; iotcert spreads it over $(nproc) cores, nmap uses one)"
echo "load average now:  $(cut -d' ' -f1-3 /proc/loadavg)"
echo "identical open-port sets in every run: $identical"
