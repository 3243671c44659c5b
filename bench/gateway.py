#!/usr/bin/python3
"""Benchmark of Orrery's dask-gateway service against bare dask doing the same thing in the same run.

Not a test: it prints figures (a Markdown table) and judges them only against the goals of issue 3. Run it
through bench/gateway.sh, which builds and starts the server; run directly it needs a server already up:

    /usr/bin/python3 bench/gateway.py --url http://127.0.0.1:PORT --data-dir DIR --work-dir DIR
    (admin token in $BENCH_ADMIN_TOKEN; DIR is the server's ORRERY_DATA_DIR, which must be readable)

Cases, each against a baseline measured in the same run, repetitions interleaved:
1. create -> RUNNING: POST /api/v1/clusters/ then GET ?wait until RUNNING, against a fresh openssl certificate
   plus `dask scheduler` with Orrery's flags and environment until its --scheduler-file appears.
2. scale(N) -> N workers registered: POST .../scale then poll scheduler_info() through the SNI proxy, against N bare
   `dask worker --no-nanny` started on a bare TLS scheduler, polled the same way over direct TLS.
3. Through the SNI proxy against direct TLS to the same scheduler: a large `echo` round trip (client -> scheduler ->
   client), scatter + gather via a worker, and the round-trip time of a tiny `echo`. The same through a minimal
   splice(2) relay (this script in relay mode) shows what any extra hop costs on the machine.

Needs Debian's python (distributed 2022.12.1); every process it starts is stopped on exit, error or SIGTERM.
"""
import argparse
import asyncio
import collections
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
from pathlib import Path

from benchlib import log, CpuClock, stop_clusters  # noqa: E402  (bench/benchlib.py)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "clients"))

try:
    from distributed import Client
    from distributed.comm import connect
    from distributed.protocol import to_serialize
    from distributed.security import Security
except ImportError:
    sys.exit("error: distributed is not importable: run this with /usr/bin/python3 (Debian's), not a pyenv python")

from orrery_gateway import Gateway, SniSecurity, scheduler_address  # noqa: E402

GIB = 1024**3
MIB = 1024**2


def http_routes():
    """The scheduler's HTTP routes exactly as Orrery passes them (read from DaskLaunchSpecs.cs, so they cannot drift)."""
    source = (REPO / "src/Orrery.Gateway/Clusters/DaskLaunchSpecs.cs").read_text()
    match = re.search(r"HttpRoutes\s*=(.*?);", source, re.S)
    if not match:
        sys.exit("error: HttpRoutes not found in DaskLaunchSpecs.cs; update bench/gateway.py")
    return "".join(re.findall(r'"([^"]*)"', match.group(1)))


# ---- processes of the bare baseline ---------------------------------------------------------------------------

