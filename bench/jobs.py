#!/usr/bin/python3
"""Benchmark of Orrery's kbatch-compatible job service against running the same commands directly, in the same run.

Not a test: it prints figures (Markdown tables). Run it through bench/jobs.sh, which builds and starts the server;
run directly it needs a server already up:

    /usr/bin/python3 bench/jobs.py --url http://127.0.0.1:PORT [--server-pid PID]   (admin token in $BENCH_ADMIN_TOKEN)

Cases, each against a baseline measured in the same run, repetitions interleaved with the order rotating:
1. latency: submit `sh -c 'echo started; sleep 2'` the way the CLI's streaming-logs example does (job submit, pod
   list --job-name, pod logs --stream) and time the first streamed line, the pod's phase turning Running (polled
   every 20 ms beside the stream), the stream's end and `job show` saying succeeded; against the same command
   started with subprocess (time to its first output line, and to its exit).
2. throughput: N submissions of `true` from K concurrent clients (one user), then `GET jobs/` once a second until
   all have finished; against N `subprocess.run(["true"])` from K threads.
3. log latency: a job printing `time.time()` every 100 ms for 5 s, streamed (`pod logs --stream`): receive time
   minus the line's timestamp; against the same program with its stdout read through a pipe.

The client is tests/clients/test_kbatch.py's KbatchCli: the kbatch CLI's requests, one connection per call.
"""
import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from benchlib import log, CpuClock  # noqa: E402  (bench/benchlib.py)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "clients"))

from test_kbatch import KbatchCli, KbatchError, job_status, plain  # noqa: E402

PY = sys.executable
SLEEPER = ["sh", "-c", "echo started; sleep 2"]
TICKER_SOURCE = (
    "import time\n"
    "time.sleep(1)\n"  # lets the streaming client attach before the first line
    "for i in range(50):\n"
    "    print(f'{time.time():.6f} {i}', flush=True)\n"
    "    time.sleep(0.1)\n")
TICKER = [PY, "-c", TICKER_SOURCE]


