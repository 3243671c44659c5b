"""Fixtures for the client tests: a real Orrery server, a fresh user per test, and clean-up of every cluster.

The server is started once per session from the Debug build (set ORRERY_SERVER_DLL to use another build), unless
ORRERY_URL and ORRERY_ADMIN_TOKEN point at one already running (add its ORRERY_DATA_DIR to have cluster work dirs
checked too). Its output goes to server.log in its temporary data
directory; a failing test gets the log lines written while it ran attached to its report. When the session had
failures the log is kept as $TMPDIR/orrery-clients-server.log (always, at $ORRERY_TEST_LOG when that is set); the
data directory itself is always removed.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

try:
    import distributed  # noqa: F401  (Debian's python3-distributed)
except ImportError:  # pragma: no cover
    raise pytest.UsageError("distributed is not importable: run these tests with /usr/bin/python3 (Debian's), not a pyenv python")

from orrery_gateway import Gateway

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DLL = REPO / "src/Orrery.Server/bin/Debug/net10.0/Orrery.Server.dll"
SERVER_ENV = {
    "Orrery__Gateway__AdaptivePeriod": "00:00:01",
    "Orrery__Compute__ReconcileInterval": "00:00:00.500",
    "Orrery__Gateway__Limits__MaxWorkersPerCluster": "5",
}
STOP_WAIT = 60  # seconds a DELETEd cluster may take to reach STOPPED


class OrreryServer:
    """What the tests know about the server under test."""

    def __init__(self, url, admin_token, data_dir=None, log_path=None):
        self.url = url.rstrip("/")
        self.admin_token = admin_token
        self.data_dir = data_dir  # None for an external server
        self.log_path = log_path
        self.clusters = []  # (name, gateway of its owner) of every cluster any test created, in order

    def __iter__(self):  # url, admin_token = orrery
        return iter((self.url, self.admin_token))

    @property
    def gateway_address(self):
        return self.url + "/services/dask-gateway"

    def hub(self, method, path, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + "/hub/api" + path, data=data, method=method)
        request.add_header("Authorization", f"token {token or self.admin_token}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return json.loads(raw) if raw else None

    def new_user(self):
        """A fresh user with a new API token: (name, token)."""
        name = "gw-" + secrets.token_hex(5)
        self.hub("POST", f"/users/{name}", {})
        return name, self.hub("POST", f"/users/{name}/tokens", {})["token"]

    def log_size(self):
        try:
            return os.path.getsize(self.log_path) if self.log_path else 0
        except OSError:
            return 0

    def log_since(self, offset, max_lines=250):
        if not self.log_path or not os.path.exists(self.log_path):
            return "(no server log: external server)"
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            lines = f.read().decode(errors="replace").splitlines()
        if len(lines) > max_lines:
            lines = [f"... ({len(lines) - max_lines} earlier lines left out)"] + lines[-max_lines:]
        return "\n".join(lines)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, timeout=2):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status


def _wait_for_hub(url, process, log_path, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        try:
            if _get(url + "/hub/api") == 200:
                return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    log = Path(log_path).read_text(errors="replace")[-6000:] if log_path and os.path.exists(log_path) else ""
    state = "exited with status %s" % process.returncode if process is not None and process.returncode is not None else "not answering"
    raise RuntimeError(f"Orrery at {url} {state} (GET /hub/api within {timeout} s). Server log tail:\n{log}")


def _stop_process(process, grace=20):
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def dask_processes(needle):
    """(pid, command line) of every process whose command line contains `needle` (e.g. a cluster name)."""
    out = subprocess.run(["ps", "-eww", "-o", "pid=,args="], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        pid, _, args = line.strip().partition(" ")
        if needle in args and int(pid) != os.getpid() and not args.startswith("ps "):
            found.append((int(pid), args))
    return found


@pytest.fixture(scope="session")
def orrery(request):
    """The server, unpacking as (url, admin token), plus helpers. Started here unless ORRERY_URL is set."""
    if os.environ.get("ORRERY_URL") and os.environ.get("ORRERY_ADMIN_TOKEN"):
        server = OrreryServer(os.environ["ORRERY_URL"], os.environ["ORRERY_ADMIN_TOKEN"], os.environ.get("ORRERY_DATA_DIR"))
        _wait_for_hub(server.url, None, None, timeout=30)
        yield server
        return

    dll = Path(os.environ.get("ORRERY_SERVER_DLL", DEFAULT_DLL))
    if not dll.exists():
        subprocess.run(["dotnet", "build", str(REPO / "src/Orrery.Server"), "-v", "quiet", "-nologo", "-clp:ErrorsOnly"], check=True)
    data_dir = tempfile.mkdtemp(prefix="orrery-clients-")
    log_path = os.path.join(data_dir, "server.log")
    url = f"http://127.0.0.1:{_free_port()}"
    admin_token = secrets.token_hex(24)
    env = dict(os.environ, ORRERY_DATA_DIR=data_dir, ORRERY_ADMIN_TOKEN=admin_token, **SERVER_ENV)
    env.pop("ORRERY_URL", None)
    log = open(log_path, "wb")
    process = subprocess.Popen(["dotnet", str(dll), "--urls", url], env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, cwd=data_dir)
    server = OrreryServer(url, admin_token, data_dir, log_path)
    try:
        _wait_for_hub(url, process, log_path)
        yield server
    finally:
        _stop_process(process)
        log.close()
        # Nothing of a test cluster may outlive the session, whatever the tests found.
        for name, _ in server.clusters:
            for pid, _ in dask_processes(name):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        kept = os.environ.get("ORRERY_TEST_LOG") or (
            os.path.join(tempfile.gettempdir(), "orrery-clients-server.log") if request.session.testsfailed else None)
        if kept:
            shutil.copyfile(log_path, kept)
            print(f"\nOrrery server log kept in {kept}")
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def new_user(orrery):
    """Factory: a fresh user (unique name) with a token, as (name, token)."""
    return orrery.new_user


class TrackedGateway(Gateway):
    """A Gateway that remembers the clusters it created, so the test's teardown can stop them."""

    def __init__(self, address, token, user, registry):
        super().__init__(address, token, user)
        self.created = []
        self._registry = registry

    def create(self, **options):
        name = super().create(**options)
        self.created.append(name)
        self._registry.append((name, self))
        return name


