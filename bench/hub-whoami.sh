#!/usr/bin/env bash
# Benchmark of GET {BaseUrl}hub/api/user ("whoami") with a token, against the unauthenticated GET {BaseUrl}hub/api
# on the same server as a baseline. Not a test: it prints figures, it does not judge them.
#
#   bench/hub-whoami.sh            # from anywhere; builds Release, runs ~2 minutes
#
# Knobs (environment): BENCH_RUNS (3), BENCH_DURATION (10s), BENCH_WARMUP (3s), BENCH_CONNECTIONS (8),
# BENCH_THREADS (2), BENCH_BASE_URL (/, passed to the server as ORRERY_BASE_URL), BENCH_SKIP_BUILD (0),
# BENCH_ADMIN (1: also measure whoami with the admin token), BENCH_RAW_DIR (unset: where to copy wrk's raw output).
# DOTNET_* variables in the environment reach the server (e.g. DOTNET_gcServer=0 to compare GC modes).
set -euo pipefail

RUNS=${BENCH_RUNS:-3}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-3s}
CONNECTIONS=${BENCH_CONNECTIONS:-8}
THREADS=${BENCH_THREADS:-2}
BASE_URL=${BENCH_BASE_URL:-/}
SKIP_BUILD=${BENCH_SKIP_BUILD:-0}
MEASURE_ADMIN=${BENCH_ADMIN:-1}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source bench/lib.sh

