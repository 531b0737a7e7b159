"""The compiled ConsentRegistry artifact and its deployments.

A deployment file records where the contract lives (chain id, genesis hash,
address, block); `deploy` is idempotent for a given file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from eth_utils.crypto import keccak
from web3 import Web3

from .chain import ChainClient, ChainError
from .durable import write_atomic


@cache
def artifact() -> dict[str, Any]:
    built: dict[str, Any] = json.loads(resources.files("contracts").joinpath("build/ConsentRegistry.json").read_text())
    return built


def error_selectors() -> dict[bytes, dict[str, Any]]:
    """Custom-error selector -> ABI entry, to name reverts."""
    out = {}
    for item in artifact()["abi"]:
        if item["type"] == "error":
            sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
            out[keccak(text=sig)[:4]] = item
    return out


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    genesis_hash: str
    address: str
    block: int
    tx: str
    anchorer: str
    code_hash: str

    @classmethod
    def load(cls, path: str | Path) -> Deployment:
        try:
            return cls(**json.loads(Path(path).read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise ChainError(f"cannot read deployment file {path}: {exc}") from exc

    def save(self, path: str | Path) -> None:
        write_atomic(path, (json.dumps(asdict(self), indent=2) + "\n").encode(), mode=0o644)

    def check(self, client: ChainClient) -> None:
        """Raise unless this deployment exists on the chain `client` talks to."""
        if client.chain_id != self.chain_id or client.genesis_hash != self.genesis_hash:
            raise ChainError(f"deployment {self.address} belongs to another chain (chain id {self.chain_id})")
        code = client.w3.eth.get_code(Web3.to_checksum_address(self.address))
        if "0x" + keccak(bytes(code)).hex() != self.code_hash:
            raise ChainError(f"no ConsentRegistry at {self.address} on this chain")


def deploy(client: ChainClient, path: str | Path, anchorer: str) -> tuple[Deployment, bool]:
    """Deploy unless `path` already names a live deployment; returns (deployment, deployed_now)."""
    path = Path(path)
    if path.exists():
        existing = Deployment.load(path)
        existing.check(client)
        return existing, False
    art = artifact()
    factory = client.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    receipt = client.transact(factory.constructor(anchorer))
    code = client.w3.eth.get_code(receipt["contractAddress"])
    dep = Deployment(
        chain_id=client.chain_id,
        genesis_hash=client.genesis_hash,
        address=receipt["contractAddress"],
        block=receipt["blockNumber"],
        tx="0x" + bytes(receipt["transactionHash"]).hex(),
        anchorer=anchorer,
        code_hash="0x" + keccak(bytes(code)).hex(),
    )
    dep.save(path)
    return dep, True
