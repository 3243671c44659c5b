"""Orrery's kbatch service driven the way the kbatch CLI (0.5.0a1, kbatch/_core.py and cli.py) drives it.

The CLI itself is not installable here (no PyPI; Debian has no kbatch), so `KbatchCli` below does what its commands
do on the wire, with the standard library in place of httpx: the same URLs (`urljoin` on a base with a trailing
`/`), query strings (`?job_name=`, `?stream=true`), headers (`Authorization: token <T>`), bodies (`V1Job.to_dict()`:
snake_case, every key present, nulls included; code zipped the CLI's way and base64'd) and the same reading of the
answers: `kbatch-proxy error <status>: <detail>` for an error, one printed line per HTTP chunk for a streamed log,
and the `job list` table's status and duration derived by a port of `_core.job_status` and `_core.duration`.
Protocol notes: /work/shared/protocols/kbatch.md, §2, §3 and §5.

bench/jobs.py imports `KbatchCli` and the table helpers from here; keep that part free of pytest.
Every wait is bounded; nothing asserts on how long something took, beyond "the stream was not one lump".
"""
import base64
import datetime
import gzip
import http.client
import json
import pathlib
import re
import secrets
import shutil
import socket
import tempfile
import time
import urllib.parse
import zipfile
import zlib

USER_AGENT = "python-httpx/0.23.3"  # what the Debian-packaged CLI sends
TIMEOUT = 5.0  # httpx's default, on every call but logs
READ_TIMEOUT = 60.0  # --read-timeout's default, for logs


# ---- what the CLI sends ------------------------------------------------------------------------------------------

def _object_meta(**values):
    """V1ObjectMeta.to_dict() of python3-kubernetes 22.6 (the CLI's models): every key, None unless given."""
    meta = dict.fromkeys(["annotations", "cluster_name", "creation_timestamp", "deletion_grace_period_seconds",
                          "deletion_timestamp", "finalizers", "generate_name", "generation", "labels",
                          "managed_fields", "name", "namespace", "owner_references", "resource_version",
                          "self_link", "uid"])
    meta.update(values)
    return meta


_CONTAINER_KEYS = ["args", "command", "env", "env_from", "image", "image_pull_policy", "lifecycle", "liveness_probe",
                   "name", "ports", "readiness_probe", "resources", "security_context", "startup_probe", "stdin",
                   "stdin_once", "termination_message_path", "termination_message_policy", "tty", "volume_devices",
                   "volume_mounts", "working_dir"]
_POD_SPEC_KEYS = ["active_deadline_seconds", "affinity", "automount_service_account_token", "containers", "dns_config",
                  "dns_policy", "enable_service_links", "ephemeral_containers", "host_aliases", "host_ipc",
                  "host_network", "host_pid", "hostname", "image_pull_secrets", "init_containers", "node_name",
                  "node_selector", "overhead", "preemption_policy", "priority", "priority_class_name",
                  "readiness_gates", "restart_policy", "runtime_class_name", "scheduler_name", "security_context",
                  "service_account", "service_account_name", "set_hostname_as_fqdn", "share_process_namespace",
                  "subdomain", "termination_grace_period_seconds", "tolerations", "topology_spread_constraints",
                  "volumes"]
_JOB_SPEC_KEYS = ["active_deadline_seconds", "backoff_limit", "completion_mode", "completions", "manual_selector",
                  "parallelism", "selector", "suspend", "template", "ttl_seconds_after_finished"]


def _generate_name(name, schedule=None):
    """_backend._make_job_name: a '-' unless the name ends with one, then 'cron-' for a cron job."""
    generate = name if name.endswith("-") else name + "-"
    return generate + "cron-" if schedule else generate


def _job_spec(job):
    """_backend._make_job_spec without a profile: one container `job` in /code, backoff 0, TTL 300."""
    if not job.get("image"):
        raise TypeError("Must specify 'image', either with `--image` or from the profile.")
    env = job.get("env") or {}
    container = dict.fromkeys(_CONTAINER_KEYS)
    container.update(
        args=job.get("args"), command=job.get("command"), image=job["image"], name="job",
        env=[{"name": k, "value": v, "value_from": None} for k, v in env.items()] or None,
        resources={"limits": {}, "requests": {}}, working_dir="/code")
    pod_spec = dict.fromkeys(_POD_SPEC_KEYS)
    pod_spec.update(containers=[container], restart_policy="Never")
    spec = dict.fromkeys(_JOB_SPEC_KEYS)
    spec.update(backoff_limit=0, ttl_seconds_after_finished=300, template={
        "metadata": _object_meta(name=f"{job['name']}-pod", labels={}, annotations={}), "spec": pod_spec})
    return spec


