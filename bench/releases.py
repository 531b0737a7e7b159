"""Authorized releases per second and p50/p99 latency under concurrent load, with the
operator under gunicorn, against a baseline that also does an eth_call per release.

Starts the embedded chain, a PDS and two operators (normal, and baseline with
`--eth-call-per-release`) on loopback, sets up a service with a read consent on a
citizen's `work` area, then fires pre-signed reads from load-generator processes at each (keep-alive
connections; signing happens before the clock starts, as it is the clients' cost).
Goal: >= 2,000 releases/s on 2 cores and >= 20x the baseline.
Run: .venv/bin/python bench/releases.py [--requests 3000] [--clients 32] [--processes 2] [--workers 2] [--threads 8]
"""

import argparse
import http.client
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
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


def _client(url: str, path: str, signer: RequestSigner, n: int, threads: int, barrier, results) -> None:
    """One load-generator process: pre-sign `n` requests (signing is the clients' cost, not
    the operator's), wait for the start, then send them over `threads` keep-alive connections."""
    signed = []
    for _ in range(n):
        prepared = signer.sign(requests.Request("GET", url + path).prepare())
        signed.append({k: prepared.headers[k] for k in ("Signature-Input", "Signature", "Content-Digest")})
    host, port = url.removeprefix("http://").split(":")
    latencies, lock = [], threading.Lock()

    def run(batch):
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        mine = []
        for headers in batch:
            t0 = time.perf_counter()
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200, body[:300]
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    barrier.wait()
    workers = [threading.Thread(target=run, args=(signed[i::threads],)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    results.put(latencies)


def measure(url: str, path: str, signer: RequestSigner, n: int, clients: int, processes: int) -> tuple[float, float, float]:
    """Fire n pre-signed reads from `clients` connections spread over `processes` processes."""
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(processes + 1), ctx.Queue()
    procs = [ctx.Process(target=_client, args=(url, path, signer, n // processes, clients // processes, barrier, results)) for _ in range(processes)]
    for p in procs:
        p.start()
    barrier.wait()
    t0 = time.perf_counter()
    latencies = sorted(x for _ in procs for x in results.get())
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    return len(latencies) / elapsed, statistics.median(latencies) * 1e3, latencies[int(len(latencies) * 0.99) - 1] * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--processes", type=int, default=2, help="load-generator processes")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    ap.add_argument("--no-baseline", action="store_true", help="measure this design only")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, DevNode("embedded", Path(tmp) / "chain") as node:
        tmp = Path(tmp)
        deploy_registry(node.url, tmp / "op")
        pds_port, op_port, base_port = free_port(), free_port(), free_port()
        procs = [start(["pds", "--data-dir", str(tmp / "pds"), "--operator-dir", str(tmp / "op"), "--port", str(pds_port)], f"http://127.0.0.1:{pds_port}/openapi.json")]
        pds = f"http://127.0.0.1:{pds_port}"
        common = ["--chain", node.url, "--pds", pds, "--workers", str(args.workers), "--threads", str(args.threads)]
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
            runs = [("index (this design)", op), ("baseline: eth_call per release", f"http://127.0.0.1:{base_port}")]
            for name, url in runs[: 1 if args.no_baseline else 2]:
                path = f"/v1/citizens/{cid}/areas/work"
                measure(url, path, signer, min(400, args.requests), args.clients, args.processes)  # warm up
                rate, p50, p99 = measure(url, path, signer, args.requests, args.clients, args.processes)
                print(f"{name:>32}: {rate:8.0f} releases/s  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")
        finally:
            for p in procs:
                p.terminate()
                p.wait()


if __name__ == "__main__":
    main()
