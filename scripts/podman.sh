#!/usr/bin/env bash
# The container image the Podman backend's tests (and a first Orrery setup) run in, built from Debian itself: no
# registry is needed, only deb.debian.org. debootstrap makes a minimal bookworm tree, apt adds Python with Dask
# (python3-distributed brings the `dask` command) and pip/venv for environments, and `podman import` turns the
# tree into an image. Every podman call here uses deploy/podman/containers.conf (runc, cgroupfs, file events: root
# without systemd), the file Orrery itself is pointed at with Orrery:Backends:Podman:ConfigFile.
#   scripts/podman.sh base-image [NAME]  → builds NAME unless it exists (default localhost/orrery-base:bookworm)
#   scripts/podman.sh env [NAME]         → prints "export ..." lines (CONTAINERS_CONF, ORRERY_PODMAN_BASE_IMAGE)
# Use: scripts/podman.sh base-image && eval "$(scripts/podman.sh env)".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export CONTAINERS_CONF="$root/deploy/podman/containers.conf"
action=${1:-}
name=${2:-localhost/orrery-base:bookworm}
mirror=${ORRERY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=(python3-distributed python3-pip python3-setuptools python3-wheel python3-venv ca-certificates)

say() { echo "podman.sh: $*" >&2; }

# Seconds since $1 (a `date +%s.%N` value), for the timings.
since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f s", e - s }'; }

base_image() {
    if podman image exists "$name"; then
        say "$name exists; reusing it"
        return 0
    fi
    local start step
    start=$(date +%s.%N)
    # Under /var/tmp, not /tmp: the tree is a few hundred MB and /tmp may be a small tmpfs. (Global: the EXIT trap reads it.)
    tree=$(mktemp -d /var/tmp/orrery-base-XXXXXX)
    chmod 755 "$tree"   # the image's root directory; apt's _apt user also needs to reach the tree's cache
    # The chroot's /proc and /dev are mounted while apt runs; unmount them before the tree goes, whatever happened.
    trap 'umount -l "$tree/proc" "$tree/dev/pts" "$tree/dev" 2>/dev/null || true; rm -rf --one-file-system "$tree"' EXIT

    step=$(date +%s.%N)
    say "debootstrap --variant=minbase bookworm from $mirror"
    debootstrap --variant=minbase bookworm "$tree" "$mirror" >"$tree.debootstrap.log" 2>&1 ||
        { tail -n 30 "$tree.debootstrap.log" >&2; rm -f "$tree.debootstrap.log"; return 1; }
    rm -f "$tree.debootstrap.log"
    say "debootstrap: $(since "$step")"

    step=$(date +%s.%N)
    say "apt-get install ${packages[*]}"
    mount -t proc proc "$tree/proc"
    mount --bind /dev "$tree/dev"
    mount --bind /dev/pts "$tree/dev/pts"
    # policy-rc.d: no package may try to start a service inside the chroot.
    printf '#!/bin/sh\nexit 101\n' >"$tree/usr/sbin/policy-rc.d"
    chmod 755 "$tree/usr/sbin/policy-rc.d"
    chroot "$tree" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes LANG=C.UTF-8 \
        sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${packages[*]} >/dev/null && apt-get clean"
    rm -rf "$tree"/var/lib/apt/lists/* "$tree/usr/sbin/policy-rc.d"
    umount -l "$tree/proc" "$tree/dev/pts" "$tree/dev"
    say "apt-get install: $(since "$step")"

    step=$(date +%s.%N)
    tar -C "$tree" -c . | podman import --quiet \
        --change 'CMD ["/bin/bash"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        - "$name" >/dev/null
    say "podman import: $(since "$step")"
    rm -rf --one-file-system "$tree"
    trap - EXIT
    say "built $name in $(since "$start")"
}

case "$action" in
base-image) base_image ;;
env)
    echo "export CONTAINERS_CONF=$CONTAINERS_CONF"
    echo "export ORRERY_PODMAN_BASE_IMAGE=$name"
    ;;
*)
    echo "usage: $0 base-image [NAME] | env [NAME]" >&2
    exit 2
    ;;
esac
