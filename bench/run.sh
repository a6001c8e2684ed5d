#!/usr/bin/env bash
# Runs the side-by-side benchmarks and writes ../BENCHMARKS.md.
#
#   bench/run.sh                 # 16 interleaved rounds and the goals 4-6, about 10 minutes on 2 cores
#   ROUNDS=4 bench/run.sh        # a quicker look
#
# Wall-clock figures: every benchmark once per round, ROUNDS rounds, so
# that drift in machine load spreads over all of them alike; medians by
# benchstat. Instruction counts: callgrind, two runs per algorithm with
# different iteration counts, the difference divided by the difference in
# iterations, so setup and warm-up cancel out. Allocation figures are
# exact and come from -benchmem. Then the goals 4-6 of issue 4: passwords
# (parallel bcrypt against parallel password grants), growth (key ring,
# token size, and a RefreshStore of a million tokens, which takes about
# 1.5 GB of memory for a few seconds per round), and the whole server
# (bench/server: one handler mounted open and protected) under wrk on
# loopback (skipped, with a note, when wrk is not installed: apt-get
# install wrk).
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS=${ROUNDS:-16}
BENCHTIME=${BENCHTIME:-0.2s}
N1=${N1:-50}
N2=${N2:-450}
SLOW_ROUNDS=${SLOW_ROUNDS:-6}  # rounds of the password and 1M-token benchmarks
WRK_ROUNDS=${WRK_ROUNDS:-12}   # wrk rounds, each of the three loads in rotating order
WRK_SECONDS=${WRK_SECONDS:-4}
BACKEND_ROUNDS=${BACKEND_ROUNDS:-5} # interleaved rounds of the backend refresh grants
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
	# Every round, so that the ratios of goal 3 have as many paired rounds
	# as those of goals 1 and 2.
	"$OUT/root.test" -test.run '^$' -test.bench 'BenchmarkRequireScopes|BenchmarkIssueAccessToken|BenchmarkRefreshGrant|BenchmarkKeyRing|BenchmarkTokenSize' \
		-test.benchtime "$BENCHTIME" -test.benchmem >> "$OUT/root.txt"
done

echo "== goals 4 and 5: $SLOW_ROUNDS rounds of passwords (bcrypt cost 10, parallel) and refresh-store growth (1 000 vs 1 000 000 tokens)"
: > "$OUT/slow.txt"
for r in $(seq "$SLOW_ROUNDS"); do
	echo "slow round $r/$SLOW_ROUNDS  load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt"
	"$OUT/root.test" -test.run '^$' -test.bench 'BenchmarkPasswords' -test.benchtime 1s -test.benchmem >> "$OUT/slow.txt"
	TOLLGATE_BENCH_GROWTH=1 "$OUT/root.test" -test.run '^$' -test.bench 'BenchmarkRefreshSpend' \
		-test.benchtime "$BENCHTIME" -test.benchmem >> "$OUT/slow.txt"
done
echo "== issue 8: 50 000 rotations of one family in memstore, and the heap it holds after"
(cd .. && go test -run '^$' -bench '^BenchmarkFamilyRotations$' -benchtime 50000x -benchmem ./memstore) > "$OUT/family.txt"
"$GOBIN/benchstat" "$OUT/verify.txt" > "$OUT/verify.benchstat.txt"
"$GOBIN/benchstat" "$OUT/root.txt" > "$OUT/root.benchstat.txt"
"$GOBIN/benchstat" "$OUT/slow.txt" > "$OUT/slow.benchstat.txt"

echo "== goal 6 (issue 8): the whole server under wrk, loopback only: one handler mounted open and protected"
: > "$OUT/wrk.txt"
if command -v wrk > /dev/null; then
	go build -o "$OUT/server" ./server
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
	base="http://127.0.0.1:$port"
	# The server logs every request: to /dev/null, on both routes alike.
	"$OUT/server" -addr "127.0.0.1:$port" -alg ES256 > /dev/null 2>&1 &
	srv=$!
	trap 'kill "$srv" 2> /dev/null || true' EXIT
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "$base/open/items" 2> /dev/null && break
		sleep 0.1
	done
	token=$(curl -fsS -d grant_type=password -d username=alice -d password=wonderland "$base/token" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
	hdr=$(python3 -c 'import base64, sys; print(base64.urlsafe_b64decode(sys.argv[1].split(".")[0] + "==").decode())' "$token")
	echo "token header: $hdr" | tee -a "$OUT/wrk.txt"
	test "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$base/protected/items")" = 200
	test "$(curl -s -o /dev/null -w '%{http_code}' "$base/protected/items")" = 401
	cmp <(curl -fsS "$base/open/items") <(curl -fsS -H "Authorization: Bearer $token" "$base/protected/items")
	# The server's CPU time (user + system, clock ticks) from /proc.
	ticks() { awk '{print $14 + $15}' "/proc/$srv/stat"; }
	# Three loads: the open route as a client calls it (no token), the
	# open route sent the same bytes as the protected one (the token
	# ignored), and the protected route.
	load() {
		case "$1" in
		open) wrk -t2 -c32 -d"$2" --latency "$base/open/items" ;;
		open-token) wrk -t2 -c32 -d"$2" --latency -H "Authorization: Bearer $token" "$base/open/items" ;;
		protected) wrk -t2 -c32 -d"$2" --latency -H "Authorization: Bearer $token" "$base/protected/items" ;;
		esac
	}
	load open 2s > /dev/null # warm-up
	load protected 2s > /dev/null
	for r in $(seq "$WRK_ROUNDS"); do
		# The order rotates, so drift in load falls on every route alike.
		case $((r % 3)) in
		1) order="open open-token protected" ;;
		2) order="protected open open-token" ;;
		0) order="open-token protected open" ;;
		esac
		for route in $order; do
			echo "wrk round $r/$WRK_ROUNDS $route  load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt"
			echo "== ROUTE $route ROUND $r" >> "$OUT/wrk.txt"
			t0=$(ticks)
			load "$route" "${WRK_SECONDS}s" >> "$OUT/wrk.txt"
			echo "server CPU ticks: $(($(ticks) - t0)) (CLK_TCK $(getconf CLK_TCK))" >> "$OUT/wrk.txt"
		done
	done
	kill "$srv"
	wait "$srv" 2> /dev/null || true
	trap - EXIT
	rm -f "$OUT/server"
