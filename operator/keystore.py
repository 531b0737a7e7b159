"""The operator's own secrets, created once in its data directory (mode 0600, fsynced).

The operator holds its chain account (relays and anchors), its log signing key, the key
that signs its requests to the PDS and an admin token; it never holds a citizen's key.
`provision` creates all of them at once (`mydata operator init`); replicas are given copies
of that directory, and the log refuses a replica that signs with another key
(storage.log.WrongLogKey).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.durable import create_atomic
from ledger.tlog.note import Signer


class OperatorSecrets(Protocol):
    """Where the operator's keys come from: files in its data directory here (FileSecrets);
    a key-management service or an HSM would implement the same four methods."""

    def chain_account(self) -> LocalAccount: ...

    def log_signer(self, origin: str) -> Signer: ...

    def request_seed(self) -> bytes: ...

    def admin_token(self) -> str: ...


@dataclass(frozen=True)
class FileSecrets:
    """The operator's secrets as files in `folder`, each created once (see `provision`)."""

    folder: Path

    def chain_account(self) -> LocalAccount:
        return chain_account(self.folder)

    def log_signer(self, origin: str) -> Signer:
        return log_signer(self.folder, origin)

    def request_seed(self) -> bytes:
        return request_seed(self.folder)

    def admin_token(self) -> str:
        return admin_token(self.folder)


def _load_or_create(path: Path, make: bytes) -> bytes:
    """The secret in `path`, created from `make` if there is none. Workers starting together
    race here: the file appears whole or not at all (create_atomic), so none of them can
    read it empty, and all of them end up with the first one's secret."""
    if not path.exists():
        create_atomic(path, make.hex().encode() + b"\n")
    secret = bytes.fromhex(path.read_text().strip())
    if len(secret) != len(make):
        raise ValueError(f"{path} does not hold a {len(make)}-byte secret")
    return secret


def chain_account(data_dir: Path) -> LocalAccount:
    return Account.from_key(_load_or_create(data_dir / "operator-chain.key", secrets.token_bytes(32)))


def log_signer(data_dir: Path, origin: str) -> Signer:
    return Signer(origin, _load_or_create(data_dir / "log-signing.key", secrets.token_bytes(32)))


OPERATOR_KEY_ID = "operator"  # the key id of the operator's RFC 9421 signatures


def request_seed(data_dir: Path) -> bytes:
    """Ed25519 seed that signs the operator's requests to the PDS and its notifications to
    services (key id `operator`)."""
    return _load_or_create(data_dir / "request-signing.key", secrets.token_bytes(32))


def admin_token(data_dir: Path) -> str:
    return _load_or_create(data_dir / "admin.token", secrets.token_bytes(32)).hex()


def provision(data_dir: Path, origin: str) -> dict[str, str]:
    """Create every secret that does not exist yet (keeping those that do) and return the
    public identities a deployment publishes: the chain address, the log's verifier key and
    the request-signing public key."""
    from nacl.signing import SigningKey

    data_dir.mkdir(parents=True, exist_ok=True)
    admin_token(data_dir)
    return {
        "chain address": chain_account(data_dir).address,
        "log verifier key": log_signer(data_dir, origin).verifier.vkey,
        "request key": bytes(SigningKey(request_seed(data_dir)).verify_key).hex(),
    }
