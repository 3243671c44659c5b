# Shared by the benchmark scripts: logging, the Release build of the server, a free port and a random token.
# shellcheck shell=bash

bench_log() { echo "[bench] $*" >&2; }

# Builds the server in Release unless $1 is 1 (skip); prints the path of the built program. Build output goes to $2.
bench_build_server() {
    local skip=$1 build_log=$2
    if [[ "$skip" != 1 ]]; then
        bench_log "building src/Orrery.Server (Release)"
        dotnet build -c Release src/Orrery.Server -nologo -v quiet >"$build_log" 2>&1 || { cat "$build_log" >&2; return 1; }
    fi
    local dll=src/Orrery.Server/bin/Release/net10.0/Orrery.Server.dll
    [[ -f "$dll" ]] || { echo "error: $dll missing" >&2; return 1; }
    echo "$dll"
}

bench_free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# Starts the server in the background (sets SERVER_PID, output to LOG) and waits up to 30 s for READY_URL to answer;
# exits the script with the server's output when it dies or does not answer. Extra settings: prefix the call.
bench_start_server() {   # bench_start_server DLL ORIGIN DATA_DIR ADMIN_TOKEN LOG READY_URL
    local dll=$1 origin=$2 data=$3 token=$4 out=$5 ready=$6 i
    bench_log "starting server on $origin (data in $data)"
    ORRERY_DATA_DIR="$data" ORRERY_ADMIN_TOKEN="$token" Logging__LogLevel__Default=Warning \
        dotnet "$dll" --urls "$origin" >"$out" 2>&1 &
    SERVER_PID=$!
    for i in $(seq 300); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "error: server exited during start; its output:" >&2; cat "$out" >&2; exit 1
        fi
        curl -fsS -o /dev/null "$ready" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "error: server did not answer $ready within 30 s" >&2; cat "$out" >&2; exit 1
}

# bench_on_exit FUNCTION: FUNCTION (the script's clean-up, which reads the exit status from $? and exits with it) runs
# at every exit; INT and TERM become exits 130 and 143 so it runs for them too.
bench_on_exit() {
    trap "$1" EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# bench_keep_raw FILE...: copies a run's raw files to $BENCH_RAW_DIR when it is set (globs that match nothing are skipped).
bench_keep_raw() {
    [[ -n "${BENCH_RAW_DIR:-}" ]] || return 0
    mkdir -p "$BENCH_RAW_DIR" && cp "$@" "$BENCH_RAW_DIR"/ 2>/dev/null || true
}

bench_random_token() { python3 -c 'import secrets; print(secrets.token_hex(24))'; }   # 48 hex characters

# bench_stop_pid PID GRACE_TENTHS: TERM, wait up to the grace, then KILL.
bench_stop_pid() {
    kill -0 "$1" 2>/dev/null || return 0
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq "$2"); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# Processes that belong to a run in DIR: their command line names it (dask schedulers and workers, wrapper shells,
# Slurm daemons) or they run inside it (job processes). Orrery's processes outlive the server by design (they
# re-attach after a restart), so a benchmark sweeps them at the end.
bench_leftovers() {
    local work=$1 dir cmd cwd
    for dir in /proc/[0-9]*; do
        [[ ${dir#/proc/} == "$$" ]] && continue
        cmd=$(tr '\0' ' ' 2>/dev/null <"$dir/cmdline") || continue
        cwd=$(readlink "$dir/cwd" 2>/dev/null) || cwd=
        [[ $cmd == *"$work/"* || $cwd == "$work/"* ]] && echo "${dir#/proc/}"
    done
    return 0
}

# bench_stop_leftovers DIR: TERM what is left of the run, then KILL what survives a few seconds.
bench_stop_leftovers() {
    local pids
    pids=$(bench_leftovers "$1")
    [[ -n "$pids" ]] || return 0
    bench_log "stopping leftover processes: $(echo $pids)"
    kill -TERM $pids 2>/dev/null || true
    sleep 3
    pids=$(bench_leftovers "$1")
    [[ -n "$pids" ]] && kill -KILL $pids 2>/dev/null || true
}
