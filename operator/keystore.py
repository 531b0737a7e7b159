"""The operator's own secrets, created once in its data directory (mode 0600, fsynced).

The operator holds its chain account (relays and anchors), its log signing key
and an admin token; it never holds a citizen's key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.note import Signer


def _load_or_create(path: Path, make: bytes) -> bytes:
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as f:
        f.write(make.hex() + "\n")
        f.flush()
        os.fsync(f.fileno())
    return make


def chain_account(data_dir: Path) -> LocalAccount:
    return Account.from_key(_load_or_create(data_dir / "operator-chain.key", secrets.token_bytes(32)))


def log_signer(data_dir: Path, origin: str) -> Signer:
    return Signer(origin, _load_or_create(data_dir / "log-signing.key", secrets.token_bytes(32)))


def request_seed(data_dir: Path) -> bytes:
    """Ed25519 seed that signs the operator's requests to the PDS (key id `operator`)."""
    return _load_or_create(data_dir / "request-signing.key", secrets.token_bytes(32))


def admin_token(data_dir: Path) -> str:
    return _load_or_create(data_dir / "admin.token", secrets.token_bytes(32)).hex()