else
	echo "wrk not found (apt-get install wrk): the whole-server goal is not measured" | tee -a "$OUT/wrk.txt"
fi

echo "== issue 9: the store backends (real PostgreSQL and Redis on loopback, started by the tests) and remote key sets"
: > "$OUT/backends.txt"
if ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1 && command -v redis-server > /dev/null; then
	for r in $(seq "$BACKEND_ROUNDS"); do
		echo "backend round $r/$BACKEND_ROUNDS  load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt"
		(cd .. && go test -run '^$' -bench '^BenchmarkBackendRefreshGrant$' -benchtime 1s -benchmem ./memstore) >> "$OUT/backends.txt"
		for m in sqlitestore pgstore redisstore; do
			(cd "../$m" && go test -run '^$' -bench '^BenchmarkRefreshGrant$' -benchtime 1s -benchmem .) | sed "s/^BenchmarkRefreshGrant/BenchmarkRefreshGrant\/$m/" >> "$OUT/backends.txt"
		done
		(cd .. && go test -run '^$' -bench '^BenchmarkVerify$' -benchtime 0.5s -benchmem ./remotekeys) >> "$OUT/backends.txt"
	done
	for m in sqlitestore pgstore; do
		(cd "../$m" && go test -run '^$' -bench '^BenchmarkPasswordGrant$' -benchtime 3s .) | sed "s/^BenchmarkPasswordGrant/BenchmarkPasswordGrant\/$m/" >> "$OUT/backends.txt"
	done
	for m in sqlitestore pgstore redisstore; do
		(cd "../$m" && go test -run '^$' -bench '^BenchmarkFamilyBytes$' -benchtime 1x .) | sed "s/^BenchmarkFamilyBytes/BenchmarkFamilyBytes\/$m/" >> "$OUT/backends.txt"
	done
	(cd ../sqlitestore && go test -run '^$' -bench '^BenchmarkPurgeMillion$' -benchtime 1x -timeout 30m .) >> "$OUT/backends.txt"
else
	echo "postgresql or redis-server not installed (apt-get install postgresql redis-server): backends not measured" | tee -a "$OUT/backends.txt"
fi

echo "== callgrind instruction counts"
if command -v valgrind > /dev/null; then
	N1="$N1" N2="$N2" BENCH_TEST="$OUT/bench.test" RAW="$OUT/callgrind.txt" ./instructions.sh
else
	echo "valgrind not found: no instruction counts" | tee "$OUT/callgrind.txt"
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

echo "== CPU profile of the refresh grant (HS256) through TokenHandler"
"$OUT/root.test" -test.run '^$' -test.bench 'BenchmarkRefreshGrant/HS256$' -test.benchtime 2s \
	-test.cpuprofile "$OUT/cpu.refresh.prof" > /dev/null
go tool pprof -top -cum -nodecount=200 -focus='TokenHandler' "$OUT/root.test" "$OUT/cpu.refresh.prof" \
	2> /dev/null > "$OUT/cpu.refresh.top.txt"
# The whole process, for the garbage collector's share of it.
go tool pprof -top -cum -nodecount=100000 "$OUT/root.test" "$OUT/cpu.refresh.prof" 2> /dev/null > "$OUT/cpu.refresh.all.txt"

end=$(date -u +%s)
python3 report.py --out ../BENCHMARKS.md --results "$OUT" --rounds "$ROUNDS" --benchtime "$BENCHTIME" \
	--n1 "$N1" --n2 "$N2" --seconds $((end - start)) --slow-rounds "$SLOW_ROUNDS" --wrk-rounds "$WRK_ROUNDS" --wrk-seconds "$WRK_SECONDS" \
	--command "bench/run.sh (ROUNDS=$ROUNDS BENCHTIME=$BENCHTIME SLOW_ROUNDS=$SLOW_ROUNDS WRK_ROUNDS=$WRK_ROUNDS WRK_SECONDS=$WRK_SECONDS)"
rm -f "$OUT/bench.test" "$OUT/root.test" "$OUT"/cpu.*.prof
echo "wrote ../BENCHMARKS.md in $((end - start)) s"
