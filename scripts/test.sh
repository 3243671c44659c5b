#!/usr/bin/env bash
# Installs what is missing and runs the whole test suite: unit tests, functional tests on the real server,
# the storage tests against both SQLite and a private PostgreSQL started here (stopped at exit), and the
# Python client tests (real dask through Orrery's dask-gateway API and SNI proxy). With ORRERY_TEST_SLURM=1
# (.ci/run sets it) also a private Slurm cluster (scripts/slurm.sh: munged, slurmctld, three slurmd on loopback):
# its own checks and the Slurm backend's tests. With ORRERY_TEST_PODMAN=1 (.ci/run sets it) also the Podman backend's
# tests, in the base image of scripts/podman.sh (built from deb.debian.org the first time, about a minute, then reused).
# Exits non-zero when any test fails; the last line reads "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

orrery_require_dotnet
orrery_install_apt "${ORRERY_APT_PACKAGES[@]}"

work=$(mktemp -d /tmp/orrery-test-XXXXXX)
chmod 755 "$work"
cleanup() {
    # Daemons are stopped by their pid files, so before their directory goes.
    [ -n "${ORRERY_SLURM_DIR:-}" ] && scripts/slurm.sh stop "$ORRERY_SLURM_DIR" || true
    scripts/postgres.sh stop "$work/postgres"
    rm -rf "$work"
}
trap cleanup EXIT

if [ "${ORRERY_TEST_POSTGRES:-auto}" = auto ]; then
    ORRERY_TEST_POSTGRES=$(scripts/postgres.sh start "$work/postgres")
    echo "PostgreSQL for the storage tests: $ORRERY_TEST_POSTGRES"
fi
export ORRERY_TEST_POSTGRES

dotnet build Orrery.slnx -v quiet -nologo -clp:ErrorsOnly
status=0
: > "$work/slurm.log"
if [ "${ORRERY_TEST_SLURM:-0}" = 1 ]; then
    # The cluster's own checks kill and restart a node, so they get a cluster of their own first.
    env -u ORRERY_SLURM_DIR -u SLURM_CONF tests/slurm/check.sh 2>&1 | tee "$work/slurm.log" || status=$?
    export ORRERY_SLURM_DIR="$work/slurm"
    eval "$(scripts/slurm.sh start "$ORRERY_SLURM_DIR")"
fi
if [ "${ORRERY_TEST_PODMAN:-0}" = 1 ]; then
    # A failed build counts as a failure; the Podman tests then skip (no image) and the rest still runs.
    scripts/podman.sh base-image || status=$?
    eval "$(scripts/podman.sh env)"
fi
dotnet test Orrery.slnx --no-build -nologo 2>&1 | tee "$work/test.log" || status=$?
ORRERY_SKIP_BUILD=1 scripts/test-clients.sh 2>&1 | tee "$work/clients.log" || status=$?

# One plain summary line over every test assembly and pytest.
awk '/^(Passed!|Failed!)/ { for (i = 1; i <= NF; i++) { if ($i == "Passed:") p += $(i+1); if ($i == "Failed:") f += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     /^[0-9]+ (passed|failed)/ || / passed in | failed in / { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^(skipped|xfailed)/) s += $i } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$work/test.log" "$work/clients.log" "$work/slurm.log"
exit $status
