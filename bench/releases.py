"""Authorized releases per second and p50/p99 latency under concurrent load, with the
operator under gunicorn, against a baseline that also does an eth_call per release.

Starts the embedded chain, a PDS and two operators (normal, and baseline with
`--eth-call-per-release`) on loopback, sets up a service with a read consent on a
citizen's `work` area, then fires signed reads from client threads at each.
Goal: >= 2,000 releases/s on 2 cores and >= 20x the baseline.
Run: .venv/bin/python bench/releases.py [--requests 3000] [--clients 32] [--workers 2]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from cv_service.sdk import ServiceClient
from ledger import citizen
from ledger.cli.chain_cmds import deploy_registry
from ledger.devnodes import ROOT, DevNode, free_port, wait_for_http
from ledger.request_auth import RequestSigner
from ledger.wallet import Wallet
from pds.envelope import new_data_key, seal, wrap_key


def start(args: list[str], url: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "ledger.cli", *args], cwd=ROOT, stderr=subprocess.DEVNULL)
    wait_for_http(url, proc)
    return proc


def measure(url: str, cid: str, signer: RequestSigner, n: int, clients: int) -> tuple[float, float, float]:
    """Fire n signed reads from `clients` threads (one keep-alive session each)."""
    local = threading.local()

    def one(_):
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.auth = signer
        t0 = time.perf_counter()
        resp = local.session.get(f"{url}/v1/citizens/{cid}/areas/work", timeout=60)
        assert resp.status_code == 200, resp.text
        return time.perf_counter() - t0

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = sorted(pool.map(one, range(n)))
    elapsed = time.perf_counter() - t0
    return n / elapsed, statistics.median(latencies) * 1e3, latencies[int(len(latencies) * 0.99) - 1] * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, DevNode("embedded", Path(tmp) / "chain") as node:
        tmp = Path(tmp)
        deploy_registry(node.url, tmp / "op")
        pds_port, op_port, base_port = free_port(), free_port(), free_port()
        procs = [start(["pds", "--data-dir", str(tmp / "pds"), "--operator-dir", str(tmp / "op"), "--port", str(pds_port)], f"http://127.0.0.1:{pds_port}/openapi.json")]
        pds = f"http://127.0.0.1:{pds_port}"
        common = ["--chain", node.url, "--pds", pds, "--workers", str(args.workers), "--threads", "8"]
        try:
            procs.append(start(["operator", "--data-dir", str(tmp / "op"), "--port", str(op_port), *common], f"http://127.0.0.1:{op_port}/ledger/info"))
            op = f"http://127.0.0.1:{op_port}"
            seed, enc = os.urandom(32), PrivateKey.generate()
            service = ServiceClient(op, "cv-builder", seed, enc)
            service.register("CV Builder", "Builds CVs", "https://cv.example/cb")
            wallet = Wallet.create(tmp / "anna.json")
            cid = wallet.keys.citizen_id()
            service.request_consent(cid, ["dpv:ServiceProvision"], [{"area": "work", "access": "read"}], 30, "https://cv.example/n", b"n")
            client = citizen.signed_operator(wallet, op)
            citizen.approve(wallet, client, citizen.pending_requests(wallet, client)[0])
            s = requests.Session()
            s.auth = RequestSigner(cid, wallet.keys.request_seed())
            key = new_data_key()
            env = seal("work", 1, [{"name": "Arbetsförmedlingen"}], key, SigningKey(wallet.keys.request_seed()))
            s.post(f"{pds}/pds/v1/citizens/{cid}/areas/work/versions", json={"version": 1, "key_version": 1, "envelope": env}).raise_for_status()
            s.put(f"{pds}/pds/v1/citizens/{cid}/areas/work/keys/1", json={"wrapped": {"service:cv-builder": wrap_key(key, bytes(enc.public_key))}}).raise_for_status()

            # The baseline operator shares the data directory copy, so the same consent is indexed.
            shutil.copytree(tmp / "op", tmp / "op-baseline", ignore=shutil.ignore_patterns("*.lock"))
            procs.append(start(["operator", "--data-dir", str(tmp / "op-baseline"), "--port", str(base_port), "--eth-call-per-release", *common], f"http://127.0.0.1:{base_port}/ledger/info"))
            signer = RequestSigner("service:cv-builder", seed)
            for name, url in (("index (this design)", op), ("baseline: eth_call per release", f"http://127.0.0.1:{base_port}")):
                measure(url, cid, signer, min(200, args.requests), args.clients)  # warm up
                rate, p50, p99 = measure(url, cid, signer, args.requests, args.clients)
                print(f"{name:>32}: {rate:8.0f} releases/s  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")
        finally:
            for p in procs:
                p.terminate()
                p.wait()


if __name__ == "__main__":
    main()
