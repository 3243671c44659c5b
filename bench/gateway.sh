#!/usr/bin/env bash
# Benchmark of the dask-gateway service (bench/gateway.py) against bare dask measured in the same run: create ->
# RUNNING, scale(N) -> N workers, and the SNI proxy against direct TLS. Not a test: it prints figures.
#
#   bench/gateway.sh               # from anywhere; builds Release, runs ~5 minutes
#
# Knobs (environment): BENCH_REPS (5), BENCH_WORKERS (8), BENCH_PAYLOAD_MIB (128), BENCH_TRANSFERS (8),
# BENCH_CALLS (2000), BENCH_CASES (clusters,proxy), BENCH_SKIP_BUILD (0), BENCH_RAW_DIR (unset: where to copy the
# server log). Orrery__* and DOTNET_* variables reach the server, e.g. Orrery__Gateway__ReconcileInterval=00:00:00.200
# to see what the poll interval costs.
set -euo pipefail

SKIP_BUILD=${BENCH_SKIP_BUILD:-0}
PY=/usr/bin/python3   # Debian's, with python3-distributed; a pyenv python3 on PATH lacks it

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source bench/lib.sh

for tool in curl dotnet openssl /usr/bin/dask "$PY"; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found (Debian: apt-get install -y python3-distributed openssl curl)" >&2; exit 1; }
done
"$PY" -c 'import distributed' 2>/dev/null || { echo "error: $PY cannot import distributed" >&2; exit 1; }

WORK=$(mktemp -d)
SERVER_PID=
BENCH_PID=

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    [[ -n "$BENCH_PID" ]] && bench_stop_pid "$BENCH_PID" 600   # it deletes its clusters and stops its processes itself
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
mkdir -p "$WORK/data" "$WORK/bare"

bench_start_server "$DLL" "$ORIGIN" "$WORK/data" "$ADMIN_TOKEN" "$WORK/server.log" "$ORIGIN/hub/api"

# ---- measure --------------------------------------------------------------------------------------------------
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before measuring: $LOAD_BEFORE"
# In the background so that a signal to this script reaches the trap at once (bash defers traps during a foreground job).
BENCH_ADMIN_TOKEN="$ADMIN_TOKEN" "$PY" bench/gateway.py --url "$ORIGIN" --data-dir "$WORK/data" --work-dir "$WORK/bare" \
    --server-pid "$SERVER_PID" \
    --reps "${BENCH_REPS:-5}" --workers "${BENCH_WORKERS:-8}" --payload-mib "${BENCH_PAYLOAD_MIB:-128}" \
    --transfers "${BENCH_TRANSFERS:-8}" --calls "${BENCH_CALLS:-2000}" --cases "${BENCH_CASES:-clusters,proxy}" &
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
echo "- Server settings from the environment: ${settings:-none (defaults: Orrery:Gateway:ReconcileInterval 1 s, Orrery:Compute:ReconcileInterval 2 s)}"
echo "- CPU: $cpu_model; nproc: $(nproc); memory: $mem"
echo "- Load average (/proc/loadavg; 1, 5, 15 min): before measuring $LOAD_BEFORE, after $LOAD_AFTER"
echo "- .NET: $(dotnet --version 2>/dev/null || echo unknown); Python $("$PY" -c 'import platform; print(platform.python_version())'); distributed $("$PY" -c 'import distributed; print(distributed.__version__)'); $(openssl version | cut -d' ' -f1-2)"