for tool in wrk curl python3 dotnet; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found (Debian: apt-get install -y wrk curl)" >&2; exit 1; }
done

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    local status=$?
    [[ -n "$SERVER_PID" ]] && bench_stop_pid "$SERVER_PID" 50
    bench_keep_raw "$WORK"/*.txt "$WORK"/*.cpu "$WORK"/*.log
    rm -rf "$WORK"
    exit "$status"
}
bench_on_exit cleanup

log() { bench_log "$@"; }

# ---- build and start ------------------------------------------------------------------------------------------
DLL=$(bench_build_server "$SKIP_BUILD" "$WORK/build.log")
PORT=$(bench_free_port)
ADMIN_TOKEN=$(bench_random_token)
ORIGIN="http://127.0.0.1:$PORT"
HUB="$ORIGIN${BASE_URL}hub"
mkdir -p "$WORK/data"

ORRERY_BASE_URL="$BASE_URL" bench_start_server "$DLL" "$ORIGIN" "$WORK/data" "$ADMIN_TOKEN" "$WORK/server.log" "$HUB/api"

api() {   # api METHOD PATH [BODY] -> body on stdout; fails on non-2xx
    curl -fsS -X "$1" -H "Authorization: token $ADMIN_TOKEN" -H "Content-Type: application/json" \
        ${3:+--data "$3"} "$HUB/api$2"
}
api POST /users/bench >/dev/null
TOKEN=$(api POST /users/bench/tokens '{"note": "bench"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
[[ -n "$TOKEN" ]] || { echo "error: no token in the response" >&2; exit 1; }

# Check what is being measured actually answers as intended, once.
WHOAMI=$(curl -fsS -H "Authorization: token $TOKEN" "$HUB/api/user")
python3 -c 'import json, sys; m = json.loads(sys.argv[1]); assert m["name"] == "bench" and not m["admin"], m' "$WHOAMI"
curl -fsS -o /dev/null -H "Authorization: token $ADMIN_TOKEN" "$HUB/api/user"
log "user 'bench' and its token ready; whoami answers $(printf %s "$WHOAMI" | wc -c) bytes"

# ---- measure --------------------------------------------------------------------------------------------------
# Cases: name|path|authorization header ('' for none)
CASES=("baseline GET ${BASE_URL}hub/api (no auth)|/api|")
CASES+=("whoami GET ${BASE_URL}hub/api/user (user token)|/api/user|$TOKEN")
[[ "$MEASURE_ADMIN" == 1 ]] && CASES+=("whoami GET ${BASE_URL}hub/api/user (admin token)|/api/user|$ADMIN_TOKEN")

CLK_TCK=$(getconf CLK_TCK)
server_cpu_ticks() { sed 's/^.*) //' "/proc/$SERVER_PID/stat" | awk '{ print $12 + $13 }'; }   # utime + stime

run_wrk() {   # run_wrk DURATION PATH AUTH OUTFILE; also writes the server's CPU ticks spent to OUTFILE.cpu
    local args=(-t"$THREADS" -c"$CONNECTIONS" -d"$1" --latency) before
    [[ -n "$3" ]] && args+=(-H "Authorization: token $3")
    before=$(server_cpu_ticks)
    wrk "${args[@]}" "$HUB$2" >"$4"
    echo $(($(server_cpu_ticks) - before)) >"$4.cpu"
    if grep -q -e 'Non-2xx or 3xx responses' -e 'Socket errors' "$4"; then
        echo "error: wrk reported errors for $HUB$2:" >&2; cat "$4" >&2; exit 1
    fi
}

# Latency value with unit (us, ms, s, m) -> milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1;
    if (f < 0) { print "bad latency unit: " v > "/dev/stderr"; exit 1 } printf "%.3f", n * f }'; }

parse() {   # parse FILE -> "reqs p50ms p99ms server-cpu-us-per-request"
    local reqs p50 p99 total cpu
    reqs=$(awk '/^Requests\/sec:/ { print $2 }' "$1")
    total=$(awk '/ requests in / { print $1 }' "$1")
    cpu=$(awk -v t="$(cat "$1.cpu")" -v n="$total" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
    p50=$(awk '$1 == "50%" { print $2 }' "$1")
    p99=$(awk '$1 == "99%" { print $2 }' "$1")
    [[ -n "$reqs" && -n "$p50" && -n "$p99" ]] || { echo "error: cannot parse wrk output:" >&2; cat "$1" >&2; exit 1; }
    echo "$reqs $(to_ms "$p50") $(to_ms "$p99") $cpu"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before measuring: $LOAD_BEFORE; warm-up: $WARMUP per case"
for c in "${!CASES[@]}"; do
    IFS='|' read -r _ path auth <<<"${CASES[$c]}"
    run_wrk "$WARMUP" "$path" "$auth" "$WORK/warmup-$c.txt"
done

# Interleaved (baseline, whoami, ..., baseline, whoami, ...) so drift in background load hits every case alike.
declare -A REQS P50 P99 CPU
for r in $(seq "$RUNS"); do
    for c in "${!CASES[@]}"; do
        IFS='|' read -r name path auth <<<"${CASES[$c]}"
        log "run $r/$RUNS: $name, $DURATION"
        run_wrk "$DURATION" "$path" "$auth" "$WORK/run-$c-$r.txt"
        read -r reqs p50 p99 cpu <<<"$(parse "$WORK/run-$c-$r.txt")"
        REQS[$c]+="$reqs "; P50[$c]+="$p50 "; P99[$c]+="$p99 "; CPU[$c]+="$cpu "
    done
done

# ---- report ---------------------------------------------------------------------------------------------------
cpu_model=$(lscpu 2>/dev/null | awk -F: '/^Model name/ { sub(/^[ \t]+/, "", $2); print $2; exit }')
[[ -n "$cpu_model" ]] || cpu_model=$(awk -F: '/^model name/ { sub(/^[ \t]+/, "", $2); print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain -- src 2>/dev/null | grep -q . && echo " (src has uncommitted changes)" || true)

base_reqs=$(median ${REQS[0]})
echo
echo "| Case | req/s | p50 (ms) | p99 (ms) | req/s vs baseline | server CPU µs/req | req/s per run |"
echo "|---|---:|---:|---:|---:|---:|---|"
for c in "${!CASES[@]}"; do
    IFS='|' read -r name _ _ <<<"${CASES[$c]}"
    reqs=$(median ${REQS[$c]}); p50=$(median ${P50[$c]}); p99=$(median ${P99[$c]}); cpu=$(median ${CPU[$c]})
    ratio=$(awk -v a="$reqs" -v b="$base_reqs" 'BEGIN { printf "%.2f", a / b }')
    runs=$(printf '%s' "${REQS[$c]}" | awk '{ for (i = 1; i <= NF; i++) printf "%s%.0f", (i > 1 ? ", " : ""), $i }')
    printf '| %s | %.0f | %.3f | %.3f | %s | %.1f | %s |\n' "$name" "$reqs" "$p50" "$p99" "$ratio" "$cpu" "$runs"
done
echo
echo "Each figure is the median of $RUNS runs (each column separately) of \`wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency\`,"
echo "cases interleaved, after a $WARMUP warm-up per case; wrk and the server on the same machine, over loopback."
echo "Server CPU µs/req: the server process's user+system CPU time during a run divided by the requests wrk completed"
echo "(clock-tick resolution: 1/$CLK_TCK s); less sensitive to other load on the machine than req/s."
echo
echo "- Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "- Commit: $commit$dirty"
echo "- CPU: $cpu_model; nproc: $(nproc); memory: $mem"
echo "- Load average (/proc/loadavg; 1, 5, 15 min): before measuring $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- .NET: $(dotnet --version 2>/dev/null || echo unknown); wrk: $(wrk -v 2>&1 | head -n1 | awk '{ print $2 }')"
