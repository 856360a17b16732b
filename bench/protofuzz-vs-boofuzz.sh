#!/usr/bin/env bash
# MQTT fuzzing throughput against one mosquitto: iotcert's protofuzz suite against
# boofuzz (PyPI) with comparable cases, in one run (issue "Protocol fuzzing").
#
# Both open a new TCP connection per case, send a valid CONNECT and wait for the
# CONNACK, send the mutated packet and a PINGREQ, and read the answer as soon as it
# comes (bench/mqtt_boofuzz.py; iotcert sends its own case mix: PUBLISH, SUBSCRIBE,
# CONNECT, MQTT 5 and subscribed-state cases). iotcert also probes the broker every 25
# cases; boofuzz checks nothing. iotcert runs with the profile's defaults: no
# [pacing] section (the adaptive pacer), no parallel_cases (the adaptive window of cases
# in flight, each on its own connection, under the default ceiling of 64); the only
# [protofuzz] setting is the budget, cases_per_protocol = CASES. boofuzz can only send
# one case at a time. Rates come from the tools' own counts: iotcert's recorded effort
# (cases and milliseconds) and boofuzz's case count over its fuzz() call. Runs
# alternate, RUNS of each (default 5), and the medians and their ratio are printed.
# Findings are compared on every run: against mosquitto both must find nothing
# (iotcert's verdict PASS, boofuzz no failure); a run that finds something or fails
# (iotcert not PASS, boofuzz an error) fails the bench instead of being counted.
# Goal: iotcert >= 10x boofuzz.
#
#   bench/protofuzz-vs-boofuzz.sh              # CASES=2000 RUNS=5, profile defaults
#   PARALLEL=4 bench/protofuzz-vs-boofuzz.sh   # a lower ceiling (parallel_cases = 4)
#
# Run by hand, never in CI: it needs mosquitto and `pip install boofuzz`.
set -euo pipefail

ADDRESS=${ADDRESS:-127.64.0.1}
PORT=${PORT:-18833}
RUNS=${RUNS:-5}
CASES=${CASES:-2000}
# The ceiling of cases in flight ([protofuzz] parallel_cases); unset: the default (64).
PARALLEL=${PARALLEL:-}
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

[protofuzz]
cases_per_protocol = $CASES
TOML
if [ -n "$PARALLEL" ]; then
    echo "parallel_cases = $PARALLEL" >>"$work/profile.toml"
fi

echo "building iotcert (release)..." >&2
(cd "$repo" && cargo build --quiet --release -p iotcert)
iotcert="$repo/target/release/iotcert"

fail() {
    echo "bench failed: $*" >&2
    exit 1
}

# Prints iotcert's rate, then what its window of cases in flight did; fails unless the
# verdict is PASS (no finding) with every case of the budget sent.
run_iotcert() {
    rm -rf "$work/data"
    # A PASS exits 0; the verdict is read from the report either way.
    "$iotcert" --quiet run --data-dir "$work/data" "$work/profile.toml" --format json >"$work/report.json" 2>"$work/iotcert.err" || true
    python3 - "$work/report.json" "$CASES" <<'PY'
import json, re, sys
try:
    report = json.load(open(sys.argv[1]))
except ValueError as error:
    sys.exit(f"iotcert wrote no report: {error}")
result = next((r for r in report["results"] if r["check"] == "protofuzz.mqtt"), None)
if result is None:
    sys.exit("iotcert: no protofuzz.mqtt result")
if result["verdict"] != "PASS":
    sys.exit(f"iotcert: {result['verdict']}: {result['summary']}")
effort = result["effort"]
if effort["cases"] != int(sys.argv[2]):
    sys.exit(f"iotcert sent {effort['cases']} of {sys.argv[2]} cases")
window = re.search(r"held up to (\d+) case\(s\) in flight \(([^)]*)\)(; shrank (\d+) time)?", result["summary"])
held = f"{window.group(1)} in flight, {window.group(2)}, {window.group(4) or 0} shrinks" if window else "window not reported"
print(f"{effort['cases'] * 1000 / effort['milliseconds']:.1f} {held}")
PY
}

# Prints boofuzz's rate; fails on an error of boofuzz or any failure it recorded.
run_boofuzz() {
    # boofuzz writes its results database under the working directory.
    local out
    out=$(cd "$work" && python3 "$repo/bench/mqtt_boofuzz.py" "$ADDRESS" "$PORT" "$CASES" 2>"$work/boofuzz.err") ||
        fail "boofuzz: $(tail -3 "$work/boofuzz.err")"
    echo "$out" | awk -v cases="$CASES" '
        $1 == "cases" && $6 == 0 && $2 >= cases { printf "%.1f\n", $2 / $4; found = 1 }
        END { if (!found) exit 1 }' || fail "boofuzz: $out"
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

iotcert_rates=()
boofuzz_rates=()
for round in $(seq "$RUNS"); do
    if ((round % 2)); then
        iotcert_run=$(run_iotcert) || fail "round $round"
        boofuzz_run=$(run_boofuzz) || fail "round $round"
    else
        boofuzz_run=$(run_boofuzz) || fail "round $round"
        iotcert_run=$(run_iotcert) || fail "round $round"
    fi
    iotcert_rates+=("${iotcert_run%% *}")
    boofuzz_rates+=("$boofuzz_run")
    printf 'round %d: iotcert %8s cases/s (%s)  boofuzz %8s cases/s  findings: none by either  load %s\n' "$round" \
        "${iotcert_run%% *}" "${iotcert_run#* }" "$boofuzz_run" "$(cut -d' ' -f1 /proc/loadavg)"
done
iotcert_median=$(median "${iotcert_rates[@]}")
boofuzz_median=$(median "${boofuzz_rates[@]}")
echo
echo "target:              mosquitto $(mosquitto -h 2>/dev/null | head -1 | awk '{ print $3 }') at $ADDRESS:$PORT, $(nproc) cores"
echo "cases per run:       $CASES (iotcert: cases_per_protocol, the only setting), $RUNS runs each, alternating; iotcert parallel_cases = ${PARALLEL:-default (64, adaptive)}"
echo "iotcert median:      $iotcert_median cases/s"
echo "boofuzz median:      $boofuzz_median cases/s"
echo "ratio iotcert/boofuzz: $(awk -v a="$iotcert_median" -v b="$boofuzz_median" 'BEGIN { printf "%.1f", a / b }')"
echo "load average now:    $(cut -d' ' -f1-3 /proc/loadavg)"
