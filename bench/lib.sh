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

bench_random_token() { python3 -c 'import secrets; print(secrets.token_hex(24))'; }   # 48 hex characters
