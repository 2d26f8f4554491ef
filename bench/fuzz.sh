#!/usr/bin/env bash
# Fuzzes every target (or the ones named) for SECONDS each, one after another, and prints a
# row per target: executions, executions a second, coverage (edges), corpus size, result.
#
#   bash bench/fuzz.sh [SECONDS] [TARGET...]      # default: 60 s, every target
#   RUNS=100000000 bash bench/fuzz.sh 0 inbox_split   # a fixed number of executions instead
#
# Needs a nightly toolchain (libFuzzer) and cargo-fuzz (installed here when missing). Built
# without a sanitizer (`-s none`): the code under test is safe Rust, and the address
# sanitizer would cut the rate several times for no finding it could add. Not run by CI.
# A failure leaves its input in fuzz/artifacts/TARGET/ (replay: cargo +nightly fuzz run
# -s none TARGET fuzz/artifacts/TARGET/crash-...); add it to tests as a regression case.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-60}
shift || true
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=(inbox_split signature rules_load normalize); fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
cargo +nightly fuzz build -s none >/dev/null
limit=(-max_total_time="$secs")
if [ -n "${RUNS:-}" ]; then
    limit=(-runs="$RUNS")
elif [ "$secs" -le 0 ]; then
    echo "fuzz.sh: give SECONDS above 0, or RUNS=N" >&2
    exit 2
fi
failed=0
printf '| target | executions | exec/s | coverage (edges) | corpus | result |\n|---|---|---|---|---|---|\n'
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    log=$(mktemp)
    if cargo +nightly fuzz run -s none "$t" -- "${limit[@]}" -max_len=4096 -print_final_stats=1 \
        >"$log" 2>&1; then result=ok; else result="FAILED (see fuzz/artifacts/$t/)"; fi
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    took=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o '[0-9]* second' | grep -o '[0-9]*' || echo 0)
    if [ "${took:-0}" -gt 0 ] && [ "$execs" != '?' ]; then rate=$((execs / took)); else rate='?'; fi
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo '?')
    corp=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo '?')
    printf '| `%s` | %s | %s | %s | %s | %s |\n' "$t" "$execs" "$rate" "$cov" "$corp" "$result"
    if [ "$result" != ok ]; then tail -30 "$log" >&2; failed=1; fi
    rm -f "$log"
done
exit "$failed"
