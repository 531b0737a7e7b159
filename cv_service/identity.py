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
    session_key: bytes  # signs the browser session cookies of signed-in citizens

    @classmethod
    def load_or_create(cls, path: Path) -> ServiceIdentity:
        data = json.loads(path.read_text()) if path.exists() else {}
        fresh = {"sign_seed": os.urandom(32).hex(), "enc_key": bytes(PrivateKey.generate()).hex(), "session_key": os.urandom(32).hex()}
        if set(fresh) - set(data):  # new, or from before sessions existed: add what is missing
            data = {**fresh, **data}
            write_atomic(path, json.dumps(data).encode())
        return cls(bytes.fromhex(data["sign_seed"]), PrivateKey(bytes.fromhex(data["enc_key"])), bytes.fromhex(data["session_key"]))
