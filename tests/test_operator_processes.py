"""The operator under gunicorn with several worker processes: concurrent relays from
different workers share one chain account and one log without losing or doubling anything;
a log writer process commits for them, and they carry on without it."""

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from consent_operator.chain.deployment import deploy_registry
from consent_operator.config import OperatorConfig
from consent_operator.log import log_writer_process
from devchain.nodes import ROOT, free_port, wait_for_http
from ledger import events
from ledger.audit import run_audit
from ledger.chain import ChainClient
from ledger.contract import Deployment
from ledger.registry import Registry

from .helpers import relay_item, signed_grant


@pytest.fixture
def gunicorn_operator(node, tmp_path):
    data = tmp_path / "operator"
    deploy_registry(node.url, data)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mydata", "operator", "--chain", node.url, "--data-dir", str(data),
         "--port", str(port), "--workers", "2", "--anchor-seconds", "3600"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "operator.log", "wb"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/ledger/info", proc, timeout=60)
    except RuntimeError:
        pytest.fail((tmp_path / "operator.log").read_text())
    yield url, data, proc
    proc.terminate()
    proc.wait(timeout=30)
    assert "Traceback" not in (tmp_path / "operator.log").read_text()


def test_concurrent_relays_across_workers_are_each_logged_once(node, gunicorn_operator, tmp_path):
    url, data, _ = gunicorn_operator
    client = ChainClient(node.url)
    registry = Registry.of(client, Deployment.load(data / "deployment.json"))
    signed = [signed_grant(registry) for _ in range(16)]
    grants = [s[0] for s in signed]

    with ThreadPoolExecutor(8) as pool:
        assert [r.status_code for r in pool.map(lambda s: _relay(url, s), signed)] == [201] * len(grants)
    assert all(registry.is_active(g.consent_id) for g in grants)
    for g in grants:
        status = requests.get(f"{url}/ledger/consents/0x{g.consent_id.hex()}").json()
        assert len(status["log_indices"]) == 1
    evidence = requests.get(f"{url}/ledger/consents/0x{grants[-1].consent_id.hex()}/evidence").json()
    assert evidence["anchor"]["size"] > evidence["log_index"]
    report = run_audit(url, lambda c, a: Registry(client, a), tmp_path / "audit.json")
    assert report.entries_by_type == {events.CONSENT_GRANTED: 16} and report.chain_events_checked == 16


def _relay(url: str, signed) -> requests.Response:
    body = {"grants": [relay_item(signed[0], signed[3])]}
    return requests.post(url + "/ledger/grants", json=body, timeout=120)


def _children(pid: int) -> dict[int, str]:
    """The child processes of `pid` and their full command lines, read from /proc (`ps`
    cuts long command lines to the width the environment's COLUMNS sets)."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                children[int(stat.parent.name)] = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError):
            continue  # the process ended while we looked
    return children


def test_workers_commit_through_the_log_writer_and_carry_on_when_it_dies(node, gunicorn_operator):
    url, data, arbiter = gunicorn_operator
    registry = Registry.of(ChainClient(node.url), Deployment.load(data / "deployment.json"))
    [(writer, args)] = [(pid, args) for pid, args in _children(arbiter.pid).items() if "log_writer_process" in args]
    socket_path = Path(args.split()[-1])
    assert socket_path.is_socket() and socket_path.parent.stat().st_mode & 0o777 == 0o700  # its own private folder
    first, second = signed_grant(registry), signed_grant(registry)
    assert _relay(url, first).status_code == 201
    os.kill(writer, signal.SIGKILL)
    assert _relay(url, second).status_code == 201  # the worker commits the entry itself
    for g in (first[0], second[0]):
        assert len(requests.get(f"{url}/ledger/consents/0x{g.consent_id.hex()}").json()["log_indices"]) == 1


def test_two_operators_on_one_data_directory_each_have_their_own_writer(node, gunicorn_operator, tmp_path):
    """The socket once lived in the data directory: a second operator's writer replaced the
    first one's socket, and stopping it deleted the socket the first one's workers used."""
    url, data, arbiter = gunicorn_operator
    port = free_port()
    second = subprocess.Popen(
        [sys.executable, "-m", "mydata", "operator", "--chain", node.url, "--data-dir", str(data), "--port", str(port), "--workers", "1", "--anchor-seconds", "3600"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/ledger/info", second, timeout=60)
        sockets = [Path(args.split()[-1]) for proc in (arbiter, second) for args in _children(proc.pid).values() if "log_writer_process" in args]
        assert len(set(sockets)) == 2 and all(path.is_socket() for path in sockets)
    finally:
        second.terminate()
        second.wait(timeout=30)
    assert sockets[0].is_socket() and not sockets[1].parent.exists()  # the first one's is untouched; the second's is gone with it
    registry = Registry.of(ChainClient(node.url), Deployment.load(data / "deployment.json"))
    assert _relay(url, signed_grant(registry)).status_code == 201


def test_the_log_writer_stops_when_the_arbiter_is_killed_and_removes_its_socket_folder(gunicorn_operator):
    _, _, arbiter = gunicorn_operator
    [(writer, args)] = [(pid, args) for pid, args in _children(arbiter.pid).items() if "log_writer_process" in args]
    folder = Path(args.split()[-1]).parent
    assert folder.is_dir()
    arbiter.kill()
    arbiter.wait()
    deadline = time.monotonic() + 15
    while _running(writer, "log_writer_process"):
        assert time.monotonic() < deadline, "the orphaned log writer kept running"
        time.sleep(0.1)
    assert not folder.exists()  # nobody else would remove it: the arbiter died first


def test_stopping_a_writer_removes_only_a_folder_that_holds_nothing_else(tmp_path):
    """The folder is the writer's own (with_writer_socket); a socket placed in a shared one
    leaves that folder and what else it holds alone."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "someone-else.txt").write_text("kept")
    config = log_writer_process.with_writer_socket(OperatorConfig(tmp_path / "op", "http://127.0.0.1:1", tmp_path / "deployment.json"))
    assert config.log_writer_socket is not None
    for socket_path in (shared / "writer.sock", config.log_writer_socket):
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        socket_path.touch()
        log_writer_process.stop(proc, socket_path)
        assert not socket_path.exists()
    assert (shared / "someone-else.txt").read_text() == "kept"
    assert not config.log_writer_socket.parent.exists()


def _running(pid: int, name: str) -> bool:
    try:
        return name in Path(f"/proc/{pid}/cmdline").read_text()  # a zombie's is empty
    except FileNotFoundError:
        return False


def test_metrics_sum_every_workers_refusals(gunicorn_operator):
    """Refused requests land on both workers (one connection each); /metrics counts them all."""
    url, _, _ = gunicorn_operator
    for _ in range(8):
        with requests.Session() as fresh:  # a new connection: gunicorn may hand it to either worker
            assert fresh.post(url + "/v1/consent-requests", json={}).status_code == 401
    lines = [line for line in requests.get(url + "/metrics").text.splitlines() if line.startswith("mydata_refused_requests_total{")]
    assert lines == ['mydata_refused_requests_total{reason="unsigned-request"} 8.0']
