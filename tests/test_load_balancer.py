"""HAProxy in front of the operator's replicas: the shipped configuration is the generated
one and HAProxy accepts it; HAProxy's own answers are problems like the operator's."""

import subprocess

import requests

from devchain.nodes import free_port, wait_until
from mydata.load_balancer import check_config, haproxy_command, haproxy_config

from .conftest import ROOT


def test_the_shipped_configuration_is_the_generated_one_and_haproxy_accepts_it():
    shipped = ROOT / "deploy" / "haproxy.cfg"
    assert shipped.read_text() == haproxy_config(8600, [8601, 8602])
    check_config(shipped)


def test_with_no_replica_up_haproxy_answers_a_503_problem(tmp_path):
    port = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy_config(port, [free_port(), free_port()]))  # nothing listens there
    proc = subprocess.Popen(haproxy_command(config), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/ledger/info", timeout=2).status_code == 503, "HAProxy to mark both replicas down")
        resp = requests.get(f"http://127.0.0.1:{port}/ledger/info", timeout=2)
        assert resp.headers["Content-Type"] == "application/problem+json"
        assert resp.json() == {
            "type": "https://mydata.localhost/problems/no-replica-available", "title": "Service Unavailable", "status": 503,
            "detail": "no operator replica is up; try again shortly",
        }
    finally:
        proc.terminate()
        proc.wait(10)