def make_job(job):
    """`kbatch job submit -f job.yaml`'s `job`: make_job(Job(**yaml)).to_dict(). `job` is the YAML as a dict."""
    return {"api_version": "batch/v1", "kind": "Job",
            "metadata": _object_meta(generate_name=_generate_name(job["name"]), labels={}, annotations={}),
            "spec": _job_spec(job), "status": None}


def make_cronjob(job):
    """`kbatch cronjob submit`'s `job`: make_cronjob(CronJob(**yaml)).to_dict(); the CLI shares one metadata."""
    metadata = _object_meta(generate_name=_generate_name(job["name"], job["schedule"]), labels={}, annotations={})
    spec = dict.fromkeys(["concurrency_policy", "failed_jobs_history_limit", "job_template", "schedule",
                          "starting_deadline_seconds", "successful_jobs_history_limit", "suspend"])
    spec.update(schedule=job["schedule"], starting_deadline_seconds=300,
                job_template={"metadata": dict(metadata), "spec": _job_spec(job)})
    return {"api_version": "batch/v1", "kind": "CronJob", "metadata": metadata, "spec": spec, "status": None}


def zip_code(code):
    """_backend.make_configmap's zip: a directory's contents relative to it (with `sub/` entries, deflated, by
    shutil.make_archive), or a single file under its basename, stored."""
    code = pathlib.Path(code)
    with tempfile.TemporaryDirectory() as d:
        p = pathlib.Path(d) / "code"
        zp = p.with_suffix(".zip")
        if code.is_dir():
            shutil.make_archive(str(p), "zip", str(code))
        else:
            with zipfile.ZipFile(zp, mode="w") as zf:
                zf.write(str(code), code.name)
        return zp.read_bytes()


def make_code(code, name):
    """The body's `code`: V1ConfigMap.to_dict() with generate_name = the raw name and the zip base64'd."""
    return {"api_version": "v1", "binary_data": {"code": base64.b64encode(zip_code(code)).decode("ascii")},
            "data": None, "immutable": None, "kind": "ConfigMap", "metadata": _object_meta(generate_name=name)}


# ---- what the CLI shows ------------------------------------------------------------------------------------------

def job_status(job):
    """_core.job_status, verbatim (rich markup included): KeyError on a missing count, ValueError when all are 0."""
    status = job["status"]
    succeeded = status["succeeded"] or 0
    failed = status["failed"] or 0
    ready = status["ready"] or 0
    active = status["active"] or 0
    if failed:
        return "[red]failed[/red]"
    elif ready:
        return "[bold]running[/bold]"
    elif active:
        return "pending"
    elif succeeded:
        return "[green]done[/green]"
    else:
        raise ValueError()


def duration(job):
    """_core.duration, verbatim."""
    start_time = datetime.datetime.fromisoformat(job["status"]["start_time"])
    end_time = None
    if job["status"]["succeeded"]:
        end_time = datetime.datetime.fromisoformat(job["status"]["completion_time"])
    elif job["status"]["failed"]:
        end_time = None
        for condition in job["status"]["conditions"]:
            if condition["type"] == "Failed":
                end_time = datetime.datetime.fromisoformat(condition["last_transition_time"])
                break
    else:
        end_time = datetime.datetime.now(tz=datetime.timezone.utc)
    if end_time:
        duration = end_time - start_time
        duration = duration - datetime.timedelta(microseconds=duration.microseconds)
        return str(duration)
    else:
        return "-"


def plain(markup):
    """What rich prints for the CLI's simple markup."""
    return re.sub(r"\[/?[a-z ]+\]", "", markup)


def render_table(title, columns, rows):
    """A table in the layout rich prints when piped (box characters, no colour)."""
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    line = lambda cells, bar: bar + bar.join(f" {c.ljust(w)} " for c, w in zip(cells, widths)) + bar
    return "\n".join([title.center(sum(widths) + 3 * len(widths) + 1), line(columns, "┃")]
                     + [line(r, "│") for r in rows])


