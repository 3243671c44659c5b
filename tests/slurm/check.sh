#!/usr/bin/env bash
# Checks the private test cluster of scripts/slurm.sh itself: jobs run and write their output, --nodelist places
# them, --mem is enforced, exit codes and cancellation show in scontrol/squeue, a killed slurmd is noticed and
# its node comes back on restart, and how long sbatch → RUNNING takes.
# Uses the cluster in $ORRERY_SLURM_DIR when set (it must have been started by scripts/slurm.sh), else starts
# one and stops it at exit. Ends with the line "N passed, N failed". Run as root (the cluster runs as root).
# shellcheck disable=SC2016  # the $SLURMD_NODENAME in --wrap '...' is for the job's shell
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
repo=$(pwd)

own_cluster=0
if [ -z "${ORRERY_SLURM_DIR:-}" ]; then
    env_lines=$(scripts/slurm.sh start) || { echo "0 passed, 1 failed"; exit 1; }
    eval "$env_lines"
    own_cluster=1
fi
export SLURM_CONF=$ORRERY_SLURM_DIR/slurm.conf
work=$(mktemp -d /tmp/orrery-slurm-check-XXXXXX)
cleanup() {
    cd "$repo" || true
    rm -rf "$work"
    if [ "$own_cluster" = 1 ]; then scripts/slurm.sh stop; fi
}
trap cleanup EXIT
cd "$work" || exit 1

passed=0 failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

field() { scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# Waits up to $3 seconds until job $1's JobState matches the regex $2; prints the state it ended in.
wait_state() {
    local state deadline=$((SECONDS + $3))
    while :; do
        state=$(field "$1" JobState)
        [[ $state =~ ^($2)$ ]] && break
        [ $SECONDS -ge "$deadline" ] && break
        sleep 0.2
    done
    echo "$state"
}

node_state() { sinfo -h -n "$1" -o %t; }

submit() { sbatch --parsable "$@"; }

# 1. a job runs and its output file appears.
id=$(submit --wrap 'hostname; echo hi')
state=$(wait_state "$id" COMPLETED 30)
if [ "$state" = COMPLETED ] && [ "$(field "$id" ExitCode)" = 0:0 ] && grep -qx hi "slurm-$id.out"; then
    ok "sbatch --wrap 'hostname; echo hi' → COMPLETED 0:0, output: $(tr '\n' ' ' <"slurm-$id.out")"
else
    fail "simple job: state $state, exit $(field "$id" ExitCode), output: $(cat "slurm-$id.out" 2>&1)"
fi
# squeue shows a finished job only with --states=all (scontrol keeps it for MinJobAge).
sq=$(squeue -t all -j "$id" -h -o %T)
if [ "$sq" = COMPLETED ]; then
    ok "squeue -t all -j $id -h -o %T → $sq"
else
    fail "squeue of a finished job: '$sq'"
fi

# 2. --nodelist places jobs on n1, n2, n3.
ids=()
for node in n1 n2 n3; do ids+=("$(submit --nodelist="$node" --wrap 'echo $SLURMD_NODENAME')"); done
placed=""
for i in 0 1 2; do
    wait_state "${ids[$i]}" COMPLETED 30 >/dev/null
    placed+="$(cat "slurm-${ids[$i]}.out" 2>/dev/null) "
done
if [ "$placed" = "n1 n2 n3 " ]; then
    ok "--nodelist n1/n2/n3 ran on: $placed"
else
    fail "--nodelist ran on: '$placed'"
fi

# 3. --mem=100M and a process that allocates 500 MB.
cat >hog.py <<'EOF'
import time
chunks = []
for _ in range(50):
    chunks.append(bytearray(10 * 1024 * 1024))  # zero-filled, so really resident
    time.sleep(0.05)
print("survived 500 MB")
EOF
id=$(submit --mem=100M --wrap "/usr/bin/python3 $work/hog.py")
state=$(wait_state "$id" 'COMPLETED|FAILED|OUT_OF_MEMORY|CANCELLED' 60)
exit_code=$(field "$id" ExitCode)
if grep -q '^TaskPlugin=task/cgroup' "$SLURM_CONF"; then
    if [ "$state" = OUT_OF_MEMORY ]; then
        ok "--mem=100M, 500 MB allocated → $state ExitCode=$exit_code (cgroup)"
    else
        fail "--mem=100M with cgroups: state $state exit $exit_code, output: $(cat "slurm-$id.out")"
    fi
else
    # Without cgroups OverMemoryKill cancels the step: FAILED, killed by signal 9, and a note in the output.
    if [ "$state" = FAILED ] && [ "$exit_code" = 0:9 ] && grep -q 'exceeded memory limit' "slurm-$id.out"; then
        ok "--mem=100M, 500 MB allocated → $state ExitCode=$exit_code + 'exceeded memory limit' (polling)"
    else
        fail "--mem=100M with polling: state $state exit $exit_code, output: $(cat "slurm-$id.out")"
    fi
fi

# 4. a job exiting 3.
id=$(submit --wrap 'exit 3')
state=$(wait_state "$id" 'COMPLETED|FAILED' 30)
if [ "$state" = FAILED ] && [ "$(field "$id" ExitCode)" = 3:0 ]; then
    ok "exit 3 → FAILED ExitCode=3:0"
else
    fail "exit 3: state $state exit $(field "$id" ExitCode)"
fi

# 5. scancel.
id=$(submit --wrap 'sleep 300')
wait_state "$id" RUNNING 30 >/dev/null
scancel "$id"
state=$(wait_state "$id" CANCELLED 30)
if [ "$state" = CANCELLED ]; then
    ok "scancel of a running job → CANCELLED"
else
    fail "scancel: state $state"
fi

# 6. sbatch → RUNNING latency.
times=()
for _ in 1 2 3 4 5; do
    t0=$(date +%s%N)
    id=$(submit --wrap 'sleep 2')
    until [ "$(squeue -j "$id" -h -o %T)" = RUNNING ]; do
        [ $(($(date +%s%N) - t0)) -gt 30000000000 ] && break
        sleep 0.05
    done
    times+=("$((($(date +%s%N) - t0) / 1000000))")
done
worst=$(printf '%s\n' "${times[@]}" | sort -n | tail -n 1)
if [ "$worst" -lt 5000 ]; then
    ok "sbatch → RUNNING in ${times[*]} ms"
else
    fail "sbatch → RUNNING took ${times[*]} ms"
fi
scancel --partition=debug 2>/dev/null

# 7. a killed slurmd: its node goes DOWN within ~30 s and new jobs run elsewhere.
pid=$(cat "$ORRERY_SLURM_DIR/slurmd-n3.pid")
t0=$SECONDS
kill "$pid"
until [[ $(node_state n3) =~ ^(down|fail|drain) ]] || [ $((SECONDS - t0)) -gt 45 ]; do sleep 0.5; done
down_after=$((SECONDS - t0))
state=$(node_state n3)
if [[ $state =~ ^down ]] && [ "$down_after" -le 30 ]; then
    ok "killed slurmd n3 → $state after ${down_after}s"
else
    fail "killed slurmd n3: '$state' after ${down_after}s"
fi
ids=()
for _ in 1 2 3 4; do ids+=("$(submit --wrap 'echo $SLURMD_NODENAME')"); done
placed=""
for id in "${ids[@]}"; do wait_state "$id" COMPLETED 30 >/dev/null; placed+="$(cat "slurm-$id.out" 2>/dev/null) "; done
if [[ $placed =~ ^((n1|n2)\ ){4}$ ]]; then
    ok "with n3 down, 4 jobs ran on: $placed"
else
    fail "with n3 down, jobs ran on: '$placed'"
fi

# 8. restarting the slurmd brings the node back.
t0=$SECONDS
slurmd -f "$SLURM_CONF" -N n3
until [ "$(node_state n3)" = idle ] || [ $((SECONDS - t0)) -gt 30 ]; do sleep 0.5; done
state=$(node_state n3)
id=$(submit --nodelist=n3 --wrap 'echo $SLURMD_NODENAME')
wait_state "$id" COMPLETED 30 >/dev/null
if [ "$state" = idle ] && [ "$(cat "slurm-$id.out" 2>/dev/null)" = n3 ]; then
    ok "restarted slurmd n3 → idle after $((SECONDS - t0))s, runs jobs again"
else
    fail "restarted slurmd n3: '$state', job output '$(cat "slurm-$id.out" 2>/dev/null)'"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
