#!/usr/bin/env bash
# Webhook received -> first Graph call issued (p50/p90/p99) at a steady rate with a fake Graph
# API answering at once, the service's resident memory under that load, and `rules eval`
# throughput with the shipped rules. Prints RESULT lines; figures go in bench/RESULTS.md.
#   bench/latency.sh [RATE=500] [SECONDS=20] [EVAL_LINES=100000]
# BENCH_DATABASE_URL=postgres://... (an empty database) measures on PostgreSQL instead of SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin commentguard --example latency
target/release/examples/latency "${1:-500}" "${2:-20}" "${3:-100000}"
echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sm)"
