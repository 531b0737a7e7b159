"""Grants per second on the embedded chain and on a Hardhat node, single and batched.

Each grant is a fresh record, salted commitment and EIP-712 signature by its own
per-consent key, sent by the operator's account and waited for (receipt).
Run: .venv/bin/python bench/grants.py [--count 200] [--batch 50]
"""

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from eth_account import Account

from devchain.nodes import DevNode
from ledger import eip712, record
from ledger.chain import ChainClient
from ledger.contract import deploy
from ledger.keys import CitizenKeys
from ledger.registry import Registry, SignedGrant


def make_grants(reg: Registry, n: int) -> list[SignedGrant]:
    keys = CitizenKeys(b"\x42" * 32)
    expires = reg.client.w3.eth.get_block("latest")["timestamp"] + 86400
    out = []
    for _ in range(n):
        rec = record.new_record(
            subject=keys.pseudonym("cv"), controller_id="cv", controller_name="CV", purposes=["p"],
            data_areas=[{"area": "work", "access": "read"}], notice_url="https://x/n", notice_text=b"n", duration=timedelta(days=1),
        )
        cid = bytes.fromhex(rec["record_id"][2:])
        com = record.commitment(rec, record.new_salt())
        sig = eip712.sign(keys.consent_account(cid), "Grant", eip712.grant_message(cid, com, expires), reg.chain_id, reg.address)
        out.append(SignedGrant(cid, com, expires, sig))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--batch", type=int, default=50)
    args = ap.parse_args()
    for kind in ("embedded", "hardhat"):
        with tempfile.TemporaryDirectory() as tmp, DevNode(kind, Path(tmp) / "chain") as node:
            url = node.url
            key = Account.create()
            client = ChainClient(url, key)
            client.fund_from_dev_account(key.address)
            dep, _ = deploy(client, Path(tmp) / "deployment.json", key.address)
            reg = Registry.of(client, dep)
            single = make_grants(reg, args.count)
            t0 = time.perf_counter()
            for g in single:
                reg.grant(g)
            single_rate = len(single) / (time.perf_counter() - t0)
            batched = make_grants(reg, args.count)
            t0 = time.perf_counter()
            for i in range(0, len(batched), args.batch):
                reg.grant_batch(batched[i : i + args.batch])
            batch_rate = len(batched) / (time.perf_counter() - t0)
            print(f"{kind:>8}: {single_rate:8.1f} grants/s single, {batch_rate:8.1f} grants/s in batches of {args.batch}")


if __name__ == "__main__":
    main()