def format_jobs(data):
    """_core.format_jobs: rows sorted by creation_timestamp as strings; (job name, submitted, status, duration)."""
    return [(job["metadata"]["name"], job["metadata"]["creation_timestamp"], plain(job_status(job)), duration(job))
            for job in sorted(data["items"], key=lambda job: job["metadata"]["creation_timestamp"])]


def format_cronjobs(data):
    return [(row["metadata"]["name"], row["metadata"]["creation_timestamp"], row["spec"]["schedule"])
            for row in data["items"]]


def format_pods(data):
    return [(row["metadata"]["name"], row["metadata"]["creation_timestamp"], row["status"]["phase"])
            for row in data["items"]]


# ---- the wire ----------------------------------------------------------------------------------------------------

class KbatchError(Exception):
    """An HTTPStatusError as cli._render_http_error prints it: `kbatch-proxy error <status>: <detail or body>`."""

    def __init__(self, status, body):
        try:
            message = json.loads(body)["detail"]
        except (ValueError, KeyError, TypeError):
            message = body.decode(errors="replace")
        super().__init__(f"kbatch-proxy error {status}: {message}")
        self.status = status
        self.detail = message


def chunked_stream(url, headers, timeout=READ_TIMEOUT, connect_timeout=TIMEOUT):
    """GET `url` over a plain socket and yield (status, headers) first, then (chunk bytes, time.time() of its
    arrival) for every HTTP chunk, exactly as framed on the wire — what httpx's iter_text hands the CLI, one
    `print` each. A body that is not chunked is yielded as it arrives."""
    parts = urllib.parse.urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=connect_timeout)
    sock.settimeout(timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}", "Accept: */*",
                 "Accept-Encoding: gzip, deflate, br", "Connection: keep-alive", f"User-Agent: {USER_AGENT}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        f = sock.makefile("rb")
        status = int(f.readline().split()[1])
        received = {}
        while (line := f.readline()) not in (b"\r\n", b"\n", b""):
            key, _, value = line.decode("latin-1").partition(":")
            received[key.strip().lower()] = value.strip()
        yield status, received
        if "chunked" in received.get("transfer-encoding", "").lower():
            while True:
                size_line = f.readline()
                if not size_line:
                    raise ConnectionError("the stream ended without its last chunk")
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    while f.readline() not in (b"\r\n", b"\n", b""):  # trailers
                        pass
                    return
                data = f.read(size)
                arrived = time.time()
                f.read(2)  # CRLF
                yield data, arrived
        else:
            left = int(received.get("content-length", -1))
            while left != 0:
                data = f.read1(65536 if left < 0 else min(left, 65536))
                if not data:
                    return
                left -= len(data) if left > 0 else 0
                yield data, time.time()
    finally:
        sock.close()


class KbatchCli:
    """The kbatch CLI's commands as HTTP calls, with `--kbatch-url` and `--token` given (§2, §3.2)."""

    def __init__(self, kbatch_url, token):
        self.base = kbatch_url if kbatch_url.endswith("/") else kbatch_url + "/"  # _core.handle_url
        self.token = token
        self.requests = []  # (method, request target) of every call, for asserting the request lines

    def url(self, path, params=None):
        url = urllib.parse.urljoin(self.base, path)
        if params:  # httpx: None -> "", True -> "true"
            url += "?" + urllib.parse.urlencode(
                {k: "" if v is None else str(v).lower() if isinstance(v, bool) else v for k, v in params.items()})
        return url

    def _headers(self, auth=True):
        return {"Authorization": f"token {self.token}"} if auth else {}

    def http(self, method, path, params=None, body=None, auth=True, timeout=TIMEOUT):
        """(status, headers, body bytes) of one request on a fresh connection, as each CLI command makes one."""
        url = self.url(path, params)
        parts = urllib.parse.urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        self.requests.append((method, target))
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        try:
            headers = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate, br", "User-Agent": USER_AGENT,
                       **self._headers(auth)}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            connection.request(method, target, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            encoding = (response.getheader("Content-Encoding") or "").lower()
            if encoding == "gzip":
                raw = gzip.decompress(raw)
            elif encoding == "deflate":
                raw = zlib.decompress(raw)
            elif encoding:
                raise AssertionError(f"{method} {target}: unexpected Content-Encoding {encoding}")
            return response.status, response.headers, raw
        finally:
            connection.close()

    def call(self, method, path, params=None, body=None, auth=True, timeout=TIMEOUT):
        """The CLI's `r.raise_for_status(); r.json()` (or `.text` for logs)."""
        status, headers, raw = self.http(method, path, params, body, auth, timeout)
        if not 200 <= status < 300:
            raise KbatchError(status, raw)
        return headers, raw

    def json(self, method, path, params=None, body=None, auth=True):
        return json.loads(self.call(method, path, params, body, auth)[1])

    # kbatch job ...
    def job_submit(self, job, output="name"):
        """`kbatch job submit -f <job as YAML>`: prints metadata.name (-o name) or the whole answer (-o json)."""
        body = {"job": make_job(job)}
        if job.get("code"):
            body["code"] = make_code(job["code"], job["name"])
        created = self.json("POST", "jobs/", body=body)
        return created["metadata"]["name"] if output == "name" else created

    def job_list(self):
        return self.json("GET", "jobs/")

    def job_show(self, name):
        return self.json("GET", f"jobs/{name}")

    def job_delete(self, name):
        return self.json("DELETE", f"jobs/{name}")

    def job_logs(self, name):
        return self.call("GET", f"jobs/logs/{name}/", timeout=READ_TIMEOUT)[1].decode()

    # kbatch cronjob ...
    def cronjob_submit(self, job, output="name"):
        body = {"job": make_cronjob(job)}
        if job.get("code"):
            body["code"] = make_code(job["code"], job["name"])
        created = self.json("POST", "cronjobs/", body=body)
        return created["metadata"]["name"] if output == "name" else created

    def cronjob_list(self):
        return self.json("GET", "cronjobs/")

    def cronjob_show(self, name):
        return self.json("GET", f"cronjobs/{name}")

    def cronjob_delete(self, name):
        return self.json("DELETE", f"cronjobs/{name}")

    # kbatch pod ...
    def pod_list(self, job_name=None):
        """`kbatch pod list [--job-name J]`: always `?job_name=`, empty without the option."""
        return self.json("GET", "pods/", params={"job_name": job_name})

    def pod_names(self, job_name=None):
        """`kbatch pod list --job-name J --output=name`: the names, as printed (joined with newlines)."""
        return "\n".join(item["metadata"]["name"] for item in self.pod_list(job_name)["items"])

    def pod_logs(self, pod):
        return self.call("GET", f"pods/logs/{pod}/", timeout=READ_TIMEOUT)[1].decode()

    def logs_stream(self, name, kind="pod", read_timeout=READ_TIMEOUT):
        """`kbatch pod|job logs NAME --stream`: yields (status, headers), then (chunk, arrival time) per chunk.
        The CLI never checks the status of a stream; it prints whatever comes."""
        url = self.url(f"{kind}s/logs/{name}/", {"stream": True})
        parts = urllib.parse.urlsplit(url)
        self.requests.append(("GET", parts.path + "?" + parts.query))
        return chunked_stream(url, self._headers(), timeout=read_timeout)


def print_stream(stream):
    """The CLI's loop `for line in result: print(line)`: each chunk, then a newline. Returns (status, headers,
    [(chunk text, arrival)], printed output)."""
    status, headers = next(stream)
    chunks = [(data.decode(), at) for data, at in stream]
    return status, headers, chunks, "".join(text + "\n" for text, _ in chunks)


# ---- the tests ---------------------------------------------------------------------------------------------------

try:
    import pytest
except ImportError:  # bench/jobs.py imports the part above without pytest
    pytest = None

if pytest is not None:
    JOB_WAIT = 60  # a job reaching an end state, a deleted object disappearing (§4.6: 30 s at most)
    NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

    def wait_for(probe, done, timeout, what, interval=0.2):
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if done(value):
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: not reached within {timeout} s (last seen: {value!r})")
            time.sleep(interval)

    def kbatch_error(call, *args):
        with pytest.raises(KbatchError) as caught:
            call(*args)
        return caught.value

    def wait_finished(kb, name):
        """Polls `job show` until succeeded or failed, as scripts around the CLI do."""
        return wait_for(lambda: kb.job_show(name), lambda j: (j["status"]["succeeded"] or 0) + (j["status"]["failed"] or 0) > 0,
                        JOB_WAIT, f"job {name} finished")

    def table_rows(kb):
        """`kbatch job list` (table): the derivation must not raise for any job in any state."""
        data = kb.job_list()
        assert data["kind"] == "JobList" and data["api_version"] == "batch/v1", data
        rows = format_jobs(data)
        print(render_table("Jobs", ["job name", "submitted", "status", "duration"], rows))
        return {row[0]: row for row in rows}

    @pytest.fixture
    def kb(orrery, new_user):
        """The CLI of a fresh user, with --kbatch-url and --token; deletes what the test left behind."""
        user, token = new_user()
        cli = KbatchCli(orrery.url + "/services/kbatch", token)
        cli.user = user
        yield cli
        for cron in cli.cronjob_list()["items"]:
            cli.cronjob_delete(cron["metadata"]["name"])
        for job in cli.job_list()["items"]:
            cli.job_delete(job["metadata"]["name"])

    @pytest.fixture
    def code_dir(tmp_path):
        """The streaming-logs example's code directory, plus a sourced helper in a subdirectory."""
        code = tmp_path / "streaming-logs"
        (code / "lib").mkdir(parents=True)
        (code / "lib" / "greet.sh").write_text('greet() { echo "hello from lib/greet.sh"; }\n')
        (code / "script.sh").write_text("\n".join([
            "set -e",
            'echo "cwd ends with $(basename "$PWD")"',
            ". ./lib/greet.sh",
            "greet",
            'echo "image=$JUPYTER_IMAGE spec=$JUPYTER_IMAGE_SPEC"',
            'if [ -n "$JUPYTERHUB_API_TOKEN" ]; then echo "hub token set"; fi',
            "echo",  # an empty line: no zero-length chunk can carry it, so the stream leaves it out (§3.5)
            "i=1",
            'while [ "$i" -le 20 ]; do echo "tick $i"; i=$((i + 1)); sleep 0.1; done',
            "echo all done",
            ""]))
        return code

    def test_submit_body_is_what_the_cli_sends(tmp_path):
        """The hand-built bodies against the real models the CLI uses, when python3-kubernetes is installed."""
        models = pytest.importorskip("kubernetes.client.models")
        job = {"name": "my-job", "image": "python:slim", "command": ["sh", "script.sh"], "env": {"A": "1", "B": "2"}}
        container = models.V1Container(args=None, command=job["command"], image=job["image"], name="job",
                                       env=[models.V1EnvVar(name=k, value=v) for k, v in job["env"].items()],
                                       resources=models.V1ResourceRequirements(limits={}, requests={}), working_dir="/code")
        spec = models.V1JobSpec(backoff_limit=0, ttl_seconds_after_finished=300, template=models.V1PodTemplateSpec(
            metadata=models.V1ObjectMeta(name="my-job-pod", labels={}, annotations={}),
            spec=models.V1PodSpec(containers=[container], restart_policy="Never")))
        meta = models.V1ObjectMeta(generate_name="my-job-", labels={}, annotations={})
        assert make_job(job) == models.V1Job(api_version="batch/v1", kind="Job", metadata=meta, spec=spec).to_dict()
        cron_meta = models.V1ObjectMeta(generate_name="my-job-cron-", labels={}, annotations={})
        cron = models.V1CronJob(api_version="batch/v1", kind="CronJob", metadata=cron_meta, spec=models.V1CronJobSpec(
            schedule="0 22 * * 1-5", starting_deadline_seconds=300,
            job_template=models.V1JobTemplateSpec(metadata=cron_meta, spec=spec)))
        assert make_cronjob(dict(job, schedule="0 22 * * 1-5")) == cron.to_dict()
        script = tmp_path / "s.sh"
        script.write_text("echo hi\n")
        expected = models.V1ConfigMap(api_version="v1", kind="ConfigMap", binary_data={"code": "x"},
                                      metadata=models.V1ObjectMeta(generate_name="my-job")).to_dict()
        got = make_code(script, "my-job")
        assert got == dict(expected, binary_data=got["binary_data"])
        with zipfile.ZipFile(__import__("io").BytesIO(base64.b64decode(got["binary_data"]["code"]))) as zf:
            assert [(i.filename, i.compress_type) for i in zf.infolist()] == [("s.sh", zipfile.ZIP_STORED)]

    def test_code_directory_zips_like_the_cli(code_dir):
        with zipfile.ZipFile(__import__("io").BytesIO(zip_code(code_dir))) as zf:
            entries = {i.filename: i.compress_type for i in zf.infolist()}
        assert entries == {"lib/": zipfile.ZIP_STORED, "lib/greet.sh": zipfile.ZIP_DEFLATED,
                           "script.sh": zipfile.ZIP_DEFLATED}, entries

    def test_streaming_logs_example(kb, code_dir):
        """Upstream's streaming-logs flow (§5.3): job submit -f config.yaml --output=name; pod list --job-name=<job>
        --output=name; pod logs <pod> --stream; then job list, job logs, job show, job delete."""
        secret = "sas-" + secrets.token_hex(12)
        name = kb.job_submit({"name": "streaming-logs", "image": "python:slim", "command": ["sh", "script.sh"],
                              "code": str(code_dir), "env": {"SAS_TOKEN": secret}})
        assert name.startswith("streaming-logs-") and len(name) == len("streaming-logs-") + 5 and NAME.match(name), name

        # Right after the submit, with no waiting: the job is listed and has its pod (§0 item 7).
        pods = kb.pod_names(name)
        assert kb.requests[-1] == ("GET", f"/services/kbatch/pods/?job_name={name}")
        assert pods and "\n" not in pods and pods.startswith(name + "-"), pods
        pod = pods
        assert name in table_rows(kb)

        status, headers, chunks, printed = print_stream(kb.logs_stream(pod))
        assert kb.requests[-1] == ("GET", f"/services/kbatch/pods/logs/{pod}/?stream=true")
        assert status == 200, printed
        assert "content-encoding" not in headers, headers
        assert "chunked" in headers.get("transfer-encoding", ""), headers
        texts = [text for text, _ in chunks]
        assert all("\n" not in t for t in texts), [t for t in texts if "\n" in t]
        assert all(t for t in texts), "a zero-length chunk ends a chunked body"
        expected = (["cwd ends with code", "hello from lib/greet.sh", "image=python:slim spec=python:slim", "hub token set"]
                    + [f"tick {i}" for i in range(1, 21)] + ["all done"])
        assert printed.splitlines() == expected, printed
        assert texts[-1] == "all done"
        ticks = [at for text, at in chunks if text.startswith("tick ")]
        assert ticks[-1] - ticks[0] > 1.0, "the lines arrived together: the stream is not flushed per line"

        job = wait_finished(kb, name)
        assert job["status"]["succeeded"] == 1 and not job["status"]["failed"], job["status"]
        row = table_rows(kb)[name]
        assert row[2] == "done" and re.fullmatch(r"0:00:\d\d", row[3]), row

        log = kb.job_logs(name)
        assert kb.requests[-1] == ("GET", f"/services/kbatch/jobs/logs/{name}/")
        assert log == "\n".join(expected[:4] + [""] + expected[4:]) + "\n", log
        assert kb.pod_logs(pod) == log

        shown = kb.job_show(name)
        assert shown["metadata"]["name"] == name and shown["kind"] == "Job"
        text = json.dumps(shown)
        assert secret not in text, "job show reveals an env value"
        env = shown["spec"]["template"]["spec"]["containers"][0]["env"]
        assert {e["name"] for e in env} >= {"SAS_TOKEN", "JUPYTER_IMAGE", "JUPYTER_IMAGE_SPEC", "JUPYTERHUB_API_TOKEN"}, env
        assert all(e["value"] is None and e["value_from"]["secret_key_ref"]["key"] == e["name"] for e in env), env
        assert kb.token not in text

        deleted = kb.job_delete(name)
        assert isinstance(deleted, dict)
        error = wait_for(lambda: _error_or_none(kb.job_show, name), lambda e: e is not None, JOB_WAIT, f"{name} gone")
        assert error.status == 404 and "not found" in error.detail, str(error)
        assert str(error) == f'kbatch-proxy error 404: jobs.batch "{name}" not found'
        wait_for(lambda: kb.pod_names(name), lambda names: names == "", JOB_WAIT, f"pods of {name} gone")
        assert name not in table_rows(kb)

    def _error_or_none(call, *args):
        try:
            call(*args)
            return None
        except KbatchError as e:
            return e

    def test_args_only_python_job_imports_from_a_subdirectory(kb, tmp_path):
        """Like dask-gateway-job.yaml: args only, `[python3, main.py]`, code a directory whose main.py imports a
        module from a package in a subdirectory; and a failing job beside it in the table."""
        code = tmp_path / "py-job"
        (code / "helpers").mkdir(parents=True)
        (code / "helpers" / "__init__.py").write_text("")
        (code / "helpers" / "maths.py").write_text("def triple(x):\n    return 3 * x\n")
        (code / "main.py").write_text(
            "import os, sys\nfrom helpers.maths import triple\n"
            "print('triple', triple(14))\nprint('argv', sys.argv)\nprint('cwd', os.path.basename(os.getcwd()))\n")
        name = kb.job_submit({"name": "py-job", "image": "python:3.11", "args": ["python3", "main.py"], "code": str(code)})
        failing = kb.job_submit({"name": "fail-me", "image": "alpine", "command": ["sh", "-c", "echo oops >&2; exit 3"]})
        table_rows(kb)  # pending or running: must not raise either

        assert wait_finished(kb, name)["status"]["succeeded"] == 1
        assert kb.job_logs(name) == "triple 42\nargv ['main.py']\ncwd code\n"
        failed = wait_finished(kb, failing)["status"]
        assert failed["failed"] == 1 and not failed["succeeded"], failed
        assert any(c["type"] == "Failed" for c in failed["conditions"]), failed
        rows = table_rows(kb)
        assert rows[name][2] == "done" and rows[failing][2] == "failed", rows
        assert re.fullmatch(r"\d+:\d\d:\d\d", rows[failing][3]), rows[failing]
        assert kb.job_logs(failing) == "oops\n"
        (pod,) = format_pods(kb.pod_list(failing))
        assert pod[2] == "Failed", pod

        # `kbatch pod list` without --job-name sends job_name= (empty): every pod of the user.
        everything = kb.pod_list()
        assert kb.requests[-1] == ("GET", "/services/kbatch/pods/?job_name=")
        owners = {p["metadata"]["labels"]["job-name"] for p in everything["items"]}
        assert owners == {name, failing}, owners

    def test_streaming_a_job_that_has_not_started_waits_for_it(kb):
        """`kbatch job logs <job> --stream` right after submit: Orrery waits for the process, then streams."""
        name = kb.job_submit({"name": "quick", "image": "alpine", "command": ["sh", "-c", "echo one; echo two"]})
        status, _, chunks, printed = print_stream(kb.logs_stream(name, kind="job"))
        assert status == 200 and printed == "one\ntwo\n", printed

    def test_cronjob_submit_list_delete(kb, tmp_path):
        """`kbatch cronjob submit … --schedule='0 22 * * 1-5'` (code: a single file), list, show, delete."""
        script = tmp_path / "nightly.sh"
        script.write_text("echo nightly\n")
        name = kb.cronjob_submit({"name": "nightly", "image": "alpine", "command": ["sh", "nightly.sh"],
                                  "code": str(script), "schedule": "0 22 * * 1-5", "env": {"TOKEN": "t0p"}})
        assert name.startswith("nightly-cron-") and NAME.match(name), name
        rows = format_cronjobs(kb.cronjob_list())
        print(render_table("CronJobs", ["cronjob name", "started", "schedule"], rows))
        assert [(r[0], r[2]) for r in rows] == [(name, "0 22 * * 1-5")], rows
        datetime.datetime.fromisoformat(rows[0][1])
        shown = kb.cronjob_show(name)
        assert shown["kind"] == "CronJob" and shown["spec"]["schedule"] == "0 22 * * 1-5", shown
        assert "t0p" not in json.dumps(shown)
        kb.cronjob_delete(name)
        assert kb.requests[-1] == ("DELETE", f"/services/kbatch/cronjobs/{name}")
        error = kbatch_error(kb.cronjob_show, name)
        assert error.status == 404 and "not found" in error.detail, str(error)
        assert kb.cronjob_list()["items"] == []

    def test_auth_and_errors_as_the_cli_sees_them(kb):
        """`kbatch configure` checks GET authorized; `profiles` sends no token; a token-less CLI sends `token None`."""
        assert kb.json("GET", "authorized")["name"] == kb.user
        assert isinstance(kb.json("GET", "profiles/", auth=False), dict)
        nobody = KbatchCli(kb.base, None)
        error = kbatch_error(nobody.job_list)
        assert str(error) == "kbatch-proxy error 401: Incorrect token"
        error = kbatch_error(kb.job_show, "no-such-job")
        assert str(error) == 'kbatch-proxy error 404: jobs.batch "no-such-job" not found'
        error = kbatch_error(kb.job_logs, "no-such-job")
        assert error.status == 404 and "not found" in error.detail, str(error)
