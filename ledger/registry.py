"""Typed access to a deployed ConsentRegistry: grants, revocations, anchors and their events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.types import BlockIdentifier

from .chain import ChainClient
from .contract import Deployment, artifact


@dataclass(frozen=True)
class SignedGrant:
    consent_id: bytes
    commitment: bytes
    expires_at: int
    signature: bytes

    def as_tuple(self) -> tuple[bytes, bytes, int, bytes]:
        return (self.consent_id, self.commitment, self.expires_at, self.signature)


@dataclass(frozen=True)
class OnChainConsent:
    commitment: bytes
    expires_at: int
    granted_at: int
    revoked_at: int
    signer: str

    @property
    def exists(self) -> bool:
        return int(self.signer, 16) != 0

    def state(self, chain_time: int) -> str:
        """"revoked", "expired" (by the chain's time `chain_time`) or "active"."""
        return "revoked" if self.revoked_at else ("expired" if chain_time >= self.expires_at else "active")


@dataclass(frozen=True)
class Anchor:
    index: int
    size: int
    root: bytes
    block: int
    timestamp: int


@dataclass(frozen=True)
class ChainEvent:
    """A ConsentGranted, ConsentRevoked or CheckpointAnchored event, in chain order."""

    name: str
    args: dict[str, Any]
    block: int
    tx: str
    log_index: int


class Registry:
    EVENTS = ("ConsentGranted", "ConsentRevoked", "CheckpointAnchored")

    def __init__(self, client: ChainClient, address: str, from_block: int = 0):
        """`from_block` is the deployment block: no registry event is older."""
        self.client = client
        self.address = client.w3.to_checksum_address(address)
        self.from_block = from_block
        self.contract = client.w3.eth.contract(address=self.address, abi=artifact()["abi"])

    @classmethod
    def of(cls, client: ChainClient, deployment: Deployment) -> Registry:
        return cls(client, deployment.address, deployment.block)

    @property
    def chain_id(self) -> int:
        return self.client.chain_id

    # ---- transactions ------------------------------------------------------------
    def grant(self, grant: SignedGrant, sender: LocalAccount | None = None) -> dict[str, Any]:
        return self.client.transact(self.contract.functions.grant(grant.as_tuple()), sender)

    def grant_batch(self, grants: list[SignedGrant], sender: LocalAccount | None = None) -> dict[str, Any]:
        return self.client.transact(self.contract.functions.grantBatch([g.as_tuple() for g in grants]), sender)

    def revoke_by_sig(self, consent_id: bytes, signature: bytes, sender: LocalAccount | None = None) -> dict[str, Any]:
        return self.client.transact(self.contract.functions.revokeBySig(consent_id, signature), sender)

    def revoke(self, consent_id: bytes, signer: LocalAccount) -> dict[str, Any]:
        """Revoke directly from the per-consent key (which must hold gas)."""
        return self.client.transact(self.contract.functions.revoke(consent_id), signer)

    def anchor(self, size: int, root: bytes, sender: LocalAccount | None = None) -> dict[str, Any]:
        return self.client.transact(self.contract.functions.anchor(size, root), sender)

    # ---- reads -------------------------------------------------------------------
    def is_active(self, consent_id: bytes, block: BlockIdentifier = "latest") -> bool:
        return bool(self.contract.functions.isActive(consent_id).call(block_identifier=block))

    def consent(self, consent_id: bytes, block: BlockIdentifier = "latest") -> OnChainConsent:
        return OnChainConsent(*self.contract.functions.getConsent(consent_id).call(block_identifier=block))

    def anchors(self) -> list[Anchor]:
        f = self.contract.functions
        return [Anchor(i, *f.anchorAt(i).call()) for i in range(f.anchorCount().call())]

    def anchor_at(self, index: int) -> Anchor | None:
        """Anchor number `index`, or None if the registry holds none by that number (an index
        from an untrusted document: asking the contract for it would revert)."""
        f = self.contract.functions
        if not 0 <= index < f.anchorCount().call():
            return None
        return Anchor(index, *f.anchorAt(index).call())

    def events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        """All registry events in [from_block, to_block], in chain order."""
        if to_block < from_block:
            return []
        logs = self.client.w3.eth.get_logs(
            {"address": self.address, "fromBlock": from_block, "toBlock": to_block}
        )
        out = []
        for raw in logs:
            for name in self.EVENTS:
                event = getattr(self.contract.events, name)()
                try:
                    decoded = event.process_log(raw)
                except Exception:  # noqa: BLE001 - not this event's signature
                    continue
                out.append(
                    ChainEvent(name, dict(decoded["args"]), raw["blockNumber"], "0x" + bytes(raw["transactionHash"]).hex(), raw["logIndex"])
                )
                break
        out.sort(key=lambda e: (e.block, e.log_index))
        return out


RegistryFor = Callable[[int, str], Registry]  # (chain id, contract address) -> the Registry there


def registry_factory(chain_url: str) -> RegistryFor:
    """`registry_for(chain_id, contract)` over one client of `chain_url`, as receipt
    verification and the audit take it (they learn the contract from what they check)."""
    client = ChainClient(chain_url)

    def registry_for(chain_id: int, contract: str) -> Registry:
        return Registry(client, contract)

    return registry_for
