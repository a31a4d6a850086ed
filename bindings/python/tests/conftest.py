"""Fixtures: the real VigilOps server binary on a free port with a temporary data directory,
its first (admin) user registered over plain HTTP, and a logged-in ``vigilops.Client``."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import vigilops

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct-horse-battery"
FIXTURES = Path(__file__).parent / "fixtures"


def server_binary() -> Path:
    """``VIGILOPS_SERVER_BIN``, else the debug server build in ``CARGO_TARGET_DIR``."""
    explicit = os.environ.get("VIGILOPS_SERVER_BIN")
    if explicit:
        return Path(explicit)
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.expanduser("~/.cache/vigilops/target")
    return Path(target) / "debug" / "vigilops-server"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def post_json(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@dataclass
class Server:
    url: str
    log: Path


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"vigilops-server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"vigilops-server did not become healthy within 30 s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    binary = server_binary()
    if not binary.is_file():
        pytest.fail(
            f"no server binary at {binary}: build it with `cargo build -p vigilops-server` "
            "or set VIGILOPS_SERVER_BIN"
        )
    data_dir = Path(tempfile.mkdtemp(prefix="vigilops-pytest-"))
    log = data_dir / "server.log"
    url = f"http://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "JWT_SECRET_KEY": "python-bindings-test-secret-0123456789abcdef",
        "RUST_LOG": "warn",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "POSTGRES_HOST", "REDIS_HOST", "ENVIRONMENT"):
        env.pop(name, None)
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [str(binary), "--listen", url.removeprefix("http://"), "--data-dir", str(data_dir)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        wait_until_healthy(url, process, log)
        yield Server(url=url, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def admin(server: Server) -> dict[str, Any]:
    """The first user, registered with a plain HTTP request: it becomes the admin."""
    status, body = post_json(
        f"{server.url}/api/v1/auth/register",
        {"email": ADMIN_EMAIL, "name": "Ada Admin", "password": ADMIN_PASSWORD},
    )
    assert status == 201, body
    tokens: dict[str, Any] = body
    return tokens


@pytest.fixture(scope="session")
def client(server: Server, admin: dict[str, Any]) -> vigilops.Client:
    """A client logged in as the admin (one login for the whole session: logins are throttled)."""
    client = vigilops.Client(server.url)
    client.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    return client


def fixture_json(name: str) -> Any:
    """A byte-for-byte copy of one of ``shared/protocol/examples/``."""
    return json.loads((FIXTURES / name).read_text())
