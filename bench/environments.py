#!/usr/bin/python3
"""Benchmark of environments: builds, cache hits, library-only rebuilds, and starting a Dask worker in a container.

Not a test: it prints figures (one line per measure, then Markdown tables). Run it through bench/environments.sh,
which starts the server; run directly it needs a server already up (with the Podman backend enabled):

    /usr/bin/python3 bench/environments.py --url http://127.0.0.1:PORT --work-dir DIR --tag TAG
    (admin token in $BENCH_ADMIN_TOKEN; CONTAINERS_CONF set; containers it starts itself are named orrery-env-bench-TAG-*)

Cases, each with its baseline measured in the same run, the order of the two sides rotating between repetitions:
1. cache: a cold build (POST -> state ready) of a spec with one small library, then the same content again under
   another name (200, cache_hit, ready in the answer); for base `host` (a virtual environment) and the Podman base
   image. Every repetition changes a constant in the library, so every cold build is really cold.
2. rebuild: libraries [big, small] (big: --big-modules modules); cold build, then only `small` changed: the rebuild
   time against the cold one, and podman's "--> Using cache" lines in the rebuild's log (a venv has no layers).
3. start: outside Orrery, one local `dask scheduler`; N times a `dask worker --no-nanny` as a local process and the
   same in `podman run` of the base image: start -> the scheduler lists it (scheduler_info() every 20 ms).
   Also `podman run ... echo` (start -> its output, and -> exited): what a container costs with no program in it; and,
   timed by a python3 on each side, an interpreter's start, `import distributed` and get_versions() (called to
   register): what the worker itself costs there.
4. cluster: through Orrery's gateway, a fresh cluster per repetition in each environment of case 1 (host venv, Podman
   image): create -> RUNNING (the scheduler started), then POST scale {"count": 1} -> the worker registered, seen
   through the SNI proxy. One uncounted warm-up cluster of each first.
"""
import argparse
import io
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from benchlib import log  # noqa: E402  (bench/benchlib.py)

REPO = Path(__file__).resolve().parents[1]
ENVIRONMENTS = "/services/environments/api/v1/environments"
# Fixed timestamps in the zips: an unchanged file keeps its mtime, as it would in a user's checkout.
ZIP_TIME = (2024, 1, 1, 0, 0, 0)
# Run by the host's and the image's python3: an interpreter's start (`python3 -c pass`), `import distributed`, and
# get_versions(), which a worker calls to register (it imports numpy, pandas and lz4 when they are installed).
STARTUP_TIMER = (
    "import subprocess, sys, time\n"
    "t = time.perf_counter(); subprocess.run([sys.executable, '-c', 'pass'], check=True); started = time.perf_counter() - t\n"
    "t = time.perf_counter(); import distributed; imported = time.perf_counter() - t\n"
    "from distributed.versions import get_versions\n"
    "t = time.perf_counter(); get_versions(); print(started, imported, time.perf_counter() - t)\n")


def stats(values):
    """'median (min–max)' in seconds; milliseconds show when all are under a second."""
    f = "{:.3f}" if max(values) < 1 else "{:.2f}"
    return f"{f.format(statistics.median(values))} ({f.format(min(values))}–{f.format(max(values))})"


def rotated(items, k):
    return items[k % len(items):] + items[:k % len(items)]


# ---- HTTP -----------------------------------------------------------------------------------------------------

class Orrery:
    def __init__(self, url, admin_token):
        self.url = url.rstrip("/")
        self.user = "bench-env-" + secrets.token_hex(4)
        self.call("POST", f"/hub/api/users/{self.user}", {}, token=admin_token)
        self.token = self.call("POST", f"/hub/api/users/{self.user}/tokens", {"note": "bench/environments.py"},
                               token=admin_token)[1]["token"]

    def call(self, method, path, body=None, token=None, content_type="application/json"):
        """(status, parsed JSON); errors come back as their status, not raised."""
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"token {token or self.token}")
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def submit(self, spec, bundle):
        """Multipart `spec` + `bundle` (a zip), as `curl -F spec=@… -F bundle=@…` sends it."""
        boundary = "bench" + secrets.token_hex(8)
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"spec\"\r\n\r\n{spec}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"bundle\"; filename=\"libraries.zip\"\r\n"
                f"Content-Type: application/zip\r\n\r\n").encode() + bundle + f"\r\n--{boundary}--\r\n".encode()
        return self.call("POST", ENVIRONMENTS, body, content_type=f"multipart/form-data; boundary={boundary}")

    def follow_log(self, env_id, t0):
        """Streams the build log until the build ends; returns its text and when each `==> ` line arrived (s after t0)."""
        request = urllib.request.Request(f"{self.url}{ENVIRONMENTS}/{env_id}/logs?follow=true")
        request.add_header("Authorization", f"token {self.token}")
        lines, marks = [], {}
        with urllib.request.urlopen(request, timeout=1800) as response:
            for raw in response:
                line = raw.decode(errors="replace").rstrip("\n")
                lines.append(line)
                label = mark_label(line)
                if label:
                    marks.setdefault(label, time.perf_counter() - t0)
        return "\n".join(lines), marks


