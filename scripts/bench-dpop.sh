#!/usr/bin/env bash
# scripts/bench-dpop.sh: BenchmarkDPoP against BenchmarkDPoPSigOnly
# (package dpop) in interleaved rounds, as bench/run.sh does for the peer
# benchmarks: the test binary is built once, every round runs both
# benchmarks in a shuffled order, and the ratio DPoP / DPoPSigOnly is
# taken within each round, where both met the same machine. It prints a
# Markdown table: median ns/op, B/op and allocs/op of each, and the median
# (min, max) of the per-round ratios. Issue 15's target: median ratio at
# most 1.25 for ES256 and EdDSA.
#
# Environment:
#   ROUNDS     rounds (default 20)
#   BENCHTIME  -benchtime of each benchmark in a round (default 400ms)
#   OUT        directory for the raw rounds (default: a new temporary one)
#
# With the defaults a run takes about 3 minutes on 2 cores.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-20}
BENCHTIME=${BENCHTIME:-400ms}
OUT=${OUT:-$(mktemp -d -t audexum-dpop-bench.XXXXXX)}
mkdir -p "$OUT"
echo "raw results in $OUT" >&2

{
	echo "date:    $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "commit:  $(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "go:      $(go version)"
	echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
	echo "rounds:  $ROUNDS × -benchtime $BENCHTIME"
} | tee "$OUT/machine.txt" >&2

(cd "$root" && go test -c -o "$OUT/dpop.test" ./dpop)
for i in $(seq -w 1 "$ROUNDS"); do
	printf 'round %s/%s\n' "$i" "$ROUNDS" >&2
	(cd "$root/dpop" && "$OUT/dpop.test" -test.run '^$' -test.bench '^BenchmarkDPoP(SigOnly)?$' \
		-test.benchtime "$BENCHTIME" -test.count 1 -test.shuffle on) >"$OUT/round-$i.txt"
done

# Lines look like "BenchmarkDPoP/ES256-2  5000  90035 ns/op  3038 B/op  26 allocs/op".
awk '
function median(list,    n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
function minmax(list, want,    n, a, i, m) {
	n = split(list, a, " "); m = a[1]
	for (i = 2; i <= n; i++) if ((want == "min") ? a[i] + 0 < m + 0 : a[i] + 0 > m + 0) m = a[i]
	return m
}
/^BenchmarkDPoP/ {
	split($1, p, "/"); name = p[1]; sub(/-[0-9]+$/, "", p[2]); alg = p[2]
	key = name "/" alg
	ns[key] = ns[key] " " $3; b[key] = b[key] " " $5; al[key] = al[key] " " $7
	round[FILENAME, key] = $3; algs[alg] = 1; files[FILENAME] = 1
}
END {
	print "| benchmark | median ns/op | B/op | allocs/op |"
	print "|---|---:|---:|---:|"
	for (alg in algs) for (k = 0; k < 2; k++) {
		key = (k ? "BenchmarkDPoPSigOnly/" : "BenchmarkDPoP/") alg
		printf "| %s | %.0f | %.0f | %.0f |\n", key, median(ns[key]), median(b[key]), median(al[key])
	}
	print ""
	print "| algorithm | DPoP / DPoPSigOnly, median of per-round ratios | min | max | rounds |"
	print "|---|---:|---:|---:|---:|"
	for (alg in algs) {
		r = ""; n = 0
		for (f in files) {
			d = round[f, "BenchmarkDPoP/" alg]; s = round[f, "BenchmarkDPoPSigOnly/" alg]
			if (d != "" && s != "") { r = r " " d / s; n++ }
		}
		printf "| %s | %.2f× | %.2f× | %.2f× | %d |\n", alg, median(r), minmax(r, "min"), minmax(r, "max"), n
	}
}' "$OUT"/round-*.txt | tee "$OUT/summary.md"
