#!/usr/bin/env bash
# The fragile device against a default campaign, RUNS times (default 20), each on a
# fresh device: a TCP stack that resets everything beyond 2,000 new connections a
# second and dies when one overload brings 2,000 connections beyond that
# (testbed/src/fragile.rs). Every run prints whether the device lived, how long the
# campaign took and the pace the report shows; any death fails the bench. Then, once
# each, the controls: `nmap -sT -p- -T4` and an unpaced iotcert must knock it over
# (else the device proves nothing).
#
# Needs root (the device counts SYNs with a raw socket) and nmap. Run by hand, never in
# CI (CI runs one campaign of it): `bench/fragile.sh`.
set -euo pipefail

RUNS=${RUNS:-20}
repo=$(cd "$(dirname "$0")/.." && pwd)
command -v nmap >/dev/null || { echo "missing nmap: apt-get install -y nmap" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "needs root for the fragile device's raw socket" >&2; exit 2; }

cd "$repo"
echo "== $RUNS default campaigns against a fresh fragile device each (release build)"
IOTCERT_FRAGILE_RUNS=$RUNS cargo test --quiet --release -p iotcert-demo --test fragile \
    a_default_campaign_does_not_knock_over_a_fragile_device -- --nocapture 2>&1 |
    grep -E '^run [0-9]+ of|^test result|panicked|knocked'
echo "== controls: nmap -T4 and an unpaced iotcert"
cargo test --quiet --release -p iotcert-demo --test fragile knocks -- --nocapture 2>&1 |
    grep -E '^(nmap|unpaced):|^test result|panicked'
echo "$(nproc) cores, load now $(cut -d' ' -f1-3 /proc/loadavg)"
