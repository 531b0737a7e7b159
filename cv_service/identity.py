"""The service's own keys, kept in one file of its data directory (mode 0600)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from nacl.public import PrivateKey

from ledger.durable import write_atomic


@dataclass(frozen=True)
class ServiceIdentity:
    sign_seed: bytes  # Ed25519: signs requests and the versions the service writes
    enc_key: PrivateKey  # X25519: opens the data keys citizens wrap for the service

    @classmethod
    def load_or_create(cls, path: Path) -> ServiceIdentity:
        if not path.exists():
            data = {"sign_seed": os.urandom(32).hex(), "enc_key": bytes(PrivateKey.generate()).hex()}
            write_atomic(path, json.dumps(data).encode())
        data = json.loads(path.read_text())
        return cls(bytes.fromhex(data["sign_seed"]), PrivateKey(bytes.fromhex(data["enc_key"])))
