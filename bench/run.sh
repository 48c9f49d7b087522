#!/usr/bin/env bash
# bench/run.sh: the peer benchmarks in interleaved rounds.
#
# Builds the benchmark binary once, runs the correctness checks (every
# implementation accepts the valid credential and refuses the bad ones),
# then runs every benchmark once per round, ROUNDS times, in a shuffled
# top-level order, so drift on a shared machine (other jobs, thermal
# state) hits every implementation alike. It ends with the Markdown
# summary of cmd/benchreport: medians across rounds and per-round paired
# ratios.
#
# Environment:
#   ROUNDS     rounds (default 30)
#   BENCHTIME  -benchtime of each benchmark in a round (default 400ms)
#   BENCH      benchmark regexp (default: the peer comparisons JWT, APIKey
#              and Token; BenchmarkServerPath is a diagnostic, run on its own)
#   OUT        directory for the raw rounds and the summary (default: a new
#              temporary directory, printed at the start)
#
# With the defaults a run takes about 8 minutes on 2 cores.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

ROUNDS=${ROUNDS:-30}
BENCHTIME=${BENCHTIME:-400ms}
BENCH=${BENCH:-'^Benchmark(JWT|APIKey|Token)$'}
OUT=${OUT:-$(mktemp -d -t audexum-bench.XXXXXX)}
mkdir -p "$OUT"
echo "raw results in $OUT" >&2

{
	echo "date:    $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "commit:  $(git -C "$here/.." describe --always --dirty 2>/dev/null || echo unknown) (-dirty: the working tree had uncommitted changes)"
	echo "go:      $(go version)"
	echo "kernel:  $(uname -sr)"
	echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
	echo "memory:  $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "rounds:  $ROUNDS × -benchtime $BENCHTIME"
} | tee "$OUT/machine.txt" >&2

go test -c -o "$OUT/bench.test" .
(cd "$OUT" && ./bench.test -test.run . -test.count 1) >&2

for i in $(seq -w 1 "$ROUNDS"); do
	printf 'round %s/%s\n' "$i" "$ROUNDS" >&2
	if ! (cd "$OUT" && ./bench.test -test.run '^$' -test.bench "$BENCH" -test.benchtime "$BENCHTIME" \
		-test.count 1 -test.shuffle on) >"$OUT/round-$i.txt"; then
		grep -B1 -A3 -- '--- FAIL' "$OUT/round-$i.txt" >&2 || true
		echo "round $i failed: a check refused an implementation (see $OUT/round-$i.txt)" >&2
		exit 1
	fi
done

go run ./cmd/benchreport "$OUT"/round-*.txt | tee "$OUT/summary.md"
