"""A small client for Orrery's dask-gateway API and its SNI scheduler proxy, for the project's own tests.

The real `dask_gateway` client is not packaged in Debian, so this speaks the same wire protocol itself:
HTTP with an Orrery token, and a distributed `Security` that opens TLS with SNI `daskgateway-<name>`,
trusting only the cluster's certificate and presenting it as the client certificate.
"""
import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import weakref

from distributed.security import Security


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 3xx itself is the answer


_NO_REDIRECTS = urllib.request.build_opener(_KeepRedirects)


class GatewayError(Exception):
    def __init__(self, status, message):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class Gateway:
    def __init__(self, address, token, user=None, proxy_address=None):
        self.address = address.rstrip("/")
        self.token = token
        self.user = user
        self.proxy_address = proxy_address

    @classmethod
    def from_environment(cls):
        """What `dask_gateway.Gateway()` with no arguments reads inside an Orrery server (dask config `gateway.*`).

        DASK_GATEWAY__ADDRESS, DASK_GATEWAY__PROXY_ADDRESS (`gateway://host:port`), and with
        DASK_GATEWAY__AUTH__TYPE=jupyterhub the token in JUPYTERHUB_API_TOKEN.
        """
        if os.environ.get("DASK_GATEWAY__AUTH__TYPE") != "jupyterhub":
            raise RuntimeError("DASK_GATEWAY__AUTH__TYPE is not jupyterhub")
        proxy = os.environ.get("DASK_GATEWAY__PROXY_ADDRESS")
        return cls(os.environ["DASK_GATEWAY__ADDRESS"], os.environ["JUPYTERHUB_API_TOKEN"],
                   proxy_address=proxy and "tls://" + proxy.split("://", 1)[-1])

    def request(self, method, path, body=None, auth=True):
        """JSON in, JSON out; an error status raises GatewayError with the `error` message of the body."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.address + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if auth:
            request.add_header("Authorization", f"jupyterhub {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
                return response.status, (json.loads(raw) if raw else None), response.headers
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                message = json.loads(raw)["error"]
            except (ValueError, KeyError, TypeError):
                message = raw.decode(errors="replace")
            raise GatewayError(error.code, message) from None

    def http(self, method, path, headers=None, timeout=60):
        """Any request, never raising on a status nor following redirects: (status, body bytes, headers).
        No credentials unless given in `headers`."""
        request = urllib.request.Request(self.address + path, method=method, headers=headers or {})
        try:
            with _NO_REDIRECTS.open(request, timeout=timeout) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers

    def options(self):
        return self.request("GET", "/api/v1/options")[1]["cluster_options"]

    def create(self, **options):
        return self.request("POST", "/api/v1/clusters/", {"cluster_options": options})[1]["name"]

    def report(self, name, wait=False):
        return self.request("GET", f"/api/v1/clusters/{name}" + ("?wait" if wait else ""))[1]

    def wait_running(self, name, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            report = self.report(name, wait=True)
            if report["status"] == "RUNNING":
                return report
            if report["status"] in ("FAILED", "STOPPED"):
                raise GatewayError(409, f"cluster {name} is {report['status']}")
            time.sleep(0.5)
        raise TimeoutError(f"cluster {name} not running after {timeout} s")

    def wait_status(self, name, statuses=("STOPPED", "FAILED"), timeout=60):
        """Polls the report until its status is one of `statuses`; returns it, or raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            report = self.report(name)
            if report["status"] in statuses:
                return report
            if time.monotonic() > deadline:
                raise TimeoutError(f"cluster {name} still {report['status']} after {timeout} s, wanted {statuses}")
            time.sleep(0.25)

    def connect(self, name, report=None, timeout=30):
        """A distributed.Client on the RUNNING cluster, through the SNI proxy on the gateway's own port."""
        from distributed import Client

        report = report or self.report(name)
        security = SniSecurity(report["tls_cert"], report["tls_key"], name)
        address = self.proxy_address or scheduler_address(self.address)
        return Client(address, security=security, timeout=timeout)

    def scale(self, name, count):
        return self.request("POST", f"/api/v1/clusters/{name}/scale", {"count": count})[1]

    def adapt(self, name, minimum=None, maximum=None, active=True):
        body = {"minimum": minimum, "maximum": maximum, "active": active}
        return self.request("POST", f"/api/v1/clusters/{name}/adapt", body)[1]

    def stop(self, name):
        return self.request("DELETE", f"/api/v1/clusters/{name}")[0]

    def list(self, status=None):
        query = f"?status={status}" if status else ""
        return self.request("GET", f"/api/v1/clusters/{query}")[1]


class SniSecurity(Security):
    """TLS to the scheduler through the proxy: the cluster cert is CA, client cert and key; SNI names the cluster."""

    def __init__(self, cert_pem, key_pem, cluster_name):
        self._dir = tempfile.mkdtemp(prefix="orrery-tls-")
        weakref.finalize(self, shutil.rmtree, self._dir, True)  # the files are read on every connection, so kept until then
        cert = os.path.join(self._dir, "dask.crt")
        key = os.path.join(self._dir, "dask.pem")
        with open(cert, "w") as f:
            f.write(cert_pem)
        with open(key, "w") as f:
            f.write(key_pem)
        super().__init__(tls_ca_file=cert, tls_client_cert=cert, tls_client_key=key, require_encryption=True)
        self._sni = "daskgateway-" + cluster_name

    def get_connection_args(self, role):
        args = super().get_connection_args(role)
        context = args["ssl_context"]
        context.check_hostname = False  # upstream's client does not compare the SAN with the SNI either
        args["server_hostname"] = self._sni
        return args


def scheduler_address(gateway_address):
    """tls://host:port of Orrery's public port: scheduler traffic shares it with HTTP."""
    from urllib.parse import urlparse

    url = urlparse(gateway_address)
    return f"tls://{url.hostname}:{url.port or (443 if url.scheme == 'https' else 80)}"
