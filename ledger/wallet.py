"""The citizen's wallet file: recovery phrase plus each consent's record and salt.

Kept on the citizen's side only (mode 0600, written atomically). Losing a salt
is how a citizen crypto-shreds a consent: the on-chain commitment stays but can
no longer be linked to its record.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock

from .durable import write_atomic
from .errors import MyDataError
from .keys import CitizenKeys


class WalletError(MyDataError, ValueError):
    """The wallet file is missing or unreadable."""

    problem_type = "wallet-error"


class Wallet:
    def __init__(self, path: str | Path, data: dict[str, Any]):
        self.path = Path(path)
        self.data = data
        self.keys = CitizenKeys.from_phrase(data["phrase"])

    @classmethod
    def create(cls, path: str | Path, phrase: str | None = None) -> Wallet:
        path = Path(path)
        if path.exists():
            raise WalletError(f"{path} already exists")
        phrase = CitizenKeys.new_phrase() if phrase is None else phrase
        CitizenKeys.from_phrase(phrase)  # validate before writing
        wallet = cls(path, {"phrase": phrase, "consents": {}})
        wallet.save()
        return wallet

    @classmethod
    def open(cls, path: str | Path) -> Wallet:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise WalletError(f"cannot read wallet {path}: {exc}") from exc
        if not isinstance(data, dict) or "phrase" not in data:
            raise WalletError(f"{path} is not a wallet")
        data.setdefault("consents", {})
        return cls(path, data)

    def save(self) -> None:
        write_atomic(self.path, json.dumps(self.data, indent=2).encode())

    def shred(self) -> None:
        """Erase the wallet: overwrite the file (phrase, records, salts) in place with zeros,
        fsync, then delete it (best effort against recovery from the disk)."""
        with open(self.path, "r+b") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(0)
            f.write(bytes(size))
            f.flush()
            os.fsync(f.fileno())
        self.path.unlink()
        Path(f"{self.path}.lock").unlink(missing_ok=True)
        self.data = {"phrase": None, "consents": {}}

    def update(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Apply `change` to the wallet as it is on disk now, then save, under the wallet's
        lock: the citizen app opens the wallet once per request, and two requests saving
        what each read before would lose each other's consents (and their salts)."""
        with FileLock(f"{self.path}.lock"):
            try:
                current = json.loads(self.path.read_text())
            except FileNotFoundError:
                current = self.data
            change(current)
            self.data = current
            self.save()

    def remember(self, consent_id: str, record: dict[str, Any], salt: bytes, receipt: dict[str, Any] | None = None) -> None:
        self.update(lambda d: d["consents"].__setitem__(consent_id, {"record": record, "salt": salt.hex(), "receipt": receipt}))

    def seen_version(self, area: str) -> int:
        """The newest version of `area` this wallet has written or read (0: none)."""
        return int(self.data.get("versions", {}).get(area, 0))

    def saw_version(self, area: str, version: int) -> None:
        """Remember `version` of `area` as seen, so an older one served later is refused."""
        if version > self.seen_version(area):
            self.update(lambda d: d.setdefault("versions", {}).__setitem__(area, max(version, d.get("versions", {}).get(area, 0))))

    def consent(self, consent_id: str) -> dict[str, Any]:
        try:
            found: dict[str, Any] = self.data["consents"][consent_id.lower()]
            return found
        except KeyError:
            raise WalletError(f"no consent {consent_id} in this wallet") from None
