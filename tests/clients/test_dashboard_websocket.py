"""WebSockets through the dashboard proxy, against a real scheduler's dashboard server.

Debian has no bokeh, so the WebSocket used is distributed's own `eventstream` (a Tornado WebSocketHandler that
answers a "ping" with a "pong"). Tornado refuses a browser whose Origin does not match the Host header, so this
also checks that the proxy keeps the public Host.
"""
import asyncio
import json
import urllib.parse

import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from test_gateway import new_running_cluster


async def ping(url, headers):
    socket = await websocket_connect(HTTPRequest(url, headers=headers, connect_timeout=20, request_timeout=20))
    try:
        await socket.write_message(json.dumps({"name": "ping"}))
        return json.loads(await asyncio.wait_for(socket.read_message(), 20))
    finally:
        socket.close()


@pytest.mark.parametrize("browser", [False, True], ids=["script", "browser-origin"])
def test_dashboard_websocket(gateway, browser):
    name, _ = new_running_cluster(gateway)
    url = gateway.address.replace("http://", "ws://", 1) + f"/clusters/{name}/eventstream"
    headers = {"Authorization": f"token {gateway.token}"}
    if browser:
        headers["Origin"] = "http://" + urllib.parse.urlsplit(gateway.address).netloc

    assert asyncio.run(ping(url, headers))["name"] == "pong"
