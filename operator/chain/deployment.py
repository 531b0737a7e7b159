"""The operator deploys (or finds) its ConsentRegistry with its own chain account."""

from __future__ import annotations

from pathlib import Path

from ledger.chain import ChainClient, ChainError
from ledger.contract import Deployment, deploy

from ..keystore import chain_account


def deploy_registry(chain_url: str, data_dir: Path) -> tuple[Deployment, bool]:
    """Deploy the registry from the operator account in `data_dir` (funded from the node's
    dev account if it has none), or keep the live deployment recorded there. Returns the
    deployment and whether it is new."""
    account = chain_account(data_dir)
    client = ChainClient(chain_url, account)
    if not client.fund_from_dev_account(account.address):
        raise ChainError(f"operator account {account.address} has no funds and the node has no dev account")
    return deploy(client, data_dir / "deployment.json", account.address)
