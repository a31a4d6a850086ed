#!/usr/bin/env python3
"""Seeds a fresh VigilOps server the way an original agent would: registers the first user
(the admin), creates an agent token, registers a host with the recorded 0.2.5 body and posts a
few metrics samples, so the browser end-to-end test sees a host with charts.

Usage: seed_e2e.py URL EMAIL PASSWORD
"""

import json
import pathlib
import sys
import urllib.request

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "vigilops-server/tests/fixtures/original-agent"


def post(url, body, token=None):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def main():
    base, email, password = sys.argv[1:4]
    access = post(f"{base}/api/v1/auth/register", {"email": email, "name": "E2E", "password": password})["access_token"]
    agent = post(f"{base}/api/v1/agent-tokens", {"name": "e2e-seed"}, access)["token"]
    register = json.loads((EXAMPLES / "register.json").read_text())
    host_id = post(f"{base}/api/v1/agent/register", register, agent)["host_id"]
    metrics = json.loads((EXAMPLES / "metrics.json").read_text())
    metrics.pop("timestamp")
    for cpu in (12.5, 37.0, 64.2):
        post(f"{base}/api/v1/agent/metrics", {**metrics, "host_id": host_id, "cpu_percent": cpu}, agent)
    print(f"seeded host {host_id}")


if __name__ == "__main__":
    main()
