"""Auditor verification rate (goal >= 200,000 entries/s).

Fills an operator's log with N data-access entries, runs `mydata operator` on it in its
own process, and times a full audit: fetching every entry bundle and hash tile over
loopback HTTP, hashing, rebuilding the tree, checking the signed checkpoint, the anchors
and the chain events.
It also times the auditor's own verification (hashing, tree, entry checks) on tiles
already fetched, which is what the auditor costs when the server is not the bottleneck.
Run: .venv/bin/python bench/audit_rate.py [--entries 1000000]
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from consent_operator.chain.deployment import deploy_registry
from consent_operator.config import OperatorConfig
from consent_operator.runtime import OperatorRuntime
from devchain.nodes import ROOT, DevNode, free_port, wait_for_http
from ledger import events
from ledger.audit import LogFetcher, _fetch_level0, _TreeCheck, run_audit
from ledger.chain import ChainClient
from ledger.registry import Registry


def fill(data: Path, chain_url: str, n: int) -> None:
    config = OperatorConfig(data_dir=data, chain_url=chain_url, deployment_file=data / "deployment.json", background=False)
    rt = OperatorRuntime.start(config)
    for start in range(0, n, 10_000):
        rt.log.append(
            [
                events.encode({"type": events.DATA_READ, "consent_id": "0x" + f"{i:064x}", "service": "cv-builder", "area": "work", "decision": "released", "block": 1})
                for i in range(start, min(start + 10_000, n))
            ]
        )
    rt.anchorer.anchor_now()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, DevNode("embedded", Path(tmp) / "chain") as node:
        data = Path(tmp) / "operator"
        deploy_registry(node.url, data)
        fill(data, node.url, args.entries)
        port = free_port()
        operator = subprocess.Popen(
            [sys.executable, "-m", "mydata", "operator", "--chain", node.url, "--data-dir", str(data), "--port", str(port)],
            cwd=ROOT, stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_http(url + "/ledger/info", operator)
            client = ChainClient(node.url)
            t0 = time.perf_counter()
            report = run_audit(url, lambda c, a: Registry(client, a), Path(tmp) / "state.json")
            elapsed = time.perf_counter() - t0
            print(f"end to end over HTTP: {report.size:,} entries in {elapsed:.1f} s: {report.size / elapsed:,.0f} entries/s")
            fetched = list(_fetch_level0(LogFetcher(url), report.size))
            t0 = time.perf_counter()
            tree = _TreeCheck(report.size, {0})
            for index, bundle, level0 in fetched:
                tree.add_tile(index, bundle, level0)
            elapsed = time.perf_counter() - t0
            print(f"verification only:    {report.size / elapsed:,.0f} entries/s")
        finally:
            operator.terminate()
            operator.wait()


if __name__ == "__main__":
    main()
