#!/usr/bin/env bash
# Benchmark of the kbatch-compatible job service (bench/jobs.py) against running the same commands directly, measured
# in the same run: submit -> first log line / Running / done, throughput of many submissions, log streaming latency.
# Not a test: it prints figures.
#
#   bench/jobs.sh                  # from anywhere; builds Release; ~5-10 minutes with the defaults
#
# Knobs (environment): BENCH_REPS (5; latency and log cases), BENCH_SUBMISSIONS (1000), BENCH_CLIENTS (4),
# BENCH_THROUGHPUT_REPS (1), BENCH_CASES (latency,logs,throughput), BENCH_SKIP_BUILD (0), BENCH_RAW_DIR (unset: where
# to copy the server log). Orrery__* and DOTNET_* variables reach the server; Orrery__Jobs__MaxConcurrentJobs is 8
# unless set (the default per-user limit, 4, would make the throughput case measure the limit). For example
#   Orrery__Compute__ReconcileInterval=00:00:00.200 Orrery__Jobs__ReconcileInterval=00:00:00.200 bench/jobs.sh
# shows what the reconcile intervals cost.
set -euo pipefail

SKIP_BUILD=${BENCH_SKIP_BUILD:-0}
PY=/usr/bin/python3   # Debian's; the client tests' module it imports needs nothing else

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source bench/lib.sh

for tool in curl dotnet sh true "$PY"; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found" >&2; exit 1; }
done

export Orrery__Jobs__MaxConcurrentJobs=${Orrery__Jobs__MaxConcurrentJobs:-8}

WORK=$(mktemp -d)
SERVER_PID=
BENCH_PID=

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    [[ -n "$BENCH_PID" ]] && bench_stop_pid "$BENCH_PID" 50
    [[ -n "$SERVER_PID" ]] && bench_stop_pid "$SERVER_PID" 100
    bench_stop_leftovers "$WORK"
    bench_keep_raw "$WORK"/*.log
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
mkdir -p "$WORK/data"

bench_start_server "$DLL" "$ORIGIN" "$WORK/data" "$ADMIN_TOKEN" "$WORK/server.log" "$ORIGIN/hub/api"

# ---- measure --------------------------------------------------------------------------------------------------
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before measuring: $LOAD_BEFORE"
# In the background so that a signal to this script reaches the trap at once (bash defers traps during a foreground job).
BENCH_ADMIN_TOKEN="$ADMIN_TOKEN" "$PY" bench/jobs.py --url "$ORIGIN" --server-pid "$SERVER_PID" \
    --reps "${BENCH_REPS:-5}" --submissions "${BENCH_SUBMISSIONS:-1000}" --clients "${BENCH_CLIENTS:-4}" \
    --throughput-reps "${BENCH_THROUGHPUT_REPS:-1}" --cases "${BENCH_CASES:-latency,logs,throughput}" &
BENCH_PID=$!
wait "$BENCH_PID"
BENCH_PID=
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ---------------------------------------------------------------------------------------------------
cpu_model=$(lscpu 2>/dev/null | awk -F: '/^Model name/ { sub(/^[ \t]+/, "", $2); print $2; exit }')
[[ -n "$cpu_model" ]] || cpu_model=$(awk -F: '/^model name/ { sub(/^[ \t]+/, "", $2); print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain -- src 2>/dev/null | grep -q . && echo " (src has uncommitted changes)" || true)
settings=$(env | grep -E '^Orrery__' | sort | paste -sd ' ' - || true)

echo
echo "- Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "- Commit: $commit$dirty"
echo "- Server settings from the environment: $settings (defaults otherwise: Orrery:Jobs:ReconcileInterval 2 s, Orrery:Compute:ReconcileInterval 2 s)"
echo "- CPU: $cpu_model; nproc: $(nproc); memory: $mem"
echo "- Load average (/proc/loadavg; 1, 5, 15 min): before measuring $LOAD_BEFORE, after $LOAD_AFTER"
echo "- .NET: $(dotnet --version 2>/dev/null || echo unknown); Python $("$PY" -c 'import platform; print(platform.python_version())')"
