"""Orrery's dask-gateway service end to end, with real dask: the HTTP API (protocol spec §3), the SNI scheduler
proxy (§5.1), the dashboard proxy and the preload-free scaling and adaptivity (§7).

Every wait is bounded; nothing asserts on how long something took.
"""
import operator
import os
import time

import dask.array as da
import pytest
from distributed import wait as wait_futures

from conftest import dask_processes
from orrery_gateway import GatewayError

REPORT_KEYS = {"name", "dashboard_route", "status", "start_time", "stop_time", "options", "tls_cert", "tls_key"}
SPEC_KEYS = {
    "int": {"type", "min", "max"},
    "float": {"type", "min", "max"},
    "string": {"type"},
    "bool": {"type"},
    "select": {"type", "options"},
    "mapping": {"type"},
}
LIMIT = 5  # Orrery__Gateway__Limits__MaxWorkersPerCluster in conftest
START_WAIT = 90  # a cluster reaching RUNNING, or workers joining or leaving
PLAUSIBLE_MS = 1_500_000_000_000  # 2017 in ms since the epoch: a seconds value would be far below


def wait_for(probe, done, timeout, what, interval=0.5):
    """Calls probe() until done(value); returns the last value, or fails naming the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not reached within {timeout} s (last seen: {value!r})")
        time.sleep(interval)


def worker_count(client):
    return len(client.scheduler_info()["workers"])


def wait_workers(client, done, what, timeout=START_WAIT):
    return wait_for(lambda: worker_count(client), done, timeout, what)


def new_running_cluster(gateway, **options):
    name = gateway.create(**options)
    return name, gateway.wait_running(name, timeout=START_WAIT)


def gateway_error(call, *args, **kwargs):
    with pytest.raises(GatewayError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_options_spec_has_exactly_the_client_keys(gateway):
    status, _, headers = gateway.http("GET", "/api/v1/options")
    assert status == 401 and headers.get_all("WWW-Authenticate"), "a bare request must get the 401 challenge"

    status, _, headers = gateway.http("GET", "/api/v1/options", {"Authorization": f"jupyterhub {gateway.token}"})
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    fields = gateway.options()
    assert isinstance(fields, list) and fields
    names = [f["field"] for f in fields]
    assert len(set(names)) == len(names), names
    assert "environment" in names
    for f in fields:
        assert set(f) == {"field", "label", "default", "spec"}, f
        assert isinstance(f["field"], str) and f["field"], f
        assert f["label"] is None or isinstance(f["label"], str), f
        kind = f["spec"].get("type")
        assert kind in SPEC_KEYS, f
        assert set(f["spec"]) == SPEC_KEYS[kind], f
        default = f["default"]
        if kind in ("int", "float"):
            assert isinstance(default, (int, float)) and not isinstance(default, bool), f
            if kind == "int":
                assert isinstance(default, int), f
            for bound in ("min", "max"):
                assert f["spec"][bound] is None or isinstance(f["spec"][bound], (int, float)), f
            assert f["spec"]["min"] is None or default >= f["spec"]["min"], f
            assert f["spec"]["max"] is None or default <= f["spec"]["max"], f
        elif kind == "string":
            assert isinstance(default, str), f
        elif kind == "bool":
            assert isinstance(default, bool), f
        elif kind == "select":
            assert f["spec"]["options"] and all(isinstance(o, str) for o in f["spec"]["options"]), f
            assert default in f["spec"]["options"], f
        else:
            assert isinstance(default, dict), f
    assert next(f for f in fields if f["field"] == "environment")["spec"]["type"] == "mapping"


def test_create_report_compute_and_environment(gateway, connect):
    fields = {f["field"]: f["default"] for f in gateway.options()}
    name, report = new_running_cluster(gateway, environment={"FOO": "bar"})

    assert set(report) == REPORT_KEYS, report.keys()
    assert report["name"] == name
    assert report["status"] == "RUNNING"
    assert report["dashboard_route"] == f"/clusters/{name}/status"
    assert isinstance(report["start_time"], int) and report["start_time"] > PLAUSIBLE_MS
    assert report["stop_time"] is None
    assert report["options"] == dict(fields, environment={"FOO": "bar"}), "validated options with defaults filled in"
    assert report["tls_cert"].startswith("-----BEGIN CERTIFICATE-----")
    assert report["tls_key"].startswith("-----BEGIN PRIVATE KEY-----")
    listed = gateway.list()
    assert list(listed) == [name] and set(listed[name]) == REPORT_KEYS and listed[name]["status"] == "RUNNING"

    client = connect(name, report)  # TLS with SNI daskgateway-<name> through Orrery's own port
    assert worker_count(client) == 0
    assert gateway.scale(name, 2) == {"ok": True, "msg": None}
    wait_workers(client, lambda n: n == 2, "2 workers after scale(2)")

    assert da.arange(10_000, chunks=1_000).sum().compute() == sum(range(10_000))
    assert (da.ones((400, 400), chunks=100) * 2).sum().compute() == 320_000
    assert client.submit(operator.add, 41, 1).result(timeout=60) == 42
    squares = client.map(lambda v: v * v, range(20))
    assert client.gather(squares) == [v * v for v in range(20)]

    # A lambda, not os.environ.get itself: that bound method would be pickled with the client's os.environ.
    seen = client.run(lambda: os.environ.get("FOO"))
    assert len(seen) == 2 and set(seen.values()) == {"bar"}, seen


def test_scale_up_down_and_resource_limit(gateway, connect):
    name, report = new_running_cluster(gateway)
    client = connect(name, report)
    assert worker_count(client) == 0

    assert gateway.scale(name, 3) == {"ok": True, "msg": None}
    wait_workers(client, lambda n: n == 3, "3 workers after scale(3)")
    assert gateway.scale(name, 1) == {"ok": True, "msg": None}
    wait_workers(client, lambda n: n == 1, "1 worker after scale(1)")

    assert gateway.scale(name, 7) == {
        "ok": False,
        "msg": f"Scale request of 7 workers would exceed resource limit of {LIMIT} workers. Scaling to {LIMIT} instead.",
    }
    wait_workers(client, lambda n: n == LIMIT, f"{LIMIT} workers after the clamped scale(7)")
    for _ in range(6):  # and no more than that
        assert worker_count(client) <= LIMIT
        time.sleep(0.5)
    assert gateway.report(name)["status"] == "RUNNING"


def test_adapt_grows_under_load_and_shrinks_when_idle(gateway, connect):
    name, report = new_running_cluster(gateway)
    client = connect(name, report)
    assert gateway.adapt(name, minimum=0, maximum=4) == {"ok": True, "msg": None}

    def slow(i):
        time.sleep(1)
        return i

    futures = client.map(slow, range(40), pure=False)
    grown = wait_workers(client, lambda n: n > 1, "adaptive scale-up above 1 worker under 40 one-second tasks")
    peak = grown
    deadline = time.monotonic() + 120
    while not all(f.done() for f in futures):
        assert time.monotonic() < deadline, f"40 tasks not done within 120 s ({sum(f.done() for f in futures)} done)"
        peak = max(peak, worker_count(client))
        time.sleep(0.5)
    wait_futures(futures, timeout=30)
    assert client.gather(futures) == list(range(40))
    assert 1 < peak <= 4, f"peak of {peak} workers, adapt maximum is 4"

    del futures  # released: a worker holding the only copy of a result is never retired
    wait_workers(client, lambda n: n == 0, "adaptive scale-down to 0 once idle", timeout=60)
    assert gateway.report(name)["status"] == "RUNNING"


def test_adapt_is_clamped_to_the_limit_and_ended_by_scale(gateway, connect):
    name, report = new_running_cluster(gateway)
    client = connect(name, report)
    assert gateway.adapt(name, minimum=0, maximum=8) == {
        "ok": False,
        "msg": f"Adapt with `maximum=8, minimum=0` workers would exceed resource limit of {LIMIT} workers. "
        f"Using `maximum={LIMIT}, minimum=0` instead.",
    }
    # An explicit scale ends adaptive mode: idle, adaptivity would take this worker away again within a few periods.
    assert gateway.scale(name, 1) == {"ok": True, "msg": None}
    wait_workers(client, lambda n: n == 1, "1 worker after scale(1) in adaptive mode")
    for _ in range(10):  # 5 s = 5 adaptive periods
        assert worker_count(client) == 1, "scale(1) did not end adaptive mode"
        time.sleep(0.5)
    assert gateway.adapt(name, active=False) == {"ok": True, "msg": None}


def test_dashboard_route(gateway, other_gateway):
    name, report = new_running_cluster(gateway)
    base = f"/clusters/{name}"
    mine = {"Authorization": f"token {gateway.token}"}

    status, body, _ = gateway.http("GET", base + "/health", mine)
    assert (status, body.strip()) == (200, b"ok")
    status, _, headers = gateway.http("GET", report["dashboard_route"], mine)
    assert status == 200 and headers["Content-Type"].startswith("text/html")

    # The scheduler's unauthenticated HTTP API (it can retire workers) must not be reachable.
    status, body, _ = gateway.http("GET", base + "/api/v1/get_workers", mine)
    assert status == 404 and b"num_workers" not in body
    for variant in ("/API/v1/get_workers", "/%61pi/v1/get_workers", "//api/v1/get_workers", "/status/../api/v1/get_workers"):
        status, body, _ = gateway.http("GET", base + variant, mine)
        assert status != 200 and b"num_workers" not in body, (variant, status, body[:200])
    status, body, _ = gateway.http("POST", base + "/api/v1/retire_workers", mine)
    assert status == 404, (status, body[:200])

    status, _, _ = gateway.http("GET", base + "/health", {"Authorization": f"token {other_gateway.token}"})
    assert status == 403
    status, _, headers = gateway.http("GET", base + "/health")
    assert status in (302, 303, 307) and "login" in headers["Location"], (status, dict(headers))


def test_errors_stop_and_no_process_left(orrery, gateway, other_gateway):
    error = gateway_error(gateway.create, not_an_option=1)
    assert error.status == 422 and "Unknown fields" in error.message and "not_an_option" in error.message, error
    error = gateway_error(gateway.create, worker_cores="two")
    assert error.status == 422 and "worker_cores" in error.message, error
    error = gateway_error(gateway.report, "0" * 32)
    assert error.status == 404, error
    assert gateway_error(gateway.scale, "0" * 32, 1).status == 404

    name, _ = new_running_cluster(gateway)
    assert gateway_error(other_gateway.report, name).status == 403
    assert gateway_error(other_gateway.scale, name, 1).status == 403
    assert gateway_error(other_gateway.adapt, name, 0, 1).status == 403
    assert gateway_error(other_gateway.stop, name).status == 403
    assert name not in other_gateway.list()
    assert gateway.report(name)["status"] == "RUNNING", "another user's DELETE must not stop it"
    assert gateway_error(gateway.scale, name, -1).status == 422
    assert gateway_error(gateway.request, "POST", f"/api/v1/clusters/{name}/scale", {"count": "x"}).status == 422

    assert gateway.scale(name, 1) == {"ok": True, "msg": None}
    assert gateway.stop(name) == 204
    report = gateway.wait_status(name, ("STOPPED", "FAILED"), timeout=60)
    assert set(report) == REPORT_KEYS, report.keys()
    assert report["status"] == "STOPPED", report
    assert isinstance(report["stop_time"], int) and report["stop_time"] >= report["start_time"] > PLAUSIBLE_MS
    assert report["tls_cert"] is None and report["tls_key"] is None and report["dashboard_route"] is None

    error = gateway_error(gateway.scale, name, 2)
    assert error.status == 409, error
    assert gateway_error(gateway.adapt, name, 0, 2).status == 409
    assert gateway.stop(name) == 204, "DELETE is idempotent"
    assert gateway.stop("0" * 32) == 204, "DELETE of an unknown cluster is 204 too"
    assert name not in gateway.list()
    assert gateway.list("STOPPED")[name]["status"] == "STOPPED"

    assert dask_processes(name) == [], "STOPPED, yet processes of the cluster are left"
    if orrery.data_dir:
        assert not os.path.exists(os.path.join(orrery.data_dir, "clusters", name)), "work dir left after STOPPED"


def test_zz_every_cluster_stopped_and_no_process_left(orrery):
    """Runs last: each cluster the tests created is STOPPED and none of its processes or work dirs is left."""
    if not orrery.clusters:
        pytest.skip("no cluster was created in this session")
    statuses = {name: owner.report(name)["status"] for name, owner in orrery.clusters}
    assert set(statuses.values()) <= {"STOPPED"}, statuses
    left = wait_for(lambda: [p for name, _ in orrery.clusters for p in dask_processes(name)], lambda found: not found, 10,
                    "no process of a stopped cluster")
    assert left == []
    if orrery.data_dir:
        clusters_dir = os.path.join(orrery.data_dir, "clusters")
        left_dirs = [name for name, _ in orrery.clusters if os.path.exists(os.path.join(clusters_dir, name))]
        assert left_dirs == [], "work dirs left"
