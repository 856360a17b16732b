#!/usr/bin/env bash
# MQTT fuzzing throughput against one mosquitto: iotcert's protofuzz suite against
# boofuzz (PyPI) with comparable cases, in one run (issue "Protocol fuzzing").
#
# Both open a new TCP connection per case, send a valid CONNECT and wait for the
# CONNACK, send the mutated packet and a PINGREQ, and read the answer as soon as it
# comes (bench/mqtt_boofuzz.py; iotcert sends its own case mix: PUBLISH, SUBSCRIBE,
# CONNECT, MQTT 5 and subscribed-state cases). iotcert also probes the broker every 25
# cases; boofuzz checks nothing. iotcert keeps PARALLEL cases in flight (default 16,
# each on its own connection); boofuzz can only send one at a time. Rates come from the tools' own counts: iotcert's
# recorded effort (cases and milliseconds) and boofuzz's case count over its fuzz()
# call. Runs alternate, RUNS of each (default 5), and the medians and their ratio are
# printed. Goal: iotcert >= 10x boofuzz.
#
#   bench/protofuzz-vs-boofuzz.sh            # CASES=2000 RUNS=5
#
# Run by hand, never in CI: it needs mosquitto and `pip install boofuzz`.
set -euo pipefail

ADDRESS=${ADDRESS:-127.64.0.1}
PORT=${PORT:-18833}
RUNS=${RUNS:-5}
CASES=${CASES:-2000}
# Cases iotcert keeps in flight ([protofuzz] parallel_cases; the suite's default is 1).
PARALLEL=${PARALLEL:-16}
repo=$(cd "$(dirname "$0")/.." && pwd)

command -v mosquitto >/dev/null || { echo "missing mosquitto: apt-get install -y mosquitto" >&2; exit 2; }
python3 -c 'import boofuzz' 2>/dev/null || { echo "missing boofuzz: pip install boofuzz" >&2; exit 2; }

work=$(mktemp -d)
broker=
cleanup() {
    if [ -n "$broker" ]; then kill "$broker" 2>/dev/null || true; wait "$broker" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

printf 'listener %s %s\nallow_anonymous true\npersistence false\n' "$PORT" "$ADDRESS" >"$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
broker=$!
for _ in $(seq 50); do
    timeout 0.2 bash -c "exec 3<>/dev/tcp/$ADDRESS/$PORT" 2>/dev/null && break
    sleep 0.1
done

cat >"$work/profile.toml" <<TOML
[device]
manufacturer = "Eclipse"
model = "mosquitto"
firmware_version = "bench"

[[units]]
id = "broker"
address = "$ADDRESS"

[[interfaces]]
port = $PORT
transport = "tcp"
service = "mqtt"
tls = false

[campaign]
suites = ["protofuzz"]

# boofuzz paces nothing either.
[pacing]
max_connections = 64
connections_per_second = 100000

[protofuzz]
protocols = ["mqtt"]
parallel_cases = $PARALLEL
cases_per_protocol = $CASES
seconds_per_protocol = 600
TOML

echo "building iotcert (release)..." >&2
(cd "$repo" && cargo build --quiet --release -p iotcert)
iotcert="$repo/target/release/iotcert"

run_iotcert() {
    rm -rf "$work/data"
    "$iotcert" --quiet run --data-dir "$work/data" "$work/profile.toml" --format json >"$work/report.json" 2>"$work/iotcert.err" || true
    python3 - "$work/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
result = next(r for r in report["results"] if r["check"] == "protofuzz.mqtt")
if result["verdict"] != "PASS":
    sys.exit(f"iotcert: {result['verdict']}: {result['summary']}")
effort = result["effort"]
print(f"{effort['cases'] * 1000 / effort['milliseconds']:.1f}")
PY
}

run_boofuzz() {
    # boofuzz writes its results database under the working directory.
    (cd "$work" && python3 "$repo/bench/mqtt_boofuzz.py" "$ADDRESS" "$PORT" "$CASES") 2>"$work/boofuzz.err" |
        awk '$1 == "cases" { printf "%.1f\n", $2 / $4 }'
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

iotcert_rates=()
boofuzz_rates=()
for round in $(seq "$RUNS"); do
    if ((round % 2)); then
        iotcert_rates+=("$(run_iotcert)")
        boofuzz_rates+=("$(run_boofuzz)")
    else
        boofuzz_rates+=("$(run_boofuzz)")
        iotcert_rates+=("$(run_iotcert)")
    fi
    printf 'round %d: iotcert %8s cases/s  boofuzz %8s cases/s  load %s\n' "$round" \
        "${iotcert_rates[-1]}" "${boofuzz_rates[-1]}" "$(cut -d' ' -f1 /proc/loadavg)"
done
iotcert_median=$(median "${iotcert_rates[@]}")
boofuzz_median=$(median "${boofuzz_rates[@]}")
echo
echo "target:              mosquitto $(mosquitto -h 2>/dev/null | head -1 | awk '{ print $3 }') at $ADDRESS:$PORT, $(nproc) cores"
echo "cases per run:       $CASES, $RUNS runs each, alternating; iotcert parallel_cases = $PARALLEL"
echo "iotcert median:      $iotcert_median cases/s"
echo "boofuzz median:      $boofuzz_median cases/s"
echo "ratio iotcert/boofuzz: $(awk -v a="$iotcert_median" -v b="$boofuzz_median" 'BEGIN { printf "%.1f", a / b }')"
echo "load average now:    $(cut -d' ' -f1-3 /proc/loadavg)"
