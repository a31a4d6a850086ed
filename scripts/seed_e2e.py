#!/usr/bin/env python3
"""Seeds a fresh VigilOps server the way an original agent would: registers the first user
(the admin), creates an agent token, registers a host with the recorded 0.2.5 body and posts a
few metrics samples, so the browser end-to-end test sees a host with charts; then a service whose
check fails under a service-down rule, so there is a real alert for the root-cause panel.
Prints `seeded host <id>` and `alert <id>`.

Usage: seed_e2e.py URL EMAIL PASSWORD
"""

import json
import pathlib
import sys
import time
import urllib.request

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "vigilops-server/tests/fixtures/original-agent"


def post(url, body, token=None):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def get(url, token):
    request = urllib.request.Request(url)
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
    rule = {"name": "E2E service down", "metric": "service_down", "operator": "==", "threshold": 1,
            "target_type": "service", "duration_seconds": 0, "severity": "critical"}
    post(f"{base}/api/v1/alert-rules", rule, access)
    service = {"host_id": host_id, "name": "web (:8080)", "type": "tcp", "target": "127.0.0.1:8080"}
    service_id = post(f"{base}/api/v1/agent/services/register", service, agent)["service_id"]
    for status in ("up", "down"):
        post(f"{base}/api/v1/agent/services",
             {"service_id": service_id, "status": status, "response_time_ms": 1.0,
              "error": "connection refused" if status == "down" else None}, agent)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alerts = get(f"{base}/api/v1/alerts?status=firing", access)["items"]
        if alerts:
            alert_id = alerts[0]["id"]
            print(f"alert {alert_id}")
            # A manual remediation of it (the server's default is a dry run): service_restart
            # needs approval, so the run waits with its diagnosis and safety decision.
            run = post(f"{base}/api/v1/alerts/{alert_id}/remediate", None, access)
            print(f"remediation {run['id']}")
            return
        time.sleep(0.1)
    sys.exit("the service-down alert did not fire")


if __name__ == "__main__":
    main()
