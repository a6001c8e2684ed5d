#!/usr/bin/env bash
# Runs the side-by-side benchmarks and writes ../BENCHMARKS.md.
#
#   bench/run.sh                 # 16 interleaved rounds, about 10-15 minutes on 2 cores
#   ROUNDS=4 bench/run.sh        # a quicker look
#
# Wall-clock figures: every benchmark once per round, ROUNDS rounds, so
# that drift in machine load spreads over all of them alike; medians by
# benchstat. Instruction counts: callgrind, two runs per algorithm with
# different iteration counts, the difference divided by the difference in
# iterations, so setup and warm-up cancel out. Allocation figures are
# exact and come from -benchmem.
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS=${ROUNDS:-16}
BENCHTIME=${BENCHTIME:-0.2s}
N1=${N1:-10}
N2=${N2:-40}
OUT=results
mkdir -p "$OUT"
GOBIN=$(go env GOPATH)/bin
if [ ! -x "$GOBIN/benchstat" ]; then
	go install golang.org/x/perf/cmd/benchstat@latest
fi
start=$(date -u +%s)

echo "== correctness: every path accepts the good token, rejects forged and expired"
go vet ./...
go test -count=1 -run . ./... | tee "$OUT/correctness.txt"

echo "== build"
go test -c -o "$OUT/bench.test" .
(cd .. && go test -c -o "bench/$OUT/root.test" .)

echo "== $ROUNDS interleaved rounds (load before: $(cut -d' ' -f1-3 /proc/loadavg))"
: > "$OUT/verify.txt"
: > "$OUT/root.txt"
: > "$OUT/load.txt"
for r in $(seq "$ROUNDS"); do
	echo "round $r/$ROUNDS  load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt"
	"$OUT/bench.test" -test.run '^$' -test.bench 'BenchmarkVerify' -test.benchtime "$BENCHTIME" -test.benchmem >> "$OUT/verify.txt"
	if [ $((r % 2)) -eq 1 ]; then
		"$OUT/root.test" -test.run '^$' -test.bench 'BenchmarkRequireScopes|BenchmarkIssueAccessToken|BenchmarkRefreshGrant' \
			-test.benchtime "$BENCHTIME" -test.benchmem >> "$OUT/root.txt"
	fi
done
"$GOBIN/benchstat" "$OUT/verify.txt" > "$OUT/verify.benchstat.txt"
"$GOBIN/benchstat" "$OUT/root.txt" > "$OUT/root.benchstat.txt"

echo "== callgrind instruction counts"
: > "$OUT/callgrind.txt"
if command -v valgrind > /dev/null; then
	for alg in HS256 RS256 ES256 EdDSA; do
		for n in "$N1" "$N2"; do
			# rdtscp and async preemption signals are beyond valgrind; no GC,
			# one P: the count is deterministic.
			GODEBUG=cpu.rdtscp=off,asyncpreemptoff=1 GOGC=off GOMAXPROCS=1 \
				valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$alg.$n.out" \
				--toggle-collect='*bench.measure*' \
				"$OUT/bench.test" -test.run '^$' -test.bench "BenchmarkVerify/(floor|$alg)\$" -test.benchtime "${n}x" \
				> "$OUT/cg.$alg.$n.log" 2>&1
			callgrind_annotate --inclusive=yes --threshold=100 "$OUT/cg.$alg.$n.out" 2>/dev/null |
				grep -E 'bench\.measure[A-Za-z0-9]+ \[' | sed "s/^/$alg $n /" >> "$OUT/callgrind.txt"
			rm -f "$OUT/cg.$alg.$n.out"
		done
	done
else
	echo "valgrind not found: no instruction counts" | tee -a "$OUT/callgrind.txt"
fi

echo "== CPU profiles of the first-sight path and of the stdlib-only middleware (HS256, ES256)"
for alg in HS256 ES256; do
	"$OUT/bench.test" -test.run '^$' -test.bench "BenchmarkVerify/$alg/(tollgate-first|stdlib)\$" -test.benchtime 2s \
		-test.cpuprofile "$OUT/cpu.$alg.prof" > /dev/null
	for fn in TollgateFirst Stdlib; do
		go tool pprof -top -nodecount=30 -focus="bench\.measure$fn\b" "$OUT/bench.test" "$OUT/cpu.$alg.prof" \
			> "$OUT/cpu.$alg.$fn.top.txt" 2>/dev/null
	done
done

end=$(date -u +%s)
python3 report.py --out ../BENCHMARKS.md --results "$OUT" --rounds "$ROUNDS" --benchtime "$BENCHTIME" \
	--n1 "$N1" --n2 "$N2" --seconds $((end - start)) --command "bench/run.sh (ROUNDS=$ROUNDS BENCHTIME=$BENCHTIME)"
rm -f "$OUT/bench.test" "$OUT/root.test" "$OUT"/cpu.*.prof
echo "wrote ../BENCHMARKS.md in $((end - start)) s"