def _gateway_for(orrery):
    user, token = orrery.new_user()
    gateway = TrackedGateway(orrery.gateway_address, token, user, orrery.clusters)
    yield gateway
    # Runs even when the test failed: DELETE every cluster it made, then wait until each has really stopped.
    problems = []
    for name in gateway.created:
        try:
            gateway.stop(name)
        except Exception as e:  # keep stopping the others
            problems.append(f"DELETE {name}: {e}")
    for name in gateway.created:
        try:
            gateway.wait_status(name, ("STOPPED", "FAILED"), timeout=STOP_WAIT)
        except Exception as e:
            problems.append(f"{name}: {e}")
    if problems:
        pytest.fail("cluster clean-up failed:\n" + "\n".join(problems))


@pytest.fixture
def gateway(orrery):
    """A Gateway for a fresh user; every cluster it creates is stopped after the test, even on failure."""
    yield from _gateway_for(orrery)


@pytest.fixture
def other_gateway(orrery):
    """A second, unrelated user's Gateway (for the 403 checks)."""
    yield from _gateway_for(orrery)


@pytest.fixture
def connect(gateway):
    """Factory: a distributed.Client on one of `gateway`'s RUNNING clusters; closed before the clusters are stopped."""
    clients = []

    def _connect(name, report=None):
        client = gateway.connect(name, report)
        clients.append(client)
        return client

    yield _connect
    for client in clients:
        try:
            client.close(timeout=10)
        except Exception:
            pass


@pytest.fixture(autouse=True)
def _server_log_mark(request, orrery):
    request.node.stash[_LOG_OFFSET] = orrery.log_size()
    request.node.stash[_SERVER] = orrery


_LOG_OFFSET = pytest.StashKey[int]()
_SERVER = pytest.StashKey[OrreryServer]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _SERVER in item.stash:
        server = item.stash[_SERVER]
        report.sections.append((f"Orrery server log during this test ({server.log_path})", server.log_since(item.stash[_LOG_OFFSET])))


def pytest_configure(config):
    # Debian's tornado 6.2 under distributed 2022.12.1: noise, not a finding.
    config.addinivalue_line("filterwarnings", "ignore:make_current is deprecated:DeprecationWarning")
