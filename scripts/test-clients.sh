#!/usr/bin/env bash
# The client tests: Orrery's dask-gateway service driven by real dask (Debian's python3-distributed) over HTTP and
# the SNI scheduler proxy. Builds the server (Debug, incremental), then runs tests/clients with Debian's python —
# not a python3 earlier on PATH, which may lack distributed. The fixture starts its own server on a free port
# unless ORRERY_URL and ORRERY_ADMIN_TOKEN name a running one. Extra arguments go to pytest (e.g. -k adapt -x).
# Exits with pytest's status; "no tests collected" (5) counts as a failure too.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

orrery_install_apt python3-distributed python3-pytest procps
orrery_install_apt python3-kubernetes   # the kbatch CLI's models: test_kbatch.py checks the bodies it sends against them
if [ -z "${ORRERY_URL:-}" ] && [ "${ORRERY_SKIP_BUILD:-0}" != 1 ]; then
    orrery_require_dotnet
    dotnet build src/Orrery.Server -v quiet -nologo -clp:ErrorsOnly
fi

export PYTHONDONTWRITEBYTECODE=1
status=0
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/clients "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "test-clients: pytest collected no tests" >&2
fi
exit "$status"
