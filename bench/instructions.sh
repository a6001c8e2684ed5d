#!/usr/bin/env bash
# Prints the instructions per request of each verification path, from
# callgrind: two runs per algorithm (N1 and N2 iterations), the
# difference divided by N2-N1, so setup and warm-up cancel out. The same
# measurement as bench/run.sh's, alone, in about two minutes:
#
#   bench/instructions.sh            # every algorithm
#   ALGS="HS256 ES256" bench/instructions.sh
#
# bench/run.sh calls it with BENCH_TEST (the test binary it built) and
# RAW (where to keep callgrind's lines for report.py).
set -euo pipefail
cd "$(dirname "$0")"
N1=${N1:-10}
N2=${N2:-40}
ALGS=${ALGS:-HS256 RS256 ES256 EdDSA}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
BENCH_TEST=${BENCH_TEST:-$OUT/bench.test}
[ -x "$BENCH_TEST" ] || go test -c -o "$BENCH_TEST" .
: > "$OUT/callgrind.txt"
for alg in $ALGS; do
	for n in "$N1" "$N2"; do
		# rdtscp and async preemption signals are beyond valgrind; no GC,
		# one P: the count is deterministic.
		GODEBUG=cpu.rdtscp=off,asyncpreemptoff=1 GOGC=off GOMAXPROCS=1 \
			valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$alg.$n.out" \
			--toggle-collect='*bench.measure*' \
			"$BENCH_TEST" -test.run '^$' -test.bench "BenchmarkVerify/(floor|$alg)\$" -test.benchtime "${n}x" \
			> "$OUT/cg.$alg.$n.log" 2>&1
		callgrind_annotate --inclusive=yes --threshold=100 "$OUT/cg.$alg.$n.out" 2>/dev/null |
			grep -E 'bench\.measure[A-Za-z0-9]+ \[' | sed "s/^/$alg $n /" >> "$OUT/callgrind.txt"
	done
done
if [ -n "${RAW:-}" ]; then cp "$OUT/callgrind.txt" "$RAW"; fi
# alg n count (pct) file:func -> per-request count of each path
awk -v n1="$N1" -v n2="$N2" '{
	gsub(",", "", $3); split($0, f, "bench.measure"); split(f[2], g, " "); path = g[1]
	key = $1 " " path
	if ($2 == n1) a[key] = $3; else b[key] = $3
} END {
	for (k in b) printf "%-28s %10.0f instructions/request\n", k, (b[k] - a[k]) / (n2 - n1)
}' "$OUT/callgrind.txt" | sort