class Processes:
    """Every process this script starts, each in its own session, so a whole group can be stopped."""

    def __init__(self):
        self.live = []

    def start(self, argv, env, log_path):
        with open(log_path, "ab") as out:
            process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True, cwd=os.path.dirname(log_path))
        self.live.append(process)
        return process

    def stop(self, processes, grace=10):
        for p in processes:
            self._signal(p, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for p in processes:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(p, signal.SIGKILL)
                p.wait(10)
            if p in self.live:
                self.live.remove(p)

    def stop_all(self):
        self.stop(list(self.live), grace=5)

    @staticmethod
    def _signal(process, sig):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


class BareCluster:
    """A scheduler (and workers) started by hand with the command lines and environment of DaskLaunchSpecs.cs."""

    def __init__(self, root, dask, routes, processes, tag):
        self.dir = Path(root) / tag
        self.dask, self.routes, self.processes = dask, routes, processes
        self.scheduler = None
        self.workers = []
        self.cert = self.dir / ".certs" / "dask.crt"
        self.key = self.dir / ".certs" / "dask.pem"
        self.scheduler_file = self.dir / "scheduler.json"
        self.address = None

    def make_certificate(self):
        """The same profile as Orrery's (RSA 2048, SHA-256, CN=dask-internal, SAN), as in protocol spec §7.3."""
        self.cert.parent.mkdir(mode=0o700, parents=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-nodes", "-keyout", str(self.key),
                        "-out", str(self.cert), "-days", "365", "-subj", "/CN=dask-internal",
                        "-addext", f"subjectAltName=DNS:{self.dir.name},DNS:dask-internal"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.chmod(self.key, 0o600)

    def _env(self, role):
        return {
            "PATH": os.environ.get("PATH") or "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(self.dir),
            "DASK_TEMPORARY_DIRECTORY": str(self.dir),
            "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True",
            "DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(self.cert),
            f"DASK_DISTRIBUTED__COMM__TLS__{role}__CERT": str(self.cert),
            f"DASK_DISTRIBUTED__COMM__TLS__{role}__KEY": str(self.key),
        }

    def start_scheduler(self):
        env = self._env("SCHEDULER")
        env["DASK_DISTRIBUTED__SCHEDULER__HTTP__ROUTES"] = self.routes
        argv = [self.dask, "scheduler", "--protocol", "tls", "--host", "127.0.0.1", "--port", "0",
                "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(self.scheduler_file)]
        self.scheduler = self.processes.start(argv, env, self.dir / "scheduler.log")

    def wait_scheduler_file(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.scheduler.poll() is not None:
                raise RuntimeError(f"bare scheduler exited with {self.scheduler.returncode}; see {self.dir}/scheduler.log")
            try:
                self.address = json.loads(self.scheduler_file.read_text())["address"]
                return
            except (OSError, ValueError, KeyError):
                time.sleep(0.005)  # not there yet, or half-written
        raise TimeoutError(f"no {self.scheduler_file} after {timeout} s")

    def start_workers(self, count):
        env = self._env("WORKER")
        for _ in range(count):
            argv = [self.dask, "worker", self.address, "--name", secrets.token_hex(16), "--nthreads", "1",
                    "--memory-limit", str(GIB), "--dashboard-address", "127.0.0.1:0",
                    "--local-directory", str(self.dir / "workers"), "--no-nanny"]
            self.workers.append(self.processes.start(argv, env, self.dir / f"worker-{len(self.workers)}.log"))

    def security(self):
        return Security(tls_ca_file=str(self.cert), tls_client_cert=str(self.cert), tls_client_key=str(self.key),
                        require_encryption=True)

    def stop(self):
        self.processes.stop(self.workers)
        self.processes.stop([self.scheduler] if self.scheduler else [])
        self.workers, self.scheduler = [], None


# ---- Orrery ---------------------------------------------------------------------------------------------------

class Orrery:
    def __init__(self, url, admin_token, data_dir):
        self.url, self.admin_token, self.data_dir = url.rstrip("/"), admin_token, Path(data_dir)
        user = "bench-gw-" + secrets.token_hex(4)
        self._hub("POST", f"/users/{user}", {})
        token = self._hub("POST", f"/users/{user}/tokens", {"note": "bench/gateway.py"})["token"]
        self.gateway = Gateway(self.url + "/services/dask-gateway", token, user)
        self.clusters = []  # every cluster created, to stop them all at the end whatever happened

    def _hub(self, method, path, body):
        request = urllib.request.Request(self.url + "/hub/api" + path, data=json.dumps(body).encode(), method=method)
        request.add_header("Authorization", f"token {self.admin_token}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def create_running(self, timeout=120):
        """POST create, then ?wait until RUNNING, as dask_gateway's client does (without its 0.5 s sleep, which
        only follows a ?wait that timed out). Returns (name, report, seconds, split), split being where the
        seconds went (see _split_create) or None."""
        posted, start = time.time(), time.perf_counter()
        name = self.gateway.create()
        self.clusters.append(name)
        deadline = time.monotonic() + timeout
        while True:
            report = self.gateway.report(name, wait=True)
            if report["status"] == "RUNNING":
                seconds, seen = time.perf_counter() - start, time.time()
                return name, report, seconds, self._split_create(name, posted, seen)
            if report["status"] in ("FAILED", "STOPPED") or time.monotonic() > deadline:
                raise RuntimeError(f"cluster {name} is {report['status']}, not RUNNING")

    def _split_create(self, name, posted, seen):
        """Where the time went: POST -> scheduler process started -> its file written -> RUNNING seen (seconds)."""
        work_dir = self.data_dir / "clusters" / name
        launched = started_at(work_dir, "dask scheduler")
        try:
            written = (work_dir / "scheduler.json").stat().st_mtime
        except OSError:
            return None
        return (launched[0] - posted, written - launched[0], seen - written) if launched else None

    def launch_spread(self, name, since):
        """Seconds from `since` (wall clock) until the last of the cluster's worker processes started."""
        starts = started_at(self.data_dir / "clusters" / name, "dask worker")
        return max(starts) - since if starts else float("nan")

    def stop(self, name):
        self.gateway.stop(name)
        self.gateway.wait_status(name, ("STOPPED", "FAILED"), timeout=90)

    def stop_all(self):
        stop_clusters(self.gateway, self.clusters)

    def connect(self, name, report):
        return Client(scheduler_address(self.gateway.address), security=SniSecurity(report["tls_cert"], report["tls_key"], name),
                      timeout=30)

    def direct_address(self, name):
        """The scheduler's own tls:// address, from the --scheduler-file the scheduler wrote in its work dir."""
        return json.loads((self.data_dir / "clusters" / name / "scheduler.json").read_text())["address"]


def started_at(work_dir, program):
    """Wall-clock start times of the `program` processes ("dask scheduler", "dask worker") whose command line names a
    file in `work_dir` (a cluster's), from /proc (clock-tick resolution)."""
    needle = f"{work_dir}/"
    ticks = os.sysconf("SC_CLK_TCK")
    boot_wall = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().replace(b"\0", b" ").decode(errors="replace")
            if needle not in args or program not in args or args.startswith("/bin/sh"):
                continue
            with open(f"/proc/{pid}/stat") as f:
                found.append(boot_wall + int(f.read().rsplit(")", 1)[1].split()[19]) / ticks)
        except OSError:
            continue  # gone meanwhile
    return found


def wait_workers(client, count, timeout=180):
    """Polls the scheduler (a fresh identity call each time) until `count` workers are registered."""
    deadline = time.monotonic() + timeout
    while True:
        if len(client.scheduler_info()["workers"]) >= count:
            return time.perf_counter()
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {count} workers after {timeout} s")
        time.sleep(0.02)


# ---- cases 1 and 2 --------------------------------------------------------------------------------------------

def create_and_scale(orrery, bare_root, args, processes, routes, results, rep, measure=True):
    """One repetition of cases 1 and 2 for bare dask and Orrery; the order alternates between repetitions."""
    def bare():
        cluster = BareCluster(bare_root, args.dask, routes, processes, f"bare-{rep if measure else 'warmup'}")
        try:
            start = time.perf_counter()
            cluster.make_certificate()
            certified = time.perf_counter()
            cluster.start_scheduler()
            cluster.wait_scheduler_file()
            listening = time.perf_counter()
            with Client(cluster.address, security=cluster.security(), timeout=30) as client:
                posted, scale_start = time.time(), time.perf_counter()
                cluster.start_workers(args.workers)
                registered = wait_workers(client, args.workers)
            if measure:
                results["bare_create"].append(listening - start)
                results["bare_cert"].append(certified - start)
                results["bare_scale"].append(registered - scale_start)
                results["bare_scale_launch"].append(max(started_at(cluster.dir, "dask worker")) - posted)
        finally:
            cluster.stop()

    def orrery_cluster():
        name, report, seconds, split = orrery.create_running()
        try:
            with orrery.connect(name, report) as client:
                posted, scale_start = time.time(), time.perf_counter()
                answer = orrery.gateway.scale(name, args.workers)
                if not answer.get("ok"):
                    raise RuntimeError(f"scale({args.workers}) answered {answer}")
                registered = wait_workers(client, args.workers)
            if measure:
                results["orrery_create"].append(seconds)
                results["orrery_scale"].append(registered - scale_start)
                results["orrery_scale_launch"].append(orrery.launch_spread(name, posted))
                if split:
                    for key, value in zip(("launch", "startup", "detect"), split):
                        results[f"orrery_create_{key}"].append(value)
        finally:
            orrery.stop(name)

    for case in ((bare, orrery_cluster) if rep % 2 == 0 else (orrery_cluster, bare)):
        case()
        time.sleep(args.settle)  # let exiting processes go before the next measurement


# ---- case 3 ---------------------------------------------------------------------------------------------------

def rotated(items, k):
    """The items starting at k: successive repetitions take turns at going first."""
    k %= len(items)
    return items[k:] + items[:k]


def start_relay(target, processes, work_dir, timeout=30):
    """This script in relay mode, in a process of its own (so it does not share the client's interpreter lock)."""
    port_file = Path(work_dir) / f"relay-{secrets.token_hex(4)}.port"
    relay = processes.start([sys.executable, os.path.abspath(__file__), "relay", target, str(port_file)], dict(os.environ),
                            Path(work_dir) / "relay.log")
    deadline = time.monotonic() + timeout
    while not port_file.exists() or not port_file.read_text().endswith("\n"):
        if relay.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"relay did not start; see {work_dir}/relay.log")
        time.sleep(0.01)
    return relay, f"tls://127.0.0.1:{port_file.read_text().strip()}"


def run_relay(target, port_file):
    """A minimal TCP relay to `target`, for reference: one thread per direction, bytes moved by the kernel with
    splice(2) (no copy through user space), TCP_NODELAY on both sides. What any extra hop costs on this machine."""
    import fcntl
    import socket
    import threading

    host, port = target.split("://")[-1].rsplit(":", 1)
    server = socket.create_server(("127.0.0.1", 0))
    chunk = 1 << 20

    def pump(source, sink):
        read_end, write_end = os.pipe()
        try:
            fcntl.fcntl(write_end, 1031, chunk)  # F_SETPIPE_SZ
            while n := os.splice(source.fileno(), write_end, chunk):
                while n:
                    n -= os.splice(read_end, sink.fileno(), n)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            for s in (source, sink):
                s.close()
        finally:
            os.close(read_end)
            os.close(write_end)

    with open(port_file, "w") as f:
        f.write(f"{server.getsockname()[1]}\n")
    while True:
        client, _ = server.accept()
        upstream = socket.create_connection((host, int(port)))
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()


async def echo(comm, data):
    await comm.write({"op": "echo", "data": data})
    return await comm.read()


async def proxy_against_direct(orrery, args, processes, results):
    """One cluster with one worker, reached directly, through a minimal relay and through Orrery's proxy; every
    figure interleaves the routes. The CPU time of the process in the middle is taken around each transfer."""
    name, report, _, _ = orrery.create_running()
    relay = None
    try:
        answer = orrery.gateway.scale(name, 1)
        assert answer.get("ok"), answer
        proxy_security = SniSecurity(report["tls_cert"], report["tls_key"], name)
        # The same certificate files as CA and client certificate, without SNI: what any TLS client of the scheduler does.
        direct_security = Security(tls_ca_file=proxy_security.tls_ca_file, tls_client_cert=proxy_security.tls_client_cert,
                                   tls_client_key=proxy_security.tls_client_key, require_encryption=True)
        direct = orrery.direct_address(name)
        relay, relay_address = start_relay(direct, processes, args.work_dir)
        routes = {"direct": (direct, direct_security), "relay": (relay_address, direct_security),
                  "proxy": (scheduler_address(orrery.gateway.address), proxy_security)}
        log(f"case 3 on cluster {name}: direct {direct}, relay {relay_address}, proxy {routes['proxy'][0]} (SNI daskgateway-{name})")

        comms = {mode: await connect(address, **security.get_connection_args("client")) for mode, (address, security) in routes.items()}
        clients = {mode: await Client(address, security=security, asynchronous=True, timeout=30)
                   for mode, (address, security) in routes.items()}
        # CPU time of the hop itself: the server for the proxy, the relay process for the relay; for direct, the
        # server's own background work (reconcile passes) over the same calls, the noise floor of the proxy's figure.
        server = CpuClock(args.server_pid)
        clocks = {"direct": server, "relay": CpuClock(relay.pid), "proxy": server}
        hop_cpu = collections.defaultdict(float)
        try:
            await clients["proxy"].wait_for_workers(1, timeout=120)
            payload = os.urandom(args.payload_mib * MIB)  # incompressible, so comm compression cannot help any route
            modes = list(routes)

            # Warm-up: connections, buffers of the full size in every process, the server's JIT tiers.
            for mode in modes:
                for _ in range(1000):
                    await echo(comms[mode], b"x")
                for _ in range(2):
                    await echo(comms[mode], to_serialize(payload))
                future = await clients[mode].scatter(payload, hash=False)
                await clients[mode].gather(future)
                future.release()
            await asyncio.sleep(1)

            for rep in range(args.transfers):
                for mode in rotated(modes, rep):
                    cpu_start, start = clocks[mode](), time.perf_counter()
                    back = await echo(comms[mode], to_serialize(payload))
                    elapsed = time.perf_counter() - start
                    hop_cpu[f"{mode}_echo"] += clocks[mode]() - cpu_start
                    assert len(back) == len(payload), (mode, len(back))
                    del back
                    results[f"{mode}_echo_mibs"].append(2 * args.payload_mib / elapsed)

                    start = time.perf_counter()
                    future = await clients[mode].scatter(payload, hash=False)
                    back = await clients[mode].gather(future)
                    elapsed = time.perf_counter() - start
                    assert len(back) == len(payload), (mode, len(back))
                    del back
                    future.release()
                    results[f"{mode}_scatter_mibs"].append(2 * args.payload_mib / elapsed)
                    await asyncio.sleep(0.2)

            blocks = 20
            per_block = max(1, args.calls // blocks)
            for block in range(blocks):
                for mode in rotated(modes, block):
                    samples = results[f"{mode}_rtt_us"]
                    cpu_start = clocks[mode]()
                    for _ in range(per_block):
                        start = time.perf_counter_ns()
                        await echo(comms[mode], b"x")
                        samples.append((time.perf_counter_ns() - start) / 1000)
                    hop_cpu[f"{mode}_rtt"] += clocks[mode]() - cpu_start
            for mode in modes:
                results[f"{mode}_echo_cpu_ms_per_mib"] = [hop_cpu[f"{mode}_echo"] * 1000 / (2 * args.payload_mib * args.transfers)]
                results[f"{mode}_rtt_cpu_us"] = [hop_cpu[f"{mode}_rtt"] * 1e6 / len(results[f"{mode}_rtt_us"])]
        finally:
            for comm in comms.values():
                await comm.close()
            for client in clients.values():
                await client.close()
    finally:
        if relay is not None:
            processes.stop([relay])
        orrery.stop(name)


# ---- report ---------------------------------------------------------------------------------------------------

def p99(values):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def report(results, args, cases):
    med = {key: statistics.median(values) for key, values in results.items() if values}

    def runs(key, fmt="{:.0f}"):
        return ", ".join(fmt.format(v) for v in results[key])

    def met(ok):
        return "yes" if ok else "**no**"

    rows, notes = [], []
    if "clusters" in cases:
        create_gap = med["orrery_create"] - med["bare_create"]
        scale_ratio = med["orrery_scale"] / med["bare_scale"]
        rows += [
            ("create → RUNNING (s)", f"{med['bare_create']:.2f}", f"{med['orrery_create']:.2f}", f"{create_gap:+.2f} s",
             "≤ +0.30 s", met(create_gap <= 0.3), f"bare {runs('bare_create', '{:.2f}')}; Orrery {runs('orrery_create', '{:.2f}')}"),
            (f"scale({args.workers}) → {args.workers} workers registered (s)", f"{med['bare_scale']:.2f}", f"{med['orrery_scale']:.2f}",
             f"{scale_ratio:.2f}×", "(none)", "–", f"bare {runs('bare_scale', '{:.2f}')}; Orrery {runs('orrery_scale', '{:.2f}')}"),
        ]
        notes.append(f"create: an openssl certificate (median {med['bare_cert']:.2f} s of it) plus a bare `dask scheduler` with "
                     "Orrery's flags and environment until its --scheduler-file exists; scale: "
                     f"{args.workers} bare `dask worker --no-nanny` on such a scheduler, polled over direct TLS")
    if "proxy" in cases:
        echo_ratio = med["proxy_echo_mibs"] / med["direct_echo_mibs"]
        scatter_ratio = med["proxy_scatter_mibs"] / med["direct_scatter_mibs"]
        rtt_gap = med["proxy_rtt_us"] - med["direct_rtt_us"]
        p99s = {mode: p99(results[f"{mode}_rtt_us"]) for mode in ("direct", "relay", "proxy")}
        rows += [
            (f"echo {args.payload_mib} MiB client → scheduler → client (MiB/s)", f"{med['direct_echo_mibs']:.0f}",
             f"{med['proxy_echo_mibs']:.0f}", f"{echo_ratio:.2f}×", "≥ 0.90×", met(echo_ratio >= 0.9),
             f"direct {runs('direct_echo_mibs')}; proxy {runs('proxy_echo_mibs')}"),
            (f"scatter + gather {args.payload_mib} MiB via 1 worker (MiB/s)", f"{med['direct_scatter_mibs']:.0f}",
             f"{med['proxy_scatter_mibs']:.0f}", f"{scatter_ratio:.2f}×", "≥ 0.90×", met(scatter_ratio >= 0.9),
             f"direct {runs('direct_scatter_mibs')}; proxy {runs('proxy_scatter_mibs')}"),
            ("small echo round trip, median (µs)", f"{med['direct_rtt_us']:.0f}", f"{med['proxy_rtt_us']:.0f}", f"{rtt_gap:+.0f} µs",
             "< +50 µs", met(rtt_gap < 50), f"{len(results['proxy_rtt_us'])} calls each"),
            ("small echo round trip, p99 (µs)", f"{p99s['direct']:.0f}", f"{p99s['proxy']:.0f}",
             f"{p99s['proxy'] - p99s['direct']:+.0f} µs", "(none)", "–", ""),
        ]
        notes.append("proxy rows: the same Orrery scheduler reached directly at its tls:// address (Orrery: through the SNI "
                     "proxy on the server's port); throughput counts both directions (2 × payload / time)")
    print()
    print("| Measure | Baseline | Orrery | Orrery vs baseline | Goal | Met | Per run |")
    print("|---|---:|---:|---:|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    counts = ([f"{args.reps} repetitions of create and scale"] if "clusters" in cases else []) + \
        ([f"{args.transfers} transfers and {args.calls} small round trips per route"] if "proxy" in cases else [])
    print(f"Medians of {' and '.join(counts)}, interleaved, the order rotating. Baselines: " + "; ".join(notes) + ".")
    if "clusters" in cases and results["orrery_create_launch"]:
        print()
        print("Where Orrery's time goes (medians; process start times from /proc, 10 ms resolution): create = "
              f"POST → scheduler process started {med['orrery_create_launch']:.2f} s, → scheduler file written "
              f"{med['orrery_create_startup']:.2f} s, → RUNNING seen by the client {med['orrery_create_detect']:.2f} s "
              f"(bare: certificate {med['bare_cert']:.2f} s, then {med['bare_create'] - med['bare_cert']:.2f} s to the file); "
              f"scale = POST → last of {args.workers} worker processes started {med['orrery_scale_launch']:.2f} s "
              f"(bare: {max(0.0, med['bare_scale_launch']):.2f} s).")
    if "proxy" not in cases:
        return

    # The same transfers through a minimal relay: how much of the proxy's cost any extra hop has on this machine.
    print()
    print("| Route to the same scheduler | echo MiB/s | scatter + gather MiB/s | round trip median (µs) | p99 (µs) "
          "| hop CPU ms per MiB echoed | hop CPU µs per round trip |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for mode, label in (("direct", "direct TLS (CPU: the server's background)"), ("relay", "minimal splice(2) relay (reference)"),
                        ("proxy", "Orrery's SNI proxy (CPU: the server)")):
        cpu = "n/a | n/a" if mode != "relay" and not args.server_pid else \
            f"{med[f'{mode}_echo_cpu_ms_per_mib']:.2f} | {med[f'{mode}_rtt_cpu_us']:.1f}"
        print(f"| {label} | {med[f'{mode}_echo_mibs']:.0f} ({med[f'{mode}_echo_mibs'] / med['direct_echo_mibs']:.2f}×) "
              f"| {med[f'{mode}_scatter_mibs']:.0f} ({med[f'{mode}_scatter_mibs'] / med['direct_scatter_mibs']:.2f}×) "
              f"| {med[f'{mode}_rtt_us']:.0f} ({med[f'{mode}_rtt_us'] - med['direct_rtt_us']:+.0f}) "
              f"| {p99s[mode]:.0f} | {cpu} |")
    print()
    print(f"Hop CPU: user + system time of the process in the middle ({os.sysconf('SC_CLK_TCK')} ticks/s) summed over all "
          "the route's large echoes, or over all its small ones, divided by MiB moved or by round trips.")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "relay":
        return run_relay(sys.argv[2], sys.argv[3])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the server's origin, e.g. http://127.0.0.1:8000")
    parser.add_argument("--data-dir", required=True, help="the server's ORRERY_DATA_DIR (scheduler files are read from it)")
    parser.add_argument("--work-dir", required=True, help="where the bare baseline's files go")
    parser.add_argument("--server-pid", type=int, help="the server's pid, to report its CPU time per proxied byte")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--payload-mib", type=int, default=128)
    parser.add_argument("--transfers", type=int, default=8, help="large echoes and scatter/gathers per route")
    parser.add_argument("--calls", type=int, default=2000, help="small echo round trips per route")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds of rest after each case")
    parser.add_argument("--dask", default="/usr/bin/dask")
    parser.add_argument("--cases", default="clusters,proxy",
                        help="comma-separated: clusters (create and scale), proxy (proxy against direct)")
    args = parser.parse_args()
    admin_token = os.environ.get("BENCH_ADMIN_TOKEN") or sys.exit("error: BENCH_ADMIN_TOKEN is not set")

    # SIGTERM (the wrapper stopping us) unwinds through the finally blocks like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    processes = Processes()
    orrery = None
    try:
        orrery = Orrery(args.url, admin_token, args.data_dir)
        routes = http_routes()
        results = collections.defaultdict(list)
        cases = set(args.cases.split(","))
        if "clusters" in cases:
            log(f"warm-up round (not counted), then {args.reps} repetitions of create and scale({args.workers})")
            create_and_scale(orrery, args.work_dir, args, processes, routes, results, 0, measure=False)
            for rep in range(args.reps):
                log(f"repetition {rep + 1}/{args.reps}")
                create_and_scale(orrery, args.work_dir, args, processes, routes, results, rep)
        if "proxy" in cases:
            log(f"proxy against direct: {args.transfers} × {args.payload_mib} MiB echo and scatter/gather, {args.calls} small echoes each")
            asyncio.run(proxy_against_direct(orrery, args, processes, results))
        report(results, args, cases)
    finally:
        processes.stop_all()
        if orrery is not None:
            orrery.stop_all()


if __name__ == "__main__":
    main()