class Hub:
    def __init__(self, url, admin_token):
        self.url = url.rstrip("/")
        self.admin_token = admin_token

    def _call(self, method, path, body):
        request = urllib.request.Request(self.url + "/hub/api" + path, data=json.dumps(body).encode(), method=method)
        request.add_header("Authorization", f"token {self.admin_token}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def new_cli(self, prefix):
        """A fresh user with a token, as a KbatchCli."""
        name = f"{prefix}-{secrets.token_hex(4)}"
        self._call("POST", f"/users/{name}", {})
        token = self._call("POST", f"/users/{name}/tokens", {})["token"]
        return KbatchCli(self.url + "/services/kbatch", token)


def job(name, argv):
    return {"name": name, "image": "bench", "command": argv}


def wait_done(kb, name, timeout=120, interval=0.02):
    """`job show` until succeeded or failed; the perf_counter() when seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = kb.job_show(name)["status"]
        if (status["succeeded"] or 0) + (status["failed"] or 0):
            if status["failed"]:
                raise RuntimeError(f"job {name} failed: {status}")
            return time.perf_counter()
        time.sleep(interval)
    raise RuntimeError(f"job {name} not finished within {timeout} s")


# ---- case 1: submit -> running ----------------------------------------------------------------------------------

def latency_orrery(kb):
    t0 = time.perf_counter()
    wall0 = time.time()
    name = kb.job_submit(job("latency", SLEEPER))
    posted = time.perf_counter() - t0
    pod = kb.pod_names(name).split("\n")[0]  # items[0], no waiting
    running = {}

    def poll_phase():
        while not running:
            phase = kb.pod_list(name)["items"][0]["status"]["phase"]
            if phase != "Pending":
                running["at"] = time.perf_counter() - t0
                running["phase"] = phase
                return
            time.sleep(0.02)

    poller = threading.Thread(target=poll_phase, daemon=True)
    poller.start()
    stream = kb.logs_stream(pod)
    status, _ = next(stream)
    if status != 200:
        raise RuntimeError(f"pod logs --stream answered {status}")
    chunks = [(data, at) for data, at in stream]
    stream_end = time.perf_counter() - t0
    if not chunks or chunks[0][0] != b"started":
        raise RuntimeError(f"unexpected log stream {chunks!r}")
    done = wait_done(kb, name) - t0
    poller.join(30)
    if running.get("phase") not in ("Running", None):
        log(f"note: {name}'s pod was first seen {running['phase']}, never Running")
    return {"post": posted, "first_line": chunks[0][1] - wall0, "running": running.get("at") if running.get("phase") == "Running" else None,
            "stream_end": stream_end, "done": done}


def latency_bare():
    t0 = time.perf_counter()
    process = subprocess.Popen(SLEEPER, stdout=subprocess.PIPE)
    line = process.stdout.readline()
    first = time.perf_counter() - t0
    process.wait()
    end = time.perf_counter() - t0
    if line != b"started\n":
        raise RuntimeError(f"unexpected output {line!r}")
    return {"first_line": first, "exit": end}


# ---- case 2: throughput -----------------------------------------------------------------------------------------

def run_threads(count, target):
    errors = []

    def guarded(i):
        try:
            target(i)
        except BaseException as e:  # noqa: B902 - reported below
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def throughput_orrery(hub, submissions, clients, cpu, timeout):
    kb = hub.new_cli("bench-tp")
    counter = iter(range(submissions))
    lock = threading.Lock()
    post_times = []
    names = []

    def client(_):
        cli = KbatchCli(kb.base, kb.token)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            t = time.perf_counter()
            name = cli.job_submit(job("tp", ["true"]))
            with lock:
                post_times.append(time.perf_counter() - t)
                names.append(name)

    cpu0 = cpu()
    t0 = time.perf_counter()
    run_threads(clients, client)
    accepted = time.perf_counter() - t0
    cpu_accept = cpu() - cpu0
    # Jobs start oldest first, so the last one submitted is about the last to finish: wait for it with `job show`
    # (cheap), then confirm with `job list` (which, at 1,000 jobs, costs the server far more than a show).
    last = names[-1] if names else None
    list_times = []
    deadline = time.monotonic() + timeout
    while True:
        status = kb.job_show(last)["status"]
        if (status["succeeded"] or 0) + (status["failed"] or 0):
            t = time.perf_counter()
            items = kb.job_list()["items"]
            list_times.append(time.perf_counter() - t)
            finished = sum(1 for j in items if (j["status"]["succeeded"] or 0) + (j["status"]["failed"] or 0))
            if finished == submissions:
                all_done = t - t0
                break
            time.sleep(1)  # a few still running: poll the list
        if time.monotonic() > deadline:
            raise RuntimeError(f"not all of {submissions} jobs finished within {timeout} s")
        time.sleep(0.2)
    failed = [j["metadata"]["name"] for j in items if j["status"]["failed"]]
    for j in items:  # what `kbatch job list` renders, for every job
        plain(job_status(j))
    if len(items) != submissions or len(set(names)) != submissions:
        raise RuntimeError(f"{len(items)} jobs listed, {len(set(names))} distinct names, {submissions} submitted")
    return {"accepted_s": accepted, "accept_rate": submissions / accepted, "all_done": all_done,
            "post_p50": statistics.median(post_times), "post_p99": p99(post_times),
            "list_last": list_times[-1], "drain": all_done - accepted, "failed": len(failed),
            "cpu_per_submit_ms": 1000 * cpu_accept / submissions, "cpu_total": cpu() - cpu0}


def throughput_bare(submissions, clients):
    counter = iter(range(submissions))
    lock = threading.Lock()

    def client(_):
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            subprocess.run(["true"], check=True)

    t0 = time.perf_counter()
    run_threads(clients, client)
    took = time.perf_counter() - t0
    return {"all_done": took, "rate": submissions / took}


# ---- case 3: log latency ----------------------------------------------------------------------------------------

def lines_latency(pairs):
    """(line bytes, arrival time.time()) -> receive minus the line's own timestamp, in ms; checks all 50 came in order."""
    stamps = [line.split() for line, _ in pairs]
    if [int(s[1]) for s in stamps] != list(range(50)):
        raise RuntimeError(f"lines missing or out of order: {[p[0] for p in pairs]!r}")
    return [1000 * (at - float(s[0])) for s, (_, at) in zip(stamps, pairs)]


def log_latency_orrery(kb):
    name = kb.job_submit(job("ticker", TICKER))
    pod = kb.pod_names(name).split("\n")[0]
    stream = kb.logs_stream(pod)
    status, _ = next(stream)
    if status != 200:
        raise RuntimeError(f"pod logs --stream answered {status}")
    return lines_latency(list(stream))


def log_latency_bare():
    process = subprocess.Popen(TICKER, stdout=subprocess.PIPE)
    pairs = []
    for line in iter(process.stdout.readline, b""):
        pairs.append((line.rstrip(b"\n"), time.time()))
    process.wait()
    return lines_latency(pairs)


# ---- report -----------------------------------------------------------------------------------------------------

def p99(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def med(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def fmt(value, spec="{:.2f}"):
    return "–" if value is None else spec.format(value)


def per_run(runs, key, spec="{:.2f}"):
    return ", ".join(fmt(r.get(key), spec) for r in runs)


def report_latency(bare, orrery):
    print()
    print(f"**Submit → running** (`{' '.join(SLEEPER[:2])} '{SLEEPER[2]}'`; {len(orrery)} interleaved repetitions, medians; "
          "times from the start of the POST, or of Popen)")
    print()
    print("| Measure | Baseline (subprocess) | Orrery | Orrery − baseline | Per run (baseline; Orrery) |")
    print("|---|---:|---:|---:|---|")
    rows = [
        ("first output line (s)", "first_line", "first_line"),
        ("end seen: exit / stream ended (s)", "exit", "stream_end"),
        ("end seen: exit / `job show` succeeded (s)", "exit", "done"),
    ]
    for label, bkey, okey in rows:
        b, o = med(bare, bkey), med(orrery, okey)
        print(f"| {label} | {fmt(b, '{:.3f}')} | {fmt(o, '{:.3f}')} | {fmt(o - b, '{:+.3f}')} | "
              f"{per_run(bare, bkey, '{:.3f}')}; {per_run(orrery, okey, '{:.3f}')} |")
    print(f"| POST jobs/ answered (s) | – | {fmt(med(orrery, 'post'), '{:.3f}')} | | {per_run(orrery, 'post', '{:.3f}')} |")
    print(f"| pod phase Running seen, polled every 20 ms (s) | – | {fmt(med(orrery, 'running'), '{:.3f}')} | | "
          f"{per_run(orrery, 'running', '{:.3f}')} |")


def report_throughput(bare, orrery, submissions, clients):
    print()
    print(f"**Throughput** ({submissions} jobs `true`, {clients} concurrent clients, one user; "
          f"{len(orrery)} interleaved repetitions, medians)")
    print()
    print("| Measure | Baseline (subprocess.run) | Orrery | Per run (baseline; Orrery) |")
    print("|---|---:|---:|---|")
    print(f"| submissions accepted per s | – | {fmt(med(orrery, 'accept_rate'), '{:.0f}')} | {per_run(orrery, 'accept_rate', '{:.0f}')} |")
    print(f"| POST jobs/ latency p50 / p99 (ms) | – | {fmt(1000 * med(orrery, 'post_p50'), '{:.0f}')} / "
          f"{fmt(1000 * med(orrery, 'post_p99'), '{:.0f}')} | |")
    print(f"| all {submissions} finished (s) | {fmt(med(bare, 'all_done'))} | {fmt(med(orrery, 'all_done'))} | "
          f"{per_run(bare, 'all_done')}; {per_run(orrery, 'all_done')} |")
    print(f"| finished per s | {fmt(med(bare, 'rate'), '{:.0f}')} | "
          f"{fmt(submissions / med(orrery, 'all_done'), '{:.1f}')} | |")
    print(f"| all accepted → all finished (s) | – | {fmt(med(orrery, 'drain'))} | {per_run(orrery, 'drain')} |")
    print(f"| `job list` (`GET jobs/`) answered, {submissions} jobs listed (s) | – | {fmt(med(orrery, 'list_last'))} | "
          f"{per_run(orrery, 'list_last')} |")
    print(f"| server CPU per submission while accepting (ms) | – | {fmt(med(orrery, 'cpu_per_submit_ms'), '{:.1f}')} | |")
    print(f"| server CPU, submit to all finished (s) | – | {fmt(med(orrery, 'cpu_total'), '{:.1f}')} | |")
    failed = sum(r["failed"] for r in orrery)
    if failed:
        print(f"\n{failed} Orrery jobs failed.")


def report_logs(bare, orrery, reps):
    print()
    print(f"**Log latency** (50 lines, one per 100 ms; receive time − the line's timestamp; {reps} interleaved "
          f"repetitions pooled, {len(bare)} and {len(orrery)} lines)")
    print()
    print("| Route | median (ms) | p99 (ms) | max (ms) |")
    print("|---|---:|---:|---:|")
    for label, values in (("baseline: stdout through a pipe", bare), ("Orrery: pod logs --stream", orrery)):
        print(f"| {label} | {statistics.median(values):.2f} | {p99(values):.2f} | {max(values):.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--server-pid", type=int, default=0)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--throughput-reps", type=int, default=1)
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--cases", default="latency,throughput,logs")
    args = parser.parse_args()
    cases = set(args.cases.split(","))
    admin = os.environ.get("BENCH_ADMIN_TOKEN") or sys.exit("error: set BENCH_ADMIN_TOKEN")
    hub = Hub(args.url, admin)
    cpu = CpuClock(args.server_pid)

    if "latency" in cases:
        kb = hub.new_cli("bench-lat")
        log("latency: warm-up")
        latency_bare()
        latency_orrery(kb)
        bare, orrery = [], []
        for rep in range(args.reps):
            for side in (("bare", "orrery") if rep % 2 == 0 else ("orrery", "bare")):
                if side == "bare":
                    bare.append(latency_bare())
                else:
                    orrery.append(latency_orrery(kb))
            log(f"latency {rep + 1}/{args.reps}: bare first line {bare[-1]['first_line']:.3f} s; Orrery first line "
                f"{orrery[-1]['first_line']:.3f} s, running {fmt(orrery[-1]['running'], '{:.3f}')} s, done {orrery[-1]['done']:.3f} s")
        report_latency(bare, orrery)

    if "logs" in cases:
        kb = hub.new_cli("bench-log")
        bare, orrery = [], []
        for rep in range(args.reps):
            for side in (("bare", "orrery") if rep % 2 == 0 else ("orrery", "bare")):
                (bare if side == "bare" else orrery).extend(log_latency_bare() if side == "bare" else log_latency_orrery(kb))
            log(f"logs {rep + 1}/{args.reps}: bare median {statistics.median(bare):.2f} ms; Orrery median {statistics.median(orrery):.2f} ms")
        report_logs(bare, orrery, args.reps)

    if "throughput" in cases:
        bare, orrery = [], []
        timeout = max(600, args.submissions * 2)
        for rep in range(args.throughput_reps):
            for side in (("bare", "orrery") if rep % 2 == 0 else ("orrery", "bare")):
                if side == "bare":
                    bare.append(throughput_bare(args.submissions, args.clients))
                    log(f"throughput {rep + 1}/{args.throughput_reps}: bare {bare[-1]['all_done']:.2f} s")
                else:
                    orrery.append(throughput_orrery(hub, args.submissions, args.clients, cpu, timeout))
                    log(f"throughput {rep + 1}/{args.throughput_reps}: Orrery accepted in {orrery[-1]['accepted_s']:.1f} s, "
                        f"all finished {orrery[-1]['all_done']:.1f} s")
        report_throughput(bare, orrery, args.submissions, args.clients)


if __name__ == "__main__":
    try:
        main()
    except KbatchError as e:
        sys.exit(f"error: {e}")
