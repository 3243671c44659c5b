#!/usr/bin/env bash
# Starts or stops a private, throwaway Slurm cluster for tests (Debian's slurm-wlm 22.05 and munge): its own
# munged (own key and socket), one slurmctld and three slurmd (nodes n1..n3, partition "debug"), all as root,
# all on 127.0.0.1 with free ports, everything (config, state, spool, logs, pid files) under one directory.
# No systemd, nothing in /etc is touched; --mem is enforced with cgroup v1 when this machine allows it, else by
# polling (ORRERY_SLURM_MEMORY, below). See docs/slurm-testing.md for the slurm.conf choices and the timings.
#   scripts/slurm.sh start [DIR]   → prints "export ..." lines (SLURM_CONF, ORRERY_SLURM_DIR), also in DIR/env
#   scripts/slurm.sh stop [DIR]    → stops the daemons; removes DIR only if start created it
#   scripts/slurm.sh status [DIR]  → sinfo and squeue
#   scripts/slurm.sh env [DIR]     → prints DIR/env again
# DIR defaults to $ORRERY_SLURM_DIR, and for start to a fresh mktemp -d. Use: eval "$(scripts/slurm.sh start)".
# ORRERY_SLURM_TIMEOUT (seconds, default 60) bounds the wait for the nodes to come up idle.
set -euo pipefail
action=${1:-}
dir=${2:-${ORRERY_SLURM_DIR:-}}
nodes=(n1 n2 n3)
timeout=${ORRERY_SLURM_TIMEOUT:-60}

say() { echo "slurm.sh: $*" >&2; }

# Ports that are free on 127.0.0.1 now, all distinct (held open together while they are picked).
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

pid_of() { if [ -s "$1" ]; then cat "$1" 2>/dev/null || true; fi; }

# Sends SIGTERM to the processes in the given pid files at once and waits (up to 15 s, then SIGKILL)
# until they have gone.
stop_pidfiles() {
    local f pid pids=()
    for f in "$@"; do
        pid=$(pid_of "$f")
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
        rm -f "$f"
    done
    for _ in $(seq 150); do
        pid=
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && break; pid=; done
        [ -z "${pid:-}" ] && return 0
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}

kill_tree() {
    local child
    for child in $(pgrep -P "$1" 2>/dev/null || true); do kill_tree "$child"; done
    kill -KILL "$1" 2>/dev/null || true
}

stop_all() {
    local node pid
    # Cancel every job while the daemons are up, so that no job outlives the cluster.
    if [ -e "$dir/slurm.conf" ] && [ -n "$(pid_of "$dir/slurmctld.pid")" ]; then
        export SLURM_CONF=$dir/slurm.conf
        if [ -n "$(squeue -h -o %i 2>/dev/null)" ]; then
            scancel --full --quiet --partition=debug 2>/dev/null || true
            for _ in $(seq 50); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.1; done
        fi
    fi
    # All daemons at once (one after the other takes ~12 s: each spends ~2-5 s shutting down).
    local pidfiles=("$dir/slurmctld.pid" "$dir/munged.pid")
    for node in "${nodes[@]}"; do pidfiles+=("$dir/slurmd-$node.pid"); done
    stop_pidfiles "${pidfiles[@]}"
    # A job step (slurmstepd) left over all the same: ours work in $dir or write to its logs.
    for pid in $(pgrep -x slurmstepd 2>/dev/null || true); do
        if [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$dir" ] ||
            find "/proc/$pid/fd" -maxdepth 1 -lname "$dir/*" 2>/dev/null | grep -q .; then
            kill_tree "$pid"
        fi
    done
}

show_logs() {
    local f
    for f in "$dir"/munged.log "$dir"/slurmctld.log "$dir"/slurmd-*.log; do
        [ -f "$f" ] || continue
        echo "---- $f (last 40 lines)" >&2
        tail -n 40 "$f" >&2
    done
}

write_conf() {
    local host=$1 mode=$2 ctld_port=$3; shift 3
    local ports=("$@") i
    cat >"$dir/slurm.conf" <<EOF
# Private test cluster written by scripts/slurm.sh; see docs/slurm-testing.md.
ClusterName=orrery-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
MpiDefault=none
SwitchType=switch/none
$(memory_conf "$mode")
# Several slurmd on one host: trust the node lines below rather than the hardware.
SlurmdParameters=config_overrides
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.txt
# Finished jobs stay in "scontrol show job" (state, exit code) for an hour.
MinJobAge=3600
# Job ids from 1000 × SlurmctldPort: every cluster on this host names its nodes n1..n3, and task/cgroup puts a
# job in /sys/fs/cgroup/memory/slurm_<node>/uid_<uid>/job_<id>, so two clusters running at once must not hand
# out the same ids (a live slurmctld holds its port, so their first 1000 ids never overlap).
FirstJobId=$((ctld_port * 1000))
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
# Fast failure detection: a dead slurmd is DOWN within ~SlurmdTimeout (+ ping interval); it comes back on restart.
SlurmdTimeout=10
MessageTimeout=5
ReturnToService=2
InactiveLimit=0
KillWait=2
Waittime=0
EOF
    for i in "${!nodes[@]}"; do
        echo "NodeName=${nodes[$i]} NodeHostname=$host NodeAddr=127.0.0.1 Port=${ports[$i]} CPUs=2 RealMemory=2000 State=UNKNOWN" >>"$dir/slurm.conf"
    done
    echo "PartitionName=debug Nodes=n[1-3] Default=YES MaxTime=INFINITE State=UP" >>"$dir/slurm.conf"
}

# How --mem is enforced (ORRERY_SLURM_MEMORY): "cgroup" = task/cgroup with ConstrainRAMSpace on cgroup v1
# (the kernel kills the job, which ends OUT_OF_MEMORY); "poll" = no cgroups, jobacct_gather/linux polls /proc
# every second and OverMemoryKill kills a step over its limit (ends FAILED, ExitCode 0:9); "auto" (default) =
# cgroup when the v1 memory controller is mounted and writable, else poll.
memory_mode() {
    local mode=${ORRERY_SLURM_MEMORY:-auto}
    if [ "$mode" = auto ]; then
        mode=poll
        if mkdir "/sys/fs/cgroup/memory/orrery-probe-$$" 2>/dev/null; then
            rmdir "/sys/fs/cgroup/memory/orrery-probe-$$"
            mode=cgroup
        fi
    fi
    case "$mode" in
    cgroup | poll) echo "$mode" ;;
    *) say "ORRERY_SLURM_MEMORY must be auto, cgroup or poll, not '$mode'"; return 1 ;;
    esac
}

