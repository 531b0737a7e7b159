"""Auditor verification rate (goal >= 200,000 entries/s).

Fills an operator's log with N data-access entries, serves it over HTTP on loopback,
and times a full `run_audit`: fetching every entry bundle and hash tile, hashing,
rebuilding the tree, checking the signed checkpoint, anchors and chain events.
Run: .venv/bin/python bench/audit_rate.py [--entries 1000000]
"""

import argparse
import tempfile
import threading
import time
from pathlib import Path

from werkzeug.serving import make_server

from consent_operator import create_app
from consent_operator.config import OperatorConfig
from ledger import events
from ledger.audit import run_audit
from ledger.chain import ChainClient
from ledger.devnodes import DevNode
from ledger.cli.chain_cmds import deploy_registry
from ledger.registry import Registry


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, DevNode("embedded", Path(tmp) / "chain") as node:
        chain_url = node.url
        data = Path(tmp) / "operator"
        deploy_registry(chain_url, data)
        config = OperatorConfig(data_dir=data, chain_url=chain_url, deployment_file=data / "deployment.json", background=False)
        app = create_app(config)
        log = app.extensions["operator"].log
        for start in range(0, args.entries, 10_000):
            batch = [
                events.encode({"type": events.DATA_READ, "consent_id": "0x" + f"{i:064x}", "service": "cv-builder", "area": "work", "decision": "released", "block": 1})
                for i in range(start, min(start + 10_000, args.entries))
            ]
            log.append(batch)
        app.extensions["operator"].anchorer.anchor_now()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        client = ChainClient(chain_url)
        t0 = time.perf_counter()
        report = run_audit(f"http://127.0.0.1:{server.server_port}", lambda c, a: Registry(client, a), Path(tmp) / "state.json")
        elapsed = time.perf_counter() - t0
        print(f"audited {report.size:,} entries in {elapsed:.1f} s: {report.size / elapsed:,.0f} entries/s")
        server.shutdown()


if __name__ == "__main__":
    main()