def mark_label(line):
    """The build script's step markers, and podman's Containerfile steps and final commit, short; None otherwise."""
    if line.startswith("==> "):
        return line[4:].removeprefix("step: ")
    words = line.split()
    if line.startswith("STEP ") and len(words) > 3:
        # "STEP 3/5: RUN PIP_…=1 python3 -m pip install … /opt/orrery/libraries/big" -> "3/5 RUN big"
        target = os.path.basename(words[-1]) if words[2] == "RUN" else words[3]
        return f"{words[1].rstrip(':')} {words[2]} {target}"
    return "COMMIT" if line.startswith("COMMIT ") else None


# ---- libraries --------------------------------------------------------------------------------------------------

def library_files(directory, package, value, modules=0):
    """A pip-installable setuptools package `package` in `directory`; VALUE is in numbers.py; `modules` extra files."""
    files = {
        f"{directory}/pyproject.toml":
            "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n"
            f"[project]\nname = \"{package.replace('_', '-')}\"\nversion = \"0.1.0\"\n\n"
            f"[tool.setuptools]\npackages = [\"{package}\"]\n",
        f"{directory}/{package}/__init__.py": f"from {package}.numbers import answer\n",
        f"{directory}/{package}/numbers.py": f"def answer():\n    return {value!r}\n",
    }
    for i in range(modules):
        files[f"{directory}/{package}/m{i:03d}.py"] = (
            f'"""Module {i} of a big library."""\n\nSCALE = {i}\n\n\n'
            f"def f{i}(x):\n    return [x * SCALE + k for k in range(10)]\n")
    return files


