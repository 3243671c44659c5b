#!/usr/bin/env bash
# Benchmark of dask workers on the Slurm backend (bench/slurm.py): scale(1) -> worker registered and scale(N) -> N
# workers registered with workers submitted to Slurm, against the same on the local backend, plus bare sbatch on the
# same Slurm cluster, all measured in one run. Not a test: it prints figures.
#
#   bench/slurm.sh                 # from anywhere; builds Release, starts a private 3-node Slurm cluster, ~4 minutes
#
# Knobs (environment): BENCH_REPS (3), BENCH_WORKERS (6: the cluster's 3 nodes × 2 CPUs), BENCH_WORKER_MEMORY (0.5 GiB;
# a node has RealMemory=2000 MB, so 1 GiB workers fit one per node), BENCH_WARMUP (1 uncounted round),
# BENCH_SKIP_BUILD (0), BENCH_SERVER_DLL (unset: a prebuilt Orrery.Server.dll to run instead of building, e.g. one built
# with -o elsewhere so that servers others run from src/Orrery.Server/bin/Release are not overwritten), BENCH_RAW_DIR
# (unset: where to copy the servers' and the Slurm daemons' logs). Orrery__* and DOTNET_* variables reach both servers,
# e.g. Orrery__Gateway__ReconcileInterval=00:00:00.200 Orrery__Compute__ReconcileInterval=00:00:00.200.
# Needs root: scripts/slurm.sh runs munged, slurmctld and slurmd as root. See bench/README.md, section Slurm.
set -euo pipefail

SKIP_BUILD=${BENCH_SKIP_BUILD:-0}
PY=/usr/bin/python3   # Debian's, with python3-distributed; a pyenv python3 on PATH lacks it

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source bench/lib.sh

for tool in curl dotnet /usr/bin/dask "$PY"; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found (Debian: apt-get install -y python3-distributed curl)" >&2; exit 1; }
done
"$PY" -c 'import distributed' 2>/dev/null || { echo "error: $PY cannot import distributed" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "error: scripts/slurm.sh runs the Slurm daemons as root; run this as root" >&2; exit 1; }

