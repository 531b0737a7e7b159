"""The citizen app's hold on the wallet: locked until the citizen gives the passphrase, then
unlocked for this run of the app (the recovery phrase lives in memory only, never on disk
in plain text). Each request sees the wallet file as it is now (`Wallet.reload`), without
deriving the key again; a file that now holds another identity locks the app again.

The app may be started with the passphrase (`MYDATA_PASSPHRASE`, as `mydata demo` does for
its demo citizen): the wallet then unlocks as soon as it exists. Locking forgets it too.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ledger.passphrase_seal import WrongPassphrase
from ledger.wallet import Wallet, WalletError


class WalletDoor:
    def __init__(self, path: Path, passphrase: str | None = None):
        self.path = path
        self._given = passphrase
        self._wallet: Wallet | None = None
        self._mutex = threading.Lock()

    def exists(self) -> bool:
        return self.path.exists()

    def current(self) -> Wallet | None:
        """The unlocked wallet as the file holds it now; None while locked or missing."""
        with self._mutex:
            if not self.path.exists():
                self._wallet = None
                return None
            if self._wallet is None and self._given is not None:
                try:
                    self._wallet = Wallet.open(self.path, self._given)
                except WrongPassphrase:
                    self._given = None  # not this wallet's: the citizen unlocks it by hand
            if self._wallet is not None:
                try:
                    self._wallet = self._wallet.reload()
                except WalletError:
                    self._wallet = None
            return self._wallet

    def unlock(self, passphrase: str) -> Wallet:
        """Open the wallet with `passphrase` (WrongPassphrase if it is not the wallet's)."""
        wallet = Wallet.open(self.path, passphrase)
        with self._mutex:
            self._wallet = wallet
        return wallet

    def create(self, passphrase: str, phrase: str | None = None) -> Wallet:
        """A new wallet (a new identity, or the one `phrase` restores), unlocked."""
        wallet = Wallet.create(self.path, passphrase, phrase)
        with self._mutex:
            self._wallet = wallet
        return wallet

    def lock(self) -> None:
        """Forget the unlocked wallet (and any passphrase the app was started with)."""
        with self._mutex:
            self._wallet, self._given = None, None
