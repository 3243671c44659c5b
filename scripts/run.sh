#!/usr/bin/env bash
# Installs what is missing, builds Orrery and starts it with the embedded default (SQLite + local processes).
# Prints the URL and an admin token; on the very first start the server also prints the admin password.
# Settings: ORRERY_DATA_DIR (default ./.data), ORRERY_URLS (default http://127.0.0.1:8000), see docs/configuration.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

orrery_require_dotnet
orrery_install_apt "${ORRERY_APT_PACKAGES[@]}"
dotnet build -c Release src/Orrery.Server -v quiet -nologo -clp:ErrorsOnly

export ORRERY_DATA_DIR=${ORRERY_DATA_DIR:-$PWD/.data}
mkdir -p "$ORRERY_DATA_DIR" && chmod 700 "$ORRERY_DATA_DIR"
# A stable admin token for this data directory, so scripts can reach the API after every start.
token_file="$ORRERY_DATA_DIR/admin-token"
if [ -z "${ORRERY_ADMIN_TOKEN:-}" ]; then
    [ -s "$token_file" ] || (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$token_file")
    ORRERY_ADMIN_TOKEN=$(cat "$token_file")
fi
export ORRERY_ADMIN_TOKEN
urls=${ORRERY_URLS:-http://127.0.0.1:8000}
# Container environments: the Podman backend, configured by the project's containers.conf (nothing in /etc changes).
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}
export Orrery__Backends__Podman__Enabled=${Orrery__Backends__Podman__Enabled:-true}

echo "Orrery: ${ORRERY_PUBLIC_URL:-$urls}${ORRERY_BASE_URL:-/}hub/login"
echo "Admin user: admin   API token: $ORRERY_ADMIN_TOKEN"
echo "  try: curl -H \"Authorization: token \$(cat $token_file)\" ${urls}${ORRERY_BASE_URL:-/}hub/api/user"
exec dotnet src/Orrery.Server/bin/Release/net10.0/Orrery.Server.dll --urls "$urls"