memory_conf() {
    if [ "$1" = cgroup ]; then
        cat <<'END'
# Memory limits by cgroup v1 (see cgroup.conf): an over-limit job is OOM-killed and ends OUT_OF_MEMORY.
ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
END
    else
        cat <<'END'
# No cgroups: processes are tracked through /proc, tasks are not bound; --mem is enforced by polling /proc
# every second and killing a step over its limit (it ends FAILED with ExitCode 0:9, not OUT_OF_MEMORY).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
END
    fi
    cat >"$dir/cgroup.conf" <<'END'
CgroupPlugin=cgroup/v1
CgroupAutomount=no
ConstrainCores=no
ConstrainDevices=no
ConstrainRAMSpace=yes
ConstrainSwapSpace=no
END
}

# True when every node is idle (or busy: allocated/mixed) and responding.
nodes_up() {
    local states
    states=$(SLURM_CONF="$dir/slurm.conf" sinfo -h -N -o '%N %t' 2>/dev/null) || return 1
    [ "$(echo "$states" | awk '$2 ~ /^(idle|alloc|mix)$/' | wc -l)" -eq "${#nodes[@]}" ]
}

start() {
    # shellcheck source=scripts/lib.sh
    source "$(dirname "$0")/lib.sh"
    orrery_install_apt slurmctld slurmd slurm-client munge >&2
    local created=0
    if [ -z "$dir" ]; then
        dir=$(mktemp -d /tmp/orrery-slurm-XXXXXX)
        created=1
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    local f pid
    for f in "$dir"/*.pid; do
        pid=$(pid_of "$f")
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then say "$dir holds a running cluster (stop it first)"; exit 1; fi
    done
    # What an earlier, stopped cluster left in a directory that was given: start afresh.
    rm -rf "$dir/state" "$dir/spool" "$dir"/munge* "$dir"/slurm*.log "$dir"/*.pid "$dir/jobcomp.txt" "$dir/env"
    if [ "$created" = 1 ]; then touch "$dir/.created-by-slurm-sh"; fi
    chmod 755 "$dir"   # munged refuses a socket directory that others can write to
    mkdir -p "$dir/state" "$dir/spool"
    trap abort_start ERR INT TERM

    local host ports
    host=$(hostname -s)
    read -r -a ports <<<"$(free_ports $((${#nodes[@]} + 1)))"
    local mode
    mode=$(memory_mode)
    say "memory limits: $mode"
    write_conf "$host" "$mode" "${ports[@]}"

    dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 status=none
    chmod 600 "$dir/munge.key"
    munged --force --socket="$dir/munge.socket" --key-file="$dir/munge.key" --pid-file="$dir/munged.pid" \
        --log-file="$dir/munged.log" --seed-file="$dir/munged.seed" 2>>"$dir/munged.log"
    for _ in $(seq 50); do [ -S "$dir/munge.socket" ] && break; sleep 0.1; done
    [ -S "$dir/munge.socket" ] || { say "munged did not create its socket"; false; }

    slurmctld -f "$dir/slurm.conf" 2>>"$dir/slurmctld.log"
    local node
    for node in "${nodes[@]}"; do
        mkdir -p "$dir/spool/$node"
        slurmd -f "$dir/slurm.conf" -N "$node" 2>>"$dir/slurmd-$node.log"
    done

    local deadline=$((SECONDS + timeout))
    until nodes_up; do
        if [ $SECONDS -ge $deadline ]; then
            say "the nodes did not come up idle within ${timeout}s:"
            SLURM_CONF="$dir/slurm.conf" sinfo -N -l >&2 2>&1 || true
            false
        fi
        sleep 0.5
    done
    trap - ERR INT TERM

    {
        echo "export ORRERY_SLURM_DIR=$dir"
        echo "export SLURM_CONF=$dir/slurm.conf"
    } >"$dir/env"
    cat "$dir/env"
}

# On a failed or interrupted start: show why, stop what was started, leave nothing behind.
abort_start() {
    trap - ERR INT TERM
    say "start failed"
    show_logs
    stop_all
    if [ -e "$dir/.created-by-slurm-sh" ]; then rm -rf "$dir"; fi
    exit 1
}

need_dir() {
    [ -n "$dir" ] || { say "no cluster directory: pass DIR or set ORRERY_SLURM_DIR"; exit 2; }
}

case "$action" in
start) start ;;
stop)
    need_dir
    [ -d "$dir" ] || exit 0
    stop_all
    if [ -e "$dir/.created-by-slurm-sh" ]; then rm -rf "$dir"; fi
    ;;
status)
    need_dir
    export SLURM_CONF=$dir/slurm.conf
    sinfo -N -l
    squeue
    ;;
env)
    need_dir
    cat "$dir/env"
    ;;
*)
    echo "usage: $0 start|stop|status|env [DIR]" >&2
    exit 2
    ;;
esac
