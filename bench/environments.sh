#!/usr/bin/env bash
# Benchmark of environments (bench/environments.py): cold build against cache hit, a rebuild after changing only a
# local library (Podman layers against a venv), and a Dask worker started as a container against a local process.
# Not a test: it prints figures.
#
#   bench/environments.sh          # from anywhere; builds Release; ~6-10 minutes with the defaults
#
# Knobs (environment): BENCH_REPS (5; builds), BENCH_START_REPS (5; worker starts), BENCH_BIG_MODULES (300),
# BENCH_CASES (cache,rebuild,start,cluster), BENCH_SKIP_BUILD (0), BENCH_SERVER_DLL (unset: a prebuilt
# Orrery.Server.dll to run instead of building), BENCH_RAW_DIR (unset: where to copy the server log and the
# scheduler's and workers' logs). Orrery__* and DOTNET_* variables reach the server. Needs root and podman:
# scripts/podman.sh base-image builds the base image if it is missing (debootstrap, needs deb.debian.org).
set -euo pipefail

SKIP_BUILD=${BENCH_SKIP_BUILD:-0}
PY=/usr/bin/python3   # Debian's: the start and cluster cases import python3-distributed
IMAGES=localhost/orrery-env-bench

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source bench/lib.sh

for tool in curl dotnet podman /usr/bin/dask "$PY"; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found" >&2; exit 1; }
done

scripts/podman.sh base-image
eval "$(scripts/podman.sh env)"   # CONTAINERS_CONF and ORRERY_PODMAN_BASE_IMAGE, for this script's podman calls too
export Orrery__Backends__Podman__Enabled=true
export Orrery__Backends__Podman__ConfigFile=$CONTAINERS_CONF
export Orrery__Environments__ContainersConf=$CONTAINERS_CONF
# Its own repository, so that removing what the run built touches no other image.
export Orrery__Environments__ImageRepository=$IMAGES

WORK=$(mktemp -d)
TAG=$(basename "$WORK" | tr -cd 'a-zA-Z0-9')   # names the containers environments.py starts itself
SERVER_PID=
BENCH_PID=

# Containers of this run: Orrery's (orrery-<resource id>, one state directory per resource) and environments.py's own.
remove_containers() {
    local names=() dir
    for dir in "$WORK"/data/podman/*/; do
        [[ -d "$dir" ]] && names+=("orrery-$(basename "$dir")")
    done
    mapfile -t -O "${#names[@]}" names < <(podman ps -a --filter "name=^orrery-env-bench-$TAG-" --format '{{.Names}}')
    if ((${#names[@]})); then
        podman rm --force --ignore --time 5 "${names[@]}" >/dev/null || true
    fi
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    [[ -n "$BENCH_PID" ]] && bench_stop_pid "$BENCH_PID" 50
    [[ -n "$SERVER_PID" ]] && bench_stop_pid "$SERVER_PID" 100
    remove_containers   # before the sweep: a scheduler in a container names the data dir and would only be killed
    bench_stop_leftovers "$WORK"
    # The images built by this run (all of $IMAGES is this benchmark's); their untagged build layers go with them.
    local images=()
    mapfile -t images < <(podman images --filter "reference=$IMAGES" --format '{{.ID}}' | sort -u)
    if ((${#images[@]})); then
        podman rmi --force "${images[@]}" >/dev/null || true
    fi
    bench_keep_raw "$WORK"/*.log "$WORK"/start/*.log
    rm -rf "$WORK"
    exit "$status"
}
bench_on_exit cleanup

log() { bench_log "$@"; }

# ---- build and start ------------------------------------------------------------------------------------------
if [[ -n "${BENCH_SERVER_DLL:-}" ]]; then
    DLL=$BENCH_SERVER_DLL
    [[ -f "$DLL" ]] || { echo "error: $DLL missing" >&2; exit 1; }
else
    DLL=$(bench_build_server "$SKIP_BUILD" "$WORK/build.log")
fi
PORT=$(bench_free_port)
ADMIN_TOKEN=$(bench_random_token)
ORIGIN="http://127.0.0.1:$PORT"
mkdir -p "$WORK/data"

bench_start_server "$DLL" "$ORIGIN" "$WORK/data" "$ADMIN_TOKEN" "$WORK/server.log" "$ORIGIN/hub/api"

# ---- measure --------------------------------------------------------------------------------------------------
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before measuring: $LOAD_BEFORE"
# In the background so that a signal to this script reaches the trap at once (bash defers traps during a foreground job).
BENCH_ADMIN_TOKEN="$ADMIN_TOKEN" "$PY" bench/environments.py --url "$ORIGIN" --work-dir "$WORK" --tag "$TAG" \
    --base-image "$ORRERY_PODMAN_BASE_IMAGE" --reps "${BENCH_REPS:-5}" --start-reps "${BENCH_START_REPS:-5}" \
    --big-modules "${BENCH_BIG_MODULES:-300}" --cases "${BENCH_CASES:-cache,rebuild,start,cluster}" &
BENCH_PID=$!
wait "$BENCH_PID"
BENCH_PID=
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ---------------------------------------------------------------------------------------------------
cpu_model=$(lscpu 2>/dev/null | awk -F: '/^Model name/ { sub(/^[ \t]+/, "", $2); print $2; exit }')
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain -- src 2>/dev/null | grep -q . && echo " (src has uncommitted changes)" || true)
settings=$(env | grep -E '^Orrery__' | sort | paste -sd ' ' - || true)

echo
echo "- Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "- Commit: $commit$dirty"
[[ -n "${BENCH_SERVER_DLL:-}" ]] && echo "- Server: the prebuilt $BENCH_SERVER_DLL (BENCH_SERVER_DLL), not built by this run"
echo "- Server settings from the environment: $settings"
echo "- CPU: ${cpu_model:-unknown}; nproc: $(nproc); memory: $mem"
echo "- Load average (/proc/loadavg; 1, 5, 15 min): before measuring $LOAD_BEFORE, after $LOAD_AFTER"
echo "- $(podman --version), runtime $(podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Version}}' 2>/dev/null | head -1), storage $(podman info --format '{{.Store.GraphDriverName}}' 2>/dev/null); base image $ORRERY_PODMAN_BASE_IMAGE"
echo "- .NET: $(dotnet --version 2>/dev/null || echo unknown); Python $("$PY" -c 'import platform; print(platform.python_version())'); distributed $("$PY" -c 'import distributed; print(distributed.__version__)')"
