"""``vigilops.Client`` and ``vigilops.AgentClient`` against the real server."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import pytest
import vigilops
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Server, fixture_json


def test_the_package_exports_its_api() -> None:
    assert issubclass(vigilops.ApiError, vigilops.VigilOpsError)
    assert issubclass(vigilops.TransportError, vigilops.VigilOpsError)
    assert issubclass(vigilops.VigilOpsError, Exception)
    assert vigilops.__version__
    assert vigilops.ApiError.__module__ == "vigilops"


def test_health_needs_no_login(server: Server) -> None:
    health = vigilops.Client(server.url + "/").health()
    assert health["status"] == "ok"
    assert health["checks"]["database"] == "ok"


def test_login_keeps_the_token_for_later_calls(server: Server, admin: dict[str, Any]) -> None:
    client = vigilops.Client(server.url)
    assert client.access_token is None
    assert "logged_in=False" in repr(client)

    tokens = client.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    assert tokens["token_type"] == "bearer"
    assert client.access_token == tokens["access_token"]
    assert tokens["access_token"] not in repr(client)

    me = client.me()
    assert me["email"] == ADMIN_EMAIL
    assert me["role"] == "admin"

    # A token obtained elsewhere works too.
    assert vigilops.Client(server.url, access_token=admin["access_token"]).me()["id"] == me["id"]


def test_a_wrong_password_raises_api_error_401(server: Server, admin: dict[str, Any]) -> None:
    client = vigilops.Client(server.url)
    with pytest.raises(vigilops.ApiError) as raised:
        client.login(ADMIN_EMAIL, "not-the-password")
    assert raised.value.status == 401
    assert raised.value.detail == "Invalid credentials"
    assert "Invalid credentials" in str(raised.value)
    assert isinstance(raised.value, vigilops.VigilOpsError)
    assert client.access_token is None


def test_calls_without_login_are_refused(server: Server) -> None:
    with pytest.raises(vigilops.ApiError) as raised:
        vigilops.Client(server.url).me()
    assert raised.value.status in (401, 403)


def test_an_unreachable_server_raises_transport_error() -> None:
    with closed_port() as url:
        with pytest.raises(vigilops.TransportError):
            vigilops.Client(url).health()


def test_an_agent_reports_a_host_that_the_client_then_lists(
    server: Server, client: vigilops.Client
) -> None:
    created = client.create_agent_token("pytest-agent")
    assert created["name"] == "pytest-agent"
    assert created["is_active"] is True
    plaintext = created["token"]
    assert plaintext.startswith(created["token_prefix"])

    agent = vigilops.AgentClient(server.url, plaintext)
    host = fixture_json("register.json")
    host["hostname"] = f"pytest-{uuid.uuid4().hex[:8]}"
    registered = agent.register(host)
    assert registered["hostname"] == host["hostname"]
    assert registered["created"] is True
    host_id = registered["host_id"]

    beat = agent.heartbeat(host_id)
    assert beat["status"] == "ok"

    report = fixture_json("metrics.json")
    report["host_id"] = host_id
    # The recorded sample is from the past; a fresh time keeps it the host's latest metrics.
    report["timestamp"] = datetime.now(timezone.utc).isoformat()
    first = agent.metrics(report, idempotency_key=str(uuid.uuid4()))
    assert first["status"] == "ok"

    key = str(uuid.uuid4())
    again = agent.metrics(report, idempotency_key=key)
    retried = agent.metrics(report, idempotency_key=key)
    assert retried["metric_id"] == again["metric_id"], "a retry with the same key is stored once"

    entries = fixture_json("logs.json")["logs"]
    for entry in entries:
        entry["host_id"] = host_id
    assert agent.logs(entries) == {"received": len(entries)}

    page = client.hosts(search=host["hostname"])
    assert page["total"] == 1
    listed = page["items"][0]
    assert listed["id"] == host_id
    assert listed["status"] == "online"
    assert listed["tags"] == {"lab": True, "upstream": True}
    assert listed["latest_metrics"] is not None
    assert listed["latest_metrics"]["cpu_percent"] == 99.5

    assert any(
        item["id"] == host_id for item in client.hosts(status="online", page_size=100)["items"]
    )
    assert client.hosts(status="offline", search=host["hostname"])["total"] == 0

    shown = client.host(host_id)
    assert shown["hostname"] == host["hostname"]
    assert shown["latest_metrics"] is not None
    assert shown["latest_metrics"]["memory_percent"] == 4.4

    points = client.host_metrics(host_id, hours=2)
    assert len(points) >= 1
    assert points[-1]["cpu_percent"] == 99.5
    bucketed = client.host_metrics(host_id, interval="5min")
    assert bucketed and bucketed[0]["id"] == 0

    with pytest.raises(vigilops.ApiError) as raised:
        client.host(987654)
    assert raised.value.status == 404
    assert raised.value.detail == "Host not found"


def test_agent_tokens_are_listed_and_revoked(server: Server, client: vigilops.Client) -> None:
    created = client.create_agent_token("pytest-revoked")
    listed = {token["id"]: token for token in client.agent_tokens()}
    assert listed[created["id"]]["name"] == "pytest-revoked"
    assert "token" not in listed[created["id"]], "the plaintext is never listed"

    client.revoke_agent_token(created["id"])
    listed = {token["id"]: token for token in client.agent_tokens()}
    assert listed[created["id"]]["is_active"] is False

    # Unused before the revoke, so no per-replica cache keeps it alive for its 5 s TTL.
    with pytest.raises(vigilops.ApiError) as raised:
        vigilops.AgentClient(server.url, created["token"]).register({"hostname": "nope"})
    assert raised.value.status == 401

    with pytest.raises(vigilops.ApiError) as raised:
        client.revoke_agent_token(987654)
    assert raised.value.status == 404


def test_bodies_that_do_not_fit_raise_value_error(server: Server) -> None:
    agent = vigilops.AgentClient(server.url, "vop_unused")
    with pytest.raises(ValueError, match="metrics report"):
        agent.metrics({"cpu_percent": 1.0})
    with pytest.raises(ValueError, match="host registration"):
        agent.register({"hostname": object()})
    with pytest.raises(ValueError, match="log entries"):
        agent.logs([{"message": "no host id or timestamp"}])


def test_one_client_serves_many_threads(client: vigilops.Client) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        pages = list(pool.map(lambda _: client.hosts(page_size=5), range(16)))
    assert all(page["page_size"] == 5 for page in pages)


def test_a_waiting_call_releases_the_gil() -> None:
    """While one thread waits on a server that never answers, the main thread keeps running."""
    outcome: list[BaseException] = []
    with silent_server() as url:
        slow = vigilops.Client(url)

        def call() -> None:
            try:
                slow.health()
            except BaseException as error:  # noqa: BLE001 - recorded for the assertions
                outcome.append(error)

        waiter = threading.Thread(target=call)
        waiter.start()
        counted = 0
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            counted += 1
        assert waiter.is_alive(), "the call is still waiting on the silent server"
        assert counted > 10_000, "the main thread ran while the other one waited"
    # Closing the listener resets the pending connection, which ends the call.
    waiter.join(timeout=30)
    assert not waiter.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], vigilops.TransportError), outcome


def test_ctrl_c_interrupts_a_waiting_call() -> None:
    """A pending SIGINT cancels the request and raises KeyboardInterrupt in the caller."""
    # A process started in the background by a non-interactive shell (as CI may run it) inherits
    # SIGINT ignored, and Python then leaves it ignored: install the usual handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with silent_server() as url:
        slow = vigilops.Client(url)
        timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGINT))
        started = time.monotonic()
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                slow.health()
        finally:
            timer.cancel()
        assert time.monotonic() - started < 5, "interrupted long before the 15 s timeout"


@contextlib.contextmanager
def closed_port() -> Iterator[str]:
    """A URL on a port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """A TCP listener that never accepts, so requests to it wait for an answer."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
