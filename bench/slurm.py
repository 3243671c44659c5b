#!/usr/bin/python3
"""Benchmark of dask workers on the Slurm backend against the local backend, and of bare Slurm, in one run.

Not a test: it prints figures (Markdown tables). Run it through bench/slurm.sh, which builds Orrery, starts a private
Slurm cluster and two servers (workers on Slurm, workers local); run directly it needs all that already up:

    SLURM_CONF=... BENCH_ADMIN_TOKEN=... /usr/bin/python3 bench/slurm.py \
        --local-url URL --local-data DIR --slurm-url URL --slurm-data DIR --work-dir DIR

Each repetition runs three rounds, their order rotating between repetitions:
- local / Slurm (the same thing on each server): create a cluster (worker_memory from --worker-memory) until RUNNING;
  scale(1) until the worker is registered with the scheduler (client.scheduler_info() through the SNI proxy every
  20 ms); scale(0) until it has gone; scale(N) until N are registered; then the cluster is deleted.
- bare Slurm: one `sbatch --wrap` job with a worker's resources and Orrery's options until its script runs; the same
  with --export=ALL (from a near-empty environment) instead of --export=NONE; then N at once until all run.
Where the time goes comes from /proc (worker process start times), the mtime of the batch script Orrery writes just
before it runs sbatch, the Slurm daemons' logs (ms timestamps: submit RPC, allocation, login-environment load with
SlurmdDebug=verbose, "Launching batch job"), and `scontrol -o show job` (SubmitTime, StartTime, NodeList).

Needs Debian's python (distributed 2022.12.1) and SLURM_CONF; every cluster and job it starts is stopped on exit, error
or SIGTERM.
"""
import argparse
import collections
import glob
import json
import math
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

from benchlib import log, stop_clusters  # noqa: E402  (bench/benchlib.py)

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests" / "clients"))
sys.path.insert(0, str(BENCH))

try:
    from distributed import Client
except ImportError:
    sys.exit("error: distributed is not importable: run this with /usr/bin/python3 (Debian's), not a pyenv python")

from gateway import rotated, wait_workers  # noqa: E402  (bench/gateway.py's helpers)
from orrery_gateway import Gateway, SniSecurity, scheduler_address  # noqa: E402

BARE_PREFIX = "bench-bare-"
WORKER_PREFIX = "orrery-worker-"


# ---- Slurm ------------------------------------------------------------------------------------------------------

def run(argv, timeout=30, env=None):
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {done.returncode}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def queue():
    """The jobs Slurm still has (pending, running, completing): [(id, name, state, nodes)]."""
    out = run(["squeue", "-h", "-o", "%i|%j|%T|%N"])
    return [tuple(line.split("|", 3)) for line in out.splitlines() if line.count("|") == 3]


def show_job(job_id):
    """The fields of `scontrol -o show job ID` (finished jobs stay for MinJobAge)."""
    line = run(["scontrol", "-o", "show", "job", str(job_id)]).splitlines()[0]
    return dict(pair.split("=", 1) for pair in line.split(" ") if "=" in pair)