def zip_of(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for path, text in sorted(files.items()):
            z.writestr(zipfile.ZipInfo(path, ZIP_TIME), text)
    return buffer.getvalue()


# ---- builds -----------------------------------------------------------------------------------------------------

def build(orrery, spec, bundle):
    """Submits a spec that must build (202), follows its log and polls until ready. Seconds from the POST."""
    t0 = time.perf_counter()
    status, answer = orrery.submit(spec, bundle)
    if status != 202:
        raise RuntimeError(f"submit answered {status}, expected 202 (a build): {answer}")
    env_id = answer["id"]
    text, marks = orrery.follow_log(env_id, t0)
    while True:  # the log ends with the build; the environment turns ready right after
        status, env = orrery.call("GET", f"{ENVIRONMENTS}/{env_id}")
        if env["state"] != "building":
            break
        time.sleep(0.02)
    total = time.perf_counter() - t0
    if env["state"] != "ready":
        raise RuntimeError(f"build of {env_id} {env['state']}: step {env['failed_step']}: {env['reason']}\n{text}")
    first = min(marks.values()) if marks else float("nan")
    # Each step's seconds: from its marker to the next one (the last, to "done").
    ordered = sorted(marks.items(), key=lambda m: m[1])
    durations = {name: ordered[i + 1][1] - at for i, (name, at) in enumerate(ordered[:-1])}
    return {"id": env_id, "total": total, "started": first, "script": marks.get("done", total) - first,
            "durations": durations, "cache_lines": text.count("--> Using cache"), "steps": text.count("\nSTEP ")}


def cache_hit(orrery, spec, bundle, expected_id):
    t0 = time.perf_counter()
    status, answer = orrery.submit(spec, bundle)
    took = time.perf_counter() - t0
    if status != 200 or not answer.get("cache_hit") or answer["state"] != "ready" or answer["id"] != expected_id:
        raise RuntimeError(f"expected 200 cache_hit ready {expected_id}, got {status}: {answer}")
    return took


def spec(name, base, libraries):
    return f"name: {name}\nbase: {base}\nlibraries: [{', '.join(libraries)}]\n"


def case_cache(orrery, bases, reps, results):
    for rep in range(reps):
        for kind in rotated(list(bases), rep):
            value = secrets.token_hex(8)  # a new constant: new content, a cold build
            bundle = zip_of(library_files("testlib", "orrery_benchlib", value))
            cold = build(orrery, spec(f"cache-{kind}-{rep}", bases[kind], ["testlib"]), bundle)
            hit = cache_hit(orrery, spec(f"cache-{kind}-{rep}-again", bases[kind], ["testlib"]), bundle, cold["id"])
            results[kind]["cold"].append(cold)
            results[kind]["hit"].append(hit)
            results[kind]["id"] = cold["id"]
            log(f"cache {kind} {rep + 1}/{reps}: cold build {cold['total']:.2f} s (script {cold['script']:.2f} s), "
                f"cache hit {hit * 1000:.1f} ms")


def case_rebuild(orrery, bases, reps, modules, results):
    for rep in range(reps):
        for kind in rotated(list(bases), rep):
            value = secrets.token_hex(8)
            big = library_files("big", "orrery_benchbig", value, modules)
            libraries = ["big", "small"]
            cold = build(orrery, spec(f"rebuild-{kind}-{rep}", bases[kind], libraries),
                         zip_of({**big, **library_files("small", "orrery_benchsmall", value)}))
            # Only `small` changes: `big`'s files are the same bytes (and mtimes) as in the cold build.
            again = build(orrery, spec(f"rebuild-{kind}-{rep}", bases[kind], libraries),
                          zip_of({**big, **library_files("small", "orrery_benchsmall", value + "-changed")}))
            results[kind]["cold"].append(cold)
            results[kind]["rebuild"].append(again)
            log(f"rebuild {kind} {rep + 1}/{reps}: cold {cold['total']:.2f} s, after changing small {again['total']:.2f} s "
                f"({again['cache_lines']} of {again['steps']} podman steps 'Using cache'; cold: {cold['cache_lines']})")


# ---- worker start outside Orrery --------------------------------------------------------------------------------

def quiet_version_warnings():
    """The base image lacks optional packages the host has (lz4): distributed warns about it on every connection."""
    import warnings
    from distributed.versions import VersionMismatchWarning

    warnings.simplefilter("ignore", VersionMismatchWarning)


def start_case(args, results):
    from distributed import Client  # Debian's python3-distributed; only this case and the next need it

    quiet_version_warnings()

    work = Path(args.work_dir) / "start"
    work.mkdir(parents=True, exist_ok=True)
    scheduler_file = work / "scheduler.json"
    base_env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": str(work)}
    with open(work / "scheduler.log", "wb") as out:
        scheduler = subprocess.Popen(
            ["/usr/bin/dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(scheduler_file),
             "--dashboard-address", "127.0.0.1:0"], cwd=work, env=base_env, stdout=out, stderr=subprocess.STDOUT)
    podman_env = {**base_env, "CONTAINERS_CONF": os.environ["CONTAINERS_CONF"]}
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() or not scheduler_file.stat().st_size:
            if scheduler.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the scheduler did not start; see {work}/scheduler.log")
            time.sleep(0.02)
        time.sleep(0.1)  # written whole by now
        address = json.loads(scheduler_file.read_text())["address"]
        worker = ["dask", "worker", address, "--no-nanny", "--nthreads", "1"]
        count = iter(range(10**6))

        def container_name():
            return f"orrery-env-bench-{args.tag}-{next(count)}"

        def run(kind):
            """Start -> registered, then stop it and wait until the scheduler has dropped it."""
            if kind == "local":
                argv, env = ["/usr/bin/dask", *worker[1:]], base_env
            else:
                argv = ["podman", "run", "--rm", "--init", "--network", "host", "--pull", "never",
                        "--name", container_name(), args.base_image, *worker]
                env = podman_env
            t0 = time.perf_counter()
            with open(work / f"{kind}.log", "ab") as out:
                process = subprocess.Popen(argv, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT)
            try:
                wait_workers(client, 1, process)
                took = time.perf_counter() - t0
            finally:
                process.terminate()  # podman run passes SIGTERM on to the container (--sig-proxy) and then removes it
                process.wait(60)
            wait_workers(client, 0)
            return took

        def python_startup(kind):
            """Interpreter start and `import distributed`, timed inside: the worker's own start-up on each side."""
            argv = ["/usr/bin/python3", "-c", STARTUP_TIMER]
            if kind == "container":
                argv = ["podman", "run", "--rm", "--init", "--network", "host", "--pull", "never", "--name", container_name(),
                        args.base_image, "python3", "-c", STARTUP_TIMER]
            out = subprocess.run(argv, cwd=work, env=podman_env, check=True, capture_output=True, text=True).stdout
            started, imported, versions = map(float, out.split())
            results[f"python_{kind}"].append(started)
            results[f"import_{kind}"].append(imported)
            results[f"versions_{kind}"].append(versions)

        def container_echo():
            """`podman run … echo`: start -> its first output (what a worker's start pays), and -> exited and removed."""
            t0 = time.perf_counter()
            process = subprocess.Popen(["podman", "run", "--rm", "--init", "--network", "host", "--pull", "never",
                                        "--name", container_name(), args.base_image, "echo", "up"],
                                       env=podman_env, stdout=subprocess.PIPE)
            process.stdout.readline()
            first = time.perf_counter() - t0
            process.stdout.read()
            if process.wait() != 0:
                raise RuntimeError(f"podman run … echo exited with {process.returncode}")
            results["echo_first"].append(first)
            results["echo_exit"].append(time.perf_counter() - t0)

        with Client(address, timeout=30) as client:
            log("start: warm-up (not counted)")
            run("local"), run("container")
            for rep in range(args.start_reps):
                for kind in rotated(["local", "container"], rep):
                    results[kind].append(run(kind))
                container_echo()
                python_startup("local")
                python_startup("container")
                log(f"start {rep + 1}/{args.start_reps}: local worker {results['local'][-1]:.2f} s, "
                    f"container worker {results['container'][-1]:.2f} s, `podman run … echo` first output {results['echo_first'][-1]:.2f} s, "
                    f"exited {results['echo_exit'][-1]:.2f} s; "
                    f"python3 start / import distributed / get_versions(): host {results['python_local'][-1]:.3f} / "
                    f"{results['import_local'][-1]:.3f} / {results['versions_local'][-1]:.3f} s, image {results['python_container'][-1]:.3f} / "
                    f"{results['import_container'][-1]:.3f} / {results['versions_container'][-1]:.3f} s")
    finally:
        scheduler.terminate()
        scheduler.wait(30)


def wait_workers(client, count, process=None, timeout=120):
    deadline = time.monotonic() + timeout
    while len(client.scheduler_info()["workers"]) != count:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the worker exited with {process.returncode} before registering")
        if time.monotonic() > deadline:
            raise TimeoutError(f"not {count} workers after {timeout} s")
        time.sleep(0.02)


# ---- workers through Orrery ----------------------------------------------------------------------------------------

def cluster_case(orrery, env_ids, reps, results):
    sys.path.insert(0, str(REPO / "tests" / "clients"))
    from orrery_gateway import Gateway

    quiet_version_warnings()
    gateway = Gateway(orrery.url + "/services/dask-gateway", orrery.token, orrery.user)

    def one(kind):
        """A fresh cluster in the environment: create -> RUNNING, then scale(1) -> the worker registered; stopped after."""
        t0 = time.perf_counter()
        name = gateway.create(image=env_ids[kind])
        try:
            report = gateway.wait_running(name, timeout=180)
            created = time.perf_counter() - t0
            with gateway.connect(name, report, timeout=60) as client:
                t0 = time.perf_counter()
                gateway.scale(name, 1)
                wait_workers(client, 1)
                return created, time.perf_counter() - t0
        finally:
            gateway.stop(name)
            gateway.wait_status(name, ("STOPPED", "FAILED"), timeout=90)

    log("cluster: warm-up (not counted)")
    for kind in env_ids:
        one(kind)
    for rep in range(reps):
        for kind in rotated(list(env_ids), rep):
            created, scaled = one(kind)
            results[kind]["create"].append(created)
            results[kind]["scale"].append(scaled)
        log(f"cluster {rep + 1}/{reps}: " + ", ".join(
            f"{k} create {results[k]['create'][-1]:.2f} s, scale(1) {results[k]['scale'][-1]:.2f} s" for k in env_ids))


# ---- report -----------------------------------------------------------------------------------------------------

def step_medians(builds):
    names = list(builds[0]["durations"])
    return ", ".join(f"{n} {statistics.median(b['durations'].get(n, 0.0) for b in builds):.2f}" for n in names)


def report(cache, rebuild, start, cluster):
    print()
    print("| Measure | Baseline | Compared | Ratio | Per run (s) |")
    print("|---|---:|---:|---:|---|")

    def runs(values):
        return ", ".join(f"{v:.3f}" if v < 1 else f"{v:.2f}" for v in values)

    def row(label, base, other, base_label, other_label):
        ratio = statistics.median(other) / statistics.median(base)
        shown = f"{ratio:.2f}×" if ratio >= 0.1 else f"{ratio:.4f}× (1/{1 / ratio:.0f})"
        print(f"| {label} | {stats(base)} | {stats(other)} | {shown} | {base_label} {runs(base)}; {other_label} {runs(other)} |")

    for kind, title in (("host", "host (venv)"), ("podman", "Podman image")):
        if cache.get(kind, {}).get("cold"):
            r = cache[kind]
            row(f"{title}: cold build → cache hit (POST → ready)", [c["total"] for c in r["cold"]], r["hit"], "cold", "hit")
    for kind, title in (("host", "host (venv)"), ("podman", "Podman image")):
        if rebuild.get(kind, {}).get("cold"):
            r = rebuild[kind]
            row(f"{title}: cold build [big, small] → rebuild after changing small", [c["total"] for c in r["cold"]],
                [c["total"] for c in r["rebuild"]], "cold", "rebuild")
    if start.get("local"):
        row("Dask worker start → registered: local process → `podman run`", start["local"], start["container"], "local", "container")
        print(f"| `podman run --rm --init … echo`: start → its output (the container's own start) | – | {stats(start['echo_first'])} | "
              f"| {runs(start['echo_first'])} |")
        print(f"| `podman run --rm --init … echo`: start → exited and removed | – | {stats(start['echo_exit'])} | | {runs(start['echo_exit'])} |")
        row("`python3 -c pass`, timed by a python3 beside it: host → base image", start["python_local"],
            start["python_container"], "host", "image")
        row("`import distributed`, timed inside python3: host → base image", start["import_local"], start["import_container"],
            "host", "image")
        row("`distributed.versions.get_versions()` (a worker's registration calls it), timed inside: host → base image",
            start["versions_local"], start["versions_container"], "host", "image")
    if cluster.get("host", {}).get("scale"):
        row("Orrery: scale(1) → worker registered, host env → Podman env", cluster["host"]["scale"], cluster["podman"]["scale"],
            "host", "podman")
        row("Orrery: create cluster → RUNNING (scheduler start), host env → Podman env", cluster["host"]["create"],
            cluster["podman"]["create"], "host", "podman")
    print()
    print("Times in seconds, median (min–max); Ratio = median compared / median baseline.")
    for label, data in (("cache", cache), ("rebuild", rebuild)):
        for kind, r in data.items():
            builds = r.get("cold", []) + r.get("rebuild", [])
            if builds:
                print(f"- {label} {kind}: POST → build script's first step {stats([b['started'] for b in builds])} s, "
                      f"script (first step → done) cold {stats([b['script'] for b in r['cold']])} s"
                      + (f", rebuild {stats([b['script'] for b in r['rebuild']])} s" if r.get("rebuild") else "")
                      + f"; steps of the cold builds (median s): {step_medians(r['cold'])}"
                      + (f"; of the rebuilds: {step_medians(r['rebuild'])}" if r.get("rebuild") else ""))
    if rebuild.get("podman", {}).get("rebuild"):
        r = rebuild["podman"]
        print(f"- Podman rebuilds: 'Using cache' lines per rebuild {[b['cache_lines'] for b in r['rebuild']]} of "
              f"{[b['steps'] for b in r['rebuild']]} Containerfile steps; in the cold builds {[b['cache_lines'] for b in r['cold']]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--tag", required=True, help="names the containers this script starts itself")
    parser.add_argument("--base-image", default="localhost/orrery-base:bookworm")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--start-reps", type=int, default=5)
    parser.add_argument("--big-modules", type=int, default=300)
    parser.add_argument("--cases", default="cache,rebuild,start,cluster")
    args = parser.parse_args()
    cases = set(args.cases.split(","))
    orrery = Orrery(args.url, os.environ.get("BENCH_ADMIN_TOKEN") or sys.exit("error: set BENCH_ADMIN_TOKEN"))
    bases = {"host": "host", "podman": args.base_image}
    cache = {k: {"cold": [], "hit": []} for k in bases}
    rebuild = {k: {"cold": [], "rebuild": []} for k in bases}
    start = {k: [] for k in ("local", "container", "echo_first", "echo_exit", "python_local", "python_container", "import_local", "import_container",
                                "versions_local", "versions_container")}
    cluster = {k: {"create": [], "scale": []} for k in bases}
    if "cluster" in cases and "cache" not in cases:
        sys.exit("error: the cluster case uses the environments the cache case built")
    if "cache" in cases:
        case_cache(orrery, bases, args.reps, cache)
    if "rebuild" in cases:
        case_rebuild(orrery, bases, args.reps, args.big_modules, rebuild)
    if "start" in cases:
        start_case(args, start)
    if "cluster" in cases:
        cluster_case(orrery, {k: cache[k]["id"] for k in bases}, args.start_reps, cluster)
    report(cache, rebuild, start, cluster)


if __name__ == "__main__":
    main()
