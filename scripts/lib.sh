# Shared by run.sh and test.sh: install what is missing (Debian packages, .NET packages) and nothing more.
# shellcheck shell=bash

# Debian packages Orrery needs: Dask for clusters (python3-distributed), jupyterhub-singleuser with notebook and
# ipykernel for the default server profile, pytest for the client tests,
# PostgreSQL for the storage tests, wrk for the benchmark, setsid (util-linux) for the local backend, podman with runc
# and catatonit (its --init) for the Podman backend and debootstrap for its base image (scripts/podman.sh), venv, pip,
# setuptools and wheel for host environments (a virtual environment per environment, local libraries built with pip).
ORRERY_APT_PACKAGES=(python3-distributed jupyterhub python3-notebook python3-ipykernel python3-pytest postgresql wrk util-linux procps curl
    podman runc catatonit debootstrap python3-venv python3-pip python3-setuptools python3-wheel)

orrery_install_apt() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "Installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

orrery_require_dotnet() {
    if ! command -v dotnet >/dev/null; then
        echo "The .NET 10 SDK is required (dotnet on PATH)." >&2
        exit 1
    fi
}