def slurm_time(value):
    """SubmitTime/StartTime (local time, whole seconds) as a Unix time."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S").timestamp()


def queued_seconds(fields):
    """StartTime - SubmitTime of one job, in whole seconds (Slurm's own resolution)."""
    try:
        return slurm_time(fields["StartTime"]) - slurm_time(fields["SubmitTime"])
    except (KeyError, ValueError):
        return float("nan")


def spread(nodes):
    """"n1 2, n2 2, n3 2" from a list of node names (one per job)."""
    counts = collections.Counter(nodes)
    return ", ".join(f"{node} {counts[node]}" for node in sorted(counts))


class SlurmLogs:
    """Millisecond timestamps of a job's path through Slurm, from the daemons' logs (SlurmctldDebug/SlurmdDebug=info):
    submit RPC handled, resources allocated (by the main scheduler, or by the backfill pass), batch launch received by
    slurmd. Names from SLURM_CONF."""

    SUBMIT = re.compile(r"_slurm_rpc_submit_batch_job: JobId=(\d+)")
    MAIN = re.compile(r"sched: Allocate JobId=(\d+)")
    BACKFILL = re.compile(r"sched/backfill: _start_job: Started JobId=(\d+)")
    LAUNCH = re.compile(r"Launching batch job (\d+)")
    # SlurmdDebug=verbose: slurmd starts loading the login environment (jobs with SLURM_GET_USER_ENV=1, which
    # --export=NONE sets), right as the launch RPC arrives. The line has no job id: it is paired with the next
    # "Launching" line of the same slurmd, in order (exact for one job per node at a time, approximate when two jobs
    # land on a node at once).
    USER_ENV = re.compile(r"_get_user_env: get env for user")

    def __init__(self, conf):
        settings = dict(line.strip().split("=", 1) for line in Path(conf).read_text().splitlines()
                        if "=" in line and not line.lstrip().startswith("#"))
        self.ctld = Path(settings["SlurmctldLogFile"])
        self.slurmd = sorted(Path(p) for p in glob.glob(settings["SlurmdLogFile"].replace("%n", "*")))

    @staticmethod
    def _lines(path):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return
        for line in text.splitlines():
            if line.startswith("[") and "] " in line:
                stamp, message = line[1:].split("] ", 1)
                try:
                    yield datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f").timestamp(), message
                except ValueError:
                    continue

    def events(self, job_ids):
        """{job id: {"submit": t, "alloc": t, "by": "main"|"backfill", "launch": t}} (first occurrence of each)."""
        wanted = set(job_ids)
        found = {job: {} for job in wanted}
        for t, message in self._lines(self.ctld):
            for key, pattern in (("submit", self.SUBMIT), ("main", self.MAIN), ("backfill", self.BACKFILL)):
                match = pattern.search(message)
                if match and match.group(1) in wanted:
                    event = found[match.group(1)]
                    if key == "submit":
                        event.setdefault("submit", t)
                    elif "alloc" not in event:
                        event["alloc"], event["by"] = t, key
        for path in self.slurmd:
            loading = []   # starts of login-environment loads not yet matched with a "Launching" line, oldest first
            for t, message in self._lines(path):
                if self.USER_ENV.search(message):
                    loading.append(t)
                    continue
                match = self.LAUNCH.search(message)
                if match:
                    env_started = loading.pop(0) if loading else None
                    if match.group(1) in wanted:
                        found[match.group(1)].setdefault("launch", t)
                        if env_started is not None:
                            found[match.group(1)].setdefault("env", env_started)
        return found

    def wait_events(self, job_ids, timeout=5):
        """events(), waiting a little for lines not written yet (the daemons log asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.events(job_ids)
            if all({"submit", "alloc", "launch"} <= set(e) for e in found.values()) or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


def record_chain(results, key, requested, event, running):
    """One job's path: requested (sbatch called, or Orrery's batch script written) -> submit RPC logged -> allocated ->
    slurmd has the launch RPC (and starts loading the login environment, when the job asks for it) -> slurmd logs
    "Launching batch job" -> running (its script's first line, or the worker process)."""
    def step(name, a, b):
        results[f"{key}_{name}"].append(b - a if a is not None and b is not None else float("nan"))

    step("to_submit", requested, event.get("submit"))
    step("to_alloc", event.get("submit"), event.get("alloc"))
    step("to_rpc", event.get("alloc"), event.get("env", event.get("launch")))
    step("to_env", event.get("env"), event.get("launch"))
    step("to_launch", event.get("alloc"), event.get("launch"))
    step("to_run", event.get("launch"), running)
    results[f"{key}_by"].append(event.get("by", "?"))


def worker_processes(work_dir, pids=None):
    """{worker name: start time} of the `dask worker` processes of a cluster (their command lines name its work dir);
    their pids go into `pids` (name -> pid) when given."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "worker" not in argv or "--name" not in argv or not any(str(work_dir) + "/" in a for a in argv) or argv[0] == "/bin/sh":
            continue
        name = argv[argv.index("--name") + 1]
        starts = started_pid(pid)
        if starts is not None:
            found[name] = starts
            if pids is not None:
                pids[name] = pid
    return found


def foreign_environment(pid):
    """Names of the variables in a worker's environment that Orrery's launch did not set (nor Slurm's SLURM_*)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            names = {entry.split(b"=", 1)[0].decode(errors="replace") for entry in f.read().split(b"\0") if b"=" in entry}
    except OSError:
        return None
    ours = {"PATH", "LANG", "HOME", "DASK_TEMPORARY_DIRECTORY", "PWD", "SHLVL", "_", "OLDPWD"}
    return sorted(n for n in names if n not in ours and not n.startswith(("DASK_", "SLURM")))


def started_pid(pid):
    """Wall-clock start time of a process, from /proc (clock-tick resolution)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None
    boot_wall = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
    return boot_wall + ticks / os.sysconf("SC_CLK_TCK")


def wait_until(condition, what, timeout=120, every=0.1):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout} s")
        time.sleep(every)


def wait_queue_empty(prefix, timeout=60):
    wait_until(lambda: not [job for job in queue() if job[1].startswith(prefix)], f"Slurm still has {prefix}* jobs", timeout, 0.2)


class BareSlurm:
    """sbatch by hand, with the resources and options of Orrery's worker jobs; the script notes when it starts."""

    def __init__(self, work_dir, args, logs):
        self.logs = logs
        self.dir = Path(work_dir) / "bare"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.mem_mib = max(1, math.ceil(args.worker_memory * 1024))
        self.partition = args.partition
        self.submitted = []

    def submit(self, tag, export="NONE"):
        """sbatch as Orrery runs it (--export=NONE), or with --export=ALL from a near-empty environment: the same job
        environment, without the login-environment load NONE makes slurmd do (`su - <user>` before the launch)."""
        started = self.dir / f"started-{tag}"
        env = None if export == "NONE" else {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SLURM_CONF": os.environ["SLURM_CONF"]}
        sbatch = ["sbatch", "--parsable", f"--export={export}", "--no-requeue", f"--job-name={BARE_PREFIX}{tag}",
                  f"--partition={self.partition}", "--cpus-per-task=1", f"--mem={self.mem_mib}M",
                  f"--output={self.dir}/out-{tag}.log", f"--chdir={self.dir}",
                  f"--wrap=/bin/date +%s.%N > {started}.tmp && /bin/mv {started}.tmp {started}; exec /bin/sleep 600"]
        before = time.time()
        job_id = run(sbatch, env=env).strip().split(";")[0]
        after = time.time()
        self.submitted.append(job_id)
        return job_id, started, before, after

    def round(self, count, key, results, rep, measure, export="NONE"):
        """`count` jobs submitted one after the other at once, until every script has started. The path through Slurm
        is recorded for the job whose script started last."""
        jobs = [self.submit(f"{rep}-{key}-{i}", export) for i in range(count)]
        first_sbatch = jobs[0][2]
        wait_until(lambda: all(started.exists() for _, started, _, _ in jobs), f"not all of {count} bare jobs started", every=0.01)
        starts = [float(started.read_text()) for _, started, _, _ in jobs]
        fields = [show_job(job_id) for job_id, _, _, _ in jobs]
        last = max(range(count), key=lambda i: starts[i])
        job_id, _, before, after = jobs[last]
        event = self.logs.wait_events([job_id])[job_id]
        self.cancel([job_id for job_id, _, _, _ in jobs])
        if not measure:
            return
        results[key].append(starts[last] - first_sbatch)
        results[f"{key}_request"].append(before - first_sbatch)
        record_chain(results, key, before, event, starts[last])
        results[f"{key}_sbatch_ms"].append(1000 * max(after - before for _, _, before, after in jobs))
        results[f"{key}_queued"].append(max(queued_seconds(f) for f in fields))
        results[f"{key}_spread"].append(spread(f.get("NodeList", "?") for f in fields))

    def cancel(self, ids=None):
        ids = ids if ids is not None else self.submitted
        if ids:
            subprocess.run(["scancel", *ids], capture_output=True, timeout=30)
        wait_queue_empty(BARE_PREFIX)


# ---- Orrery -----------------------------------------------------------------------------------------------------

class Server:
    """One Orrery server: a user of its own, its gateway, and every cluster created on it (to delete them all at the end)."""

    def __init__(self, label, url, data_dir, admin_token, slurm, logs):
        self.label, self.url, self.data_dir, self.slurm, self.logs = label, url.rstrip("/"), Path(data_dir), slurm, logs
        user = "bench-slurm-" + secrets.token_hex(4)
        self._hub(admin_token, "POST", f"/users/{user}", {})
        token = self._hub(admin_token, "POST", f"/users/{user}/tokens", {"note": "bench/slurm.py"})["token"]
        self.gateway = Gateway(self.url + "/services/dask-gateway", token, user)
        self.clusters = []

    def _hub(self, admin_token, method, path, body):
        request = urllib.request.Request(self.url + "/hub/api" + path, data=json.dumps(body).encode(), method=method)
        request.add_header("Authorization", f"token {admin_token}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def create_running(self, options, timeout=120):
        start = time.perf_counter()
        name = self.gateway.create(**options)
        self.clusters.append(name)
        deadline = time.monotonic() + timeout
        while True:
            report = self.gateway.report(name, wait=True)
            if report["status"] == "RUNNING":
                return name, report, time.perf_counter() - start
            if report["status"] in ("FAILED", "STOPPED") or time.monotonic() > deadline:
                raise RuntimeError(f"{self.label}: cluster {name} is {report['status']}, not RUNNING")

    def connect(self, name, report):
        return Client(scheduler_address(self.gateway.address), security=SniSecurity(report["tls_cert"], report["tls_key"], name),
                      timeout=30)

    def scale(self, name, count):
        answer = self.gateway.scale(name, count)
        if not answer.get("ok"):
            raise RuntimeError(f"{self.label}: scale({count}) answered {answer}")

    def work_dir(self, name):
        return self.data_dir / "clusters" / name

    def batch_script(self, worker):
        """When the worker's batch script was written (Orrery writes it just before it runs sbatch), or None."""
        try:
            return (self.data_dir / "slurm" / f"worker-{worker}" / "job.sh").stat().st_mtime
        except OSError:
            return None

    def stop(self, name):
        self.gateway.stop(name)
        self.gateway.wait_status(name, ("STOPPED", "FAILED"), timeout=90)

    def stop_all(self):
        stop_clusters(self.gateway, self.clusters, self.label)


def scale_and_wait(server, name, client, count, results, key, measure):
    """scale(count) from no workers until `count` are registered; records the time and, for the worker whose process
    started last, where it went."""
    posted, start = time.time(), time.perf_counter()
    server.scale(name, count)
    try:
        registered = wait_workers(client, count)
    except Exception as e:
        status = server.gateway.report(name)["status"]
        jobs = [f"{j[0]} {j[2]}" for j in queue() if j[1].startswith(WORKER_PREFIX)] if server.slurm else []
        raise RuntimeError(f"{server.label}: scale({count}): the workers did not all register ({type(e).__name__}: {e}); "
                           f"cluster {name} is {status}; worker jobs in squeue: {', '.join(jobs) or 'none'}") from e
    seen = time.time()
    if not measure:
        return
    results[key].append(registered - start)
    pids = {}
    processes = worker_processes(server.work_dir(name), pids)
    if not processes:
        log(f"{server.label}: no worker process found in {server.work_dir(name)}")
        return
    last = max(processes, key=processes.get)
    if count == 1 and not results.get(f"{server.label}_environment"):
        results[f"{server.label}_environment"] = [", ".join(foreign_environment(pids[last]) or ["none"])]
    results[f"{key}_process"].append(processes[last] - posted)   # POST -> last worker process started
    results[f"{key}_python"].append(seen - processes[last])      # -> all registered, seen by the client
    if not server.slurm:
        return
    jobs = {job[1][len(WORKER_PREFIX):]: job[0] for job in queue() if job[1].startswith(WORKER_PREFIX)}
    fields = [show_job(job_id) for job_id in jobs.values()]
    results[f"{key}_queued"].append(max((queued_seconds(f) for f in fields), default=float("nan")))
    results[f"{key}_spread"].append(spread(f.get("NodeList", "?") for f in fields))
    results[f"{key}_jobs"].append(len(jobs))
    script = server.batch_script(last)
    if last not in jobs or script is None:
        log(f"{server.label}: worker {last}: job {jobs.get(last)}, batch script written at {script}")
        return
    results[f"{key}_request"].append(script - posted)
    record_chain(results, key, script, server.logs.wait_events([jobs[last]])[jobs[last]], processes[last])


def drain(server, name, client, timeout=120):
    """scale(0) until no worker is registered, no worker process is left and (Slurm) no worker job is left."""
    server.scale(name, 0)
    wait_until(lambda: not client.scheduler_info()["workers"], f"{server.label}: workers still registered", timeout)
    wait_until(lambda: not worker_processes(server.work_dir(name)), f"{server.label}: worker processes left", timeout)
    if server.slurm:
        wait_queue_empty(WORKER_PREFIX, timeout)


def orrery_round(server, args, results, measure):
    name, report, seconds = server.create_running({"worker_memory": args.worker_memory})
    try:
        with server.connect(name, report) as client:
            scale_and_wait(server, name, client, 1, results, f"{server.label}_one", measure)
            drain(server, name, client)
            time.sleep(args.settle)
            scale_and_wait(server, name, client, args.workers, results, f"{server.label}_n", measure)
        if measure:
            results[f"{server.label}_create"].append(seconds)
    finally:
        server.stop(name)
        if server.slurm:
            wait_queue_empty(WORKER_PREFIX, 90)


def bare_round(bare, args, results, rep, measure):
    bare.round(1, "bare_one", results, rep, measure)
    time.sleep(args.settle)
    bare.round(1, "bareall_one", results, rep, measure, export="ALL")
    time.sleep(args.settle)
    bare.round(args.workers, "bare_n", results, rep, measure)


# ---- report -----------------------------------------------------------------------------------------------------

def report(results, args):
    def values(key):
        return [v for v in results.get(key, []) if not (isinstance(v, float) and math.isnan(v))]

    def med(key):
        found = values(key)
        return statistics.median(found) if found else float("nan")

    def runs(key, fmt="{:.2f}"):
        return ", ".join(v if isinstance(v, str) else fmt.format(v) for v in results.get(key, [])) or "–"

    def cell(key):
        return f"{med(key):.2f}" if values(key) else "–"

    n = args.workers
    print()
    print("| Measure | local backend | Slurm backend | Slurm − local | bare Slurm (sbatch → script running) | Per run |")
    print("|---|---:|---:|---:|---:|---|")
    for key, label, bare in (("create", "create → RUNNING (scheduler local in both) (s)", None),
                             ("one", "scale(1) → worker registered (s)", "bare_one"),
                             ("n", f"scale({n}) → {n} workers registered (s)", "bare_n")):
        local, slurm = med(f"local_{key}"), med(f"slurm_{key}")
        per_run = f"local {runs(f'local_{key}')}; Slurm {runs(f'slurm_{key}')}" + (f"; bare {runs(bare)}" if bare else "")
        print(f"| {label} | {local:.2f} | {slurm:.2f} | {slurm - local:+.2f} s | {cell(bare) if bare else '–'} | {per_run} |")

    print()
    print(f"Where the time goes (medians, s). For {n} workers or jobs: the one whose process or script started last. "
          "\"Request\" is the POST (Orrery) or the first sbatch call (bare); Slurm steps from the daemons' logs (ms).")
    print()
    columns = [("local", "one"), ("slurm", "one"), ("bare", "one"), ("bareall", "one"), ("local", "n"), ("slurm", "n"), ("bare", "n")]
    print(f"| Step | local 1 | Slurm 1 | bare 1 | bare 1 `--export=ALL` | local {n} | Slurm {n} | bare {n} |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    steps = [
        ("request → batch script written (Orrery's reconcile and launch, earlier sbatch calls) / this job's sbatch called", "request"),
        ("→ submit RPC logged by slurmctld (sbatch start-up, munge, RPC)", "to_submit"),
        ("→ allocated (main scheduler at submit, or the next backfill pass)", "to_alloc"),
        ("→ launch RPC at slurmd (slurmctld's agent)", "to_rpc"),
        ("→ slurmd logs \"Launching batch job\": `su - <user>` login-environment load (`--export=NONE` sets SLURM_GET_USER_ENV=1)", "to_env"),
        ("→ worker process / script running (slurmstepd, cgroup, batch script)", "to_run"),
        ("POST → worker process started (total)", "process"),
        ("worker process started → registered and seen (Python start-up, TLS, registration, 20 ms poll)", "python"),
    ]
    for label, step in steps:
        cells = [cell(f"{who}_{which}_{step}") for who, which in columns]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("| total | " + " | ".join(cell(f"{who}_{which}") for who, which in columns) + " |")

    def allocated_by(key):
        counts = collections.Counter(results.get(key, []))
        return ", ".join(f"{by} {counts[by]}" for by in sorted(counts)) or "–"

    print()
    print(f"Allocated by (per run, the job above): Slurm 1 {allocated_by('slurm_one_by')}; bare 1 {allocated_by('bare_one_by')}; "
          f"bare 1 `--export=ALL` {allocated_by('bareall_one_by')}; "
          f"Slurm {n} {allocated_by('slurm_n_by')}; bare {n} {allocated_by('bare_n_by')}.")
    print(f"Jobs per node with {n}: Orrery's workers {'; '.join(results.get('slurm_n_spread', [])) or '–'} "
          f"(worker jobs in squeue: {runs('slurm_n_jobs', '{:d}')}); bare {'; '.join(results.get('bare_n_spread', [])) or '–'}.")
    print(f"Per run, total: bare 1 `--export=ALL` {runs('bareall_one')}; the login-environment load: "
          f"Slurm 1 {runs('slurm_one_to_env')}; bare 1 {runs('bare_one_to_env')}; Slurm {n} {runs('slurm_n_to_env')}; bare {n} {runs('bare_n_to_env')}; "
          f"allocated → running: Slurm 1 {runs('slurm_one_to_launch')} + {runs('slurm_one_to_run')}; "
          f"bare 1 `--export=ALL` {runs('bareall_one_to_launch')} + {runs('bareall_one_to_run')}.")
    print(f"A worker's environment beyond what Orrery's launch sets (and DASK_*, SLURM*): local: "
          f"{runs('local_environment')}; Slurm: {runs('slurm_environment')}.")
    print(f"scontrol StartTime − SubmitTime (whole seconds, longest of the round's jobs): Slurm 1 {runs('slurm_one_queued', '{:.0f}')}; "
          f"bare 1 {runs('bare_one_queued', '{:.0f}')}; Slurm {n} {runs('slurm_n_queued', '{:.0f}')}; bare {n} {runs('bare_n_queued', '{:.0f}')}. "
          f"sbatch command (slowest of the round, ms): 1 job {runs('bare_one_sbatch_ms', '{:.0f}')}; {n} jobs {runs('bare_n_sbatch_ms', '{:.0f}')}.")
    print()
    print(f"Medians of {args.reps} repetitions (plus {args.warmup} uncounted warm-up), the local, Slurm and bare rounds "
          f"interleaved with the order rotating; worker_memory {args.worker_memory} GiB (bare jobs: `--mem="
          f"{max(1, math.ceil(args.worker_memory * 1024))}M`), 1 core per worker.")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--local-url", required=True)
    parser.add_argument("--local-data", required=True, help="the local server's ORRERY_DATA_DIR")
    parser.add_argument("--slurm-url", required=True)
    parser.add_argument("--slurm-data", required=True, help="the Slurm server's ORRERY_DATA_DIR")
    parser.add_argument("--work-dir", required=True, help="where the bare Slurm jobs' files go (seen by the nodes)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="uncounted rounds first")
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--worker-memory", type=float, default=0.5, help="GiB per worker (cluster option worker_memory)")
    parser.add_argument("--partition", default="debug")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds of rest between measurements")
    args = parser.parse_args()
    admin_token = os.environ.get("BENCH_ADMIN_TOKEN") or sys.exit("error: BENCH_ADMIN_TOKEN is not set")
    os.environ.get("SLURM_CONF") or sys.exit("error: SLURM_CONF is not set")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # unwind through the finally blocks, as Ctrl-C does
    servers, bare = [], None
    try:
        logs = SlurmLogs(os.environ["SLURM_CONF"])
        servers = [Server("local", args.local_url, args.local_data, admin_token, slurm=False, logs=logs),
                   Server("slurm", args.slurm_url, args.slurm_data, admin_token, slurm=True, logs=logs)]
        bare = BareSlurm(args.work_dir, args, logs)
        results = collections.defaultdict(list)
        rounds = [("local", lambda m, r: orrery_round(servers[0], args, results, m)),
                  ("Slurm", lambda m, r: orrery_round(servers[1], args, results, m)),
                  ("bare Slurm", lambda m, r: bare_round(bare, args, results, r, m))]
        for rep in range(-args.warmup, args.reps):
            measure = rep >= 0
            for label, round_ in rotated(rounds, rep):
                log(f"{'repetition ' + str(rep + 1) + '/' + str(args.reps) if measure else 'warm-up'}: {label}")
                round_(measure, rep)
                time.sleep(args.settle)
        report(results, args)
    finally:
        for server in servers:
            server.stop_all()
        if bare is not None:
            try:
                bare.cancel()
            except Exception as e:
                log(f"cancelling the bare jobs: {e}")


if __name__ == "__main__":
    main()
