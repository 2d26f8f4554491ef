#!/usr/bin/env bash
# Signed, durable ingest throughput and latency at 32 connections on loopback, next to a plain
# HTTP server answering 200 with no work, in the same run.
#   bench/ingest.sh [DURATION] [DATABASE_URL]
# Needs wrk (apt-get install wrk) and python3. Prints one RESULT line per server.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
DB_URL=${2:-}
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --quiet --bin commentguard --example plain_server
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
SECRET=bench-secret
python3 bench/make_bodies.py 400000 "$SECRET" "$work/bodies.tsv"  # distinct bodies: no repeat within a run
# The bodies file is ~170 MB: flushed now, not by the kernel in the middle of a measurement
# (its write-back competes with the fsyncs being measured).
sync
export BODIES="$work/bodies.tsv"
mkdir -p "$work/rules"
[ -d rules ] && cp -r rules/. "$work/rules/"

echo "== plain axum server answering 200 (no signature check, no storage)"
target/release/examples/plain_server 127.0.0.1:18181 &
sleep 0.5
wrk -t2 -c32 -d"$DURATION" --latency -s bench/post.lua http://127.0.0.1:18181 | grep RESULT
kill %1; wait %1 2>/dev/null || true

echo "== commentguard: signature verified, stored durably (${DB_URL:-sqlite WAL synchronous=FULL}) before the 200"
COMMENTGUARD_APP_SECRET=$SECRET COMMENTGUARD_VERIFY_TOKEN=bench \
COMMENTGUARD_LISTEN=127.0.0.1:18182 COMMENTGUARD_ADMIN_LISTEN=127.0.0.1:0 \
COMMENTGUARD_DATABASE_URL=${DB_URL:-sqlite:$work/bench.db} COMMENTGUARD_RULES=$work/rules \
COMMENTGUARD_DRY_RUN=true COMMENTGUARD_AUTO_SHADOW_SHARE=0 RUST_LOG=warn COMMENTGUARD_WORKERS=${WORKERS:-4} \
target/release/commentguard serve &
for _ in $(seq 100); do curl -sf http://127.0.0.1:18182/healthz >/dev/null && break; sleep 0.1; done
wrk -t2 -c32 -d"$DURATION" --latency -s bench/post.lua http://127.0.0.1:18182 | grep RESULT
kill -TERM %1; wait %1 2>/dev/null || true
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -m)"
