#!/usr/bin/env bash
# Starts or stops a private PostgreSQL server (Debian's postgresql package) for the storage tests:
# its own data directory and port on 127.0.0.1, trust auth, run as the postgres system user.
#   scripts/postgres.sh start DIR   → prints a connection string
#   scripts/postgres.sh stop DIR
set -euo pipefail
action=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
case "$action" in
start)
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    runuser -u postgres -- "$bin/initdb" -D "$dir/data" --auth=trust --username=postgres -E UTF8 >"$dir/initdb.log" 2>&1
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
    echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
    ;;
stop)
    [ -d "$dir/data" ] && runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
esac