WORK=$(mktemp -d)
SLURM_DIR=
LOCAL_PID=
SLURM_PID=
BENCH_PID=

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    [[ -n "$BENCH_PID" ]] && bench_stop_pid "$BENCH_PID" 900   # it deletes its clusters and cancels its jobs itself
    [[ -n "$SLURM_PID" ]] && bench_stop_pid "$SLURM_PID" 100
    [[ -n "$LOCAL_PID" ]] && bench_stop_pid "$LOCAL_PID" 100
    bench_keep_raw "$WORK"/*.log ${SLURM_DIR:+$SLURM_DIR/*.log}
    # Cancels whatever job is left and stops munged, slurmctld and the slurmd by their pid files.
    [[ -n "$SLURM_DIR" ]] && { scripts/slurm.sh stop "$SLURM_DIR" || echo "[bench] scripts/slurm.sh stop failed" >&2; }
    bench_stop_leftovers "$WORK"
    rm -rf "$WORK"
    exit "$status"
}
bench_on_exit cleanup

log() { bench_log "$@"; }

# ---- Slurm, build, servers ------------------------------------------------------------------------------------
SLURM_DIR=$WORK/slurm
log "starting a private Slurm cluster in $SLURM_DIR"
slurm_env=$(scripts/slurm.sh start "$SLURM_DIR")
eval "$slurm_env"   # exports SLURM_CONF (and ORRERY_SLURM_DIR): the servers, python and sbatch use this cluster
for tool in sbatch squeue scontrol scancel; do command -v "$tool" >/dev/null || { echo "error: $tool not found" >&2; exit 1; }; done
# slurmd at "verbose" (one level above scripts/slurm.sh's "info") logs when it starts loading a job's login environment,
# which splits the launch step in bench/slurm.py; a handful of lines per job.
sed -i 's/^SlurmdDebug=info$/SlurmdDebug=verbose/' "$SLURM_CONF"
scontrol reconfigure
for i in $(seq 100); do
    [[ $(sinfo -h -N -o '%t' 2>/dev/null | grep -cE '^(idle|mix|alloc)$') == 3 ]] && break
    [[ $i == 100 ]] && { echo "error: the Slurm nodes are not idle after scontrol reconfigure" >&2; sinfo -N -l >&2; exit 1; }
    sleep 0.1
done

if [[ -n "${BENCH_SERVER_DLL:-}" ]]; then
    DLL=$BENCH_SERVER_DLL   # a server built elsewhere (e.g. dotnet build -c Release src/Orrery.Server -o DIR), left as it is
    [[ -f "$DLL" ]] || { echo "error: $DLL missing" >&2; exit 1; }
else
    DLL=$(bench_build_server "$SKIP_BUILD" "$WORK/build.log")
fi
ADMIN_TOKEN=$(bench_random_token)
mkdir -p "$WORK/local" "$WORK/slurm-data" "$WORK/bare"

wait_up() {   # wait_up PID ORIGIN LOG
    for i in $(seq 300); do
        if ! kill -0 "$1" 2>/dev/null; then
            echo "error: server exited during start; its output:" >&2; cat "$3" >&2; exit 1
        fi
        curl -fsS -o /dev/null "$2/hub/api" 2>/dev/null && return 0
        [[ $i == 300 ]] && { echo "error: server did not answer $2/hub/api within 30 s" >&2; cat "$3" >&2; exit 1; }
        sleep 0.1
    done
}

LOCAL_ORIGIN="http://127.0.0.1:$(bench_free_port)"
log "starting the local-workers server on $LOCAL_ORIGIN (data in $WORK/local)"
ORRERY_DATA_DIR="$WORK/local" ORRERY_ADMIN_TOKEN="$ADMIN_TOKEN" Logging__LogLevel__Default=Warning \
    Orrery__Gateway__WorkerBackend=local \
    dotnet "$DLL" --urls "$LOCAL_ORIGIN" >"$WORK/server-local.log" 2>&1 &
LOCAL_PID=$!
wait_up "$LOCAL_PID" "$LOCAL_ORIGIN" "$WORK/server-local.log"

SLURM_ORIGIN="http://127.0.0.1:$(bench_free_port)"
log "starting the Slurm-workers server on $SLURM_ORIGIN (data in $WORK/slurm-data)"
# (env: a variable name with dots cannot be assigned by the shell itself)
env ORRERY_DATA_DIR="$WORK/slurm-data" ORRERY_ADMIN_TOKEN="$ADMIN_TOKEN" Logging__LogLevel__Default=Warning \
    Logging__LogLevel__Orrery.Backends.Slurm=Information \
    Orrery__Backends__Slurm__Enabled=true Orrery__Backends__Slurm__Partition=debug Orrery__Gateway__WorkerBackend=slurm \
    dotnet "$DLL" --urls "$SLURM_ORIGIN" >"$WORK/server-slurm.log" 2>&1 &
SLURM_PID=$!
wait_up "$SLURM_PID" "$SLURM_ORIGIN" "$WORK/server-slurm.log"

# ---- measure --------------------------------------------------------------------------------------------------
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before measuring: $LOAD_BEFORE"
# In the background so that a signal to this script reaches the trap at once (bash defers traps during a foreground job).
BENCH_ADMIN_TOKEN="$ADMIN_TOKEN" "$PY" bench/slurm.py --local-url "$LOCAL_ORIGIN" --local-data "$WORK/local" \
    --slurm-url "$SLURM_ORIGIN" --slurm-data "$WORK/slurm-data" --work-dir "$WORK/bare" \
    --reps "${BENCH_REPS:-3}" --warmup "${BENCH_WARMUP:-1}" --workers "${BENCH_WORKERS:-6}" \
    --worker-memory "${BENCH_WORKER_MEMORY:-0.5}" --partition debug &
BENCH_PID=$!
if ! wait "$BENCH_PID"; then
    BENCH_PID=
    echo "error: bench/slurm.py failed; the Slurm server's log (last 60 lines):" >&2
    tail -n 60 "$WORK/server-slurm.log" >&2
    exit 1
fi
BENCH_PID=
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ---------------------------------------------------------------------------------------------------
cpu_model=$(lscpu 2>/dev/null | awk -F: '/^Model name/ { sub(/^[ \t]+/, "", $2); print $2; exit }')
[[ -n "$cpu_model" ]] || cpu_model=$(awk -F: '/^model name/ { sub(/^[ \t]+/, "", $2); print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain -- src 2>/dev/null | grep -q . && echo " (src has uncommitted changes)" || true)
settings=$(env | grep -E '^Orrery__' | sort | paste -sd ' ' - || true)
proctrack=$(awk -F= '/^ProctrackType=/ { print $2 }' "$SLURM_CONF")
sched=$(sed -n 's/^SchedulerParameters=//p' "$SLURM_CONF")

echo
echo "- Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "- Commit: $commit$dirty"
[[ -n "${BENCH_SERVER_DLL:-}" ]] && echo "- Server: the prebuilt $BENCH_SERVER_DLL (BENCH_SERVER_DLL), not built by this run: the commit above is this checkout's"
echo "- Server settings from the environment: ${settings:-none (defaults: Orrery:Gateway:ReconcileInterval 1 s, Orrery:Compute:ReconcileInterval 2 s)}; the Slurm server adds Orrery__Backends__Slurm__Enabled=true, Orrery__Backends__Slurm__Partition=debug, Orrery__Gateway__WorkerBackend=slurm"
echo "- Slurm: $(sinfo -V 2>/dev/null), scripts/slurm.sh cluster (3 nodes × CPUs=2 RealMemory=2000 on loopback, $proctrack, SchedulerParameters=$sched)"
echo "- CPU: $cpu_model; nproc: $(nproc); memory: $mem"
echo "- Load average (/proc/loadavg; 1, 5, 15 min): before measuring $LOAD_BEFORE, after $LOAD_AFTER"
echo "- .NET: $(dotnet --version 2>/dev/null || echo unknown); Python $("$PY" -c 'import platform; print(platform.python_version())'); distributed $("$PY" -c 'import distributed; print(distributed.__version__)')"
