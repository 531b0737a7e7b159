"""The witness's Ed25519 cosigning key: created once in its data directory (mode 0600) and
kept, since the logs and verifiers that trust the witness pin its public key."""

from __future__ import annotations

import os
from pathlib import Path

from ledger.tlog.cosignature import Cosigner

KEY_FILE = "witness.key"


def cosigner(data_dir: Path, name: str) -> Cosigner:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return Cosigner(name, path.read_bytes())
    seed = os.urandom(32)
    with os.fdopen(fd, "wb") as f:
        f.write(seed)
        f.flush()
        os.fsync(f.fileno())
    return Cosigner(name, seed)
