"""The citizen's wallet file: the recovery phrase, sealed under the citizen's passphrase,
plus each consent's record and salt.

Kept on the citizen's side only (mode 0600, written atomically). The recovery phrase is every
key the citizen has, so it is never stored in plain text: `passphrase_seal` encrypts it
(Argon2id, XSalsa20-Poly1305) and a wallet opens only with the passphrase. A wallet written
before sealing existed (its phrase in plain text) is sealed the first time it is opened.
Losing a salt is how a citizen crypto-shreds a consent: the on-chain commitment stays but
can no longer be linked to its record.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock

from .durable import write_atomic
from .errors import MyDataError
from .keys import CitizenKeys
from .passphrase_seal import seal, unseal

FORMAT = "mydata-wallet/2"


class WalletError(MyDataError, ValueError):
    """The wallet file is missing or unreadable."""

    problem_type = "wallet-error"


class Wallet:
    """An opened (unlocked) wallet: `phrase` and `keys` live in memory only, `data` is the
    file's content (the sealed phrase, consents, versions seen)."""

    def __init__(self, path: str | Path, data: dict[str, Any], phrase: str):
        self.path = Path(path)
        self.data = data
        self.phrase: str | None = phrase
        self.keys = CitizenKeys.from_phrase(phrase)

    @classmethod
    def create(cls, path: str | Path, passphrase: str, phrase: str | None = None) -> Wallet:
        """A new wallet for a new identity (or the one `phrase` restores), sealed under `passphrase`."""
        path = Path(path)
        if path.exists():
            raise WalletError(f"{path} already exists")
        phrase = CitizenKeys.new_phrase() if phrase is None else phrase
        CitizenKeys.from_phrase(phrase)  # validate before writing
        wallet = cls(path, {"format": FORMAT, "phrase": seal(phrase.encode(), passphrase), "consents": {}}, phrase)
        wallet.save()
        return wallet

    @classmethod
    def open(cls, path: str | Path, passphrase: str) -> Wallet:
        """The wallet at `path`, unlocked with `passphrase` (WrongPassphrase if it is not the
        wallet's). A plain-text phrase from before sealing is sealed under it now."""
        data = cls._read(Path(path))
        if isinstance(data["phrase"], str):
            phrase = data["phrase"]
            wallet = cls(path, data, phrase)
            wallet.update(lambda d: d.update({"format": FORMAT, "phrase": seal(phrase.encode(), passphrase)}))
            return wallet
        return cls(path, data, unseal(data["phrase"], passphrase).decode())

    def reload(self) -> Wallet:
        """This wallet as the file holds it now, still unlocked (no key derivation again).
        WalletError if the file now holds another identity's phrase (erased and created anew)."""
        data = self._read(self.path)
        if data["phrase"] != self.data["phrase"] or self.phrase is None:
            raise WalletError(f"{self.path} now holds another wallet: unlock it again")
        fresh = copy.copy(self)  # the same phrase and derived keys: the BIP-39 seed is not derived again
        fresh.data = data
        return fresh

    @staticmethod
    def _read(path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise WalletError(f"cannot read wallet {path}: {exc}") from exc
        if not isinstance(data, dict) or "phrase" not in data:
            raise WalletError(f"{path} is not a wallet")
        data.setdefault("consents", {})
        return data

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
        self.data, self.phrase = {"phrase": None, "consents": {}}, None

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
