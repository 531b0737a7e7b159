"""Blob stores: immutable byte strings named by their SHA-256, grouped per citizen.

The PDS keeps encrypted envelopes here and their metadata in SQL. A blob is written (and
durable) before the metadata that names it commits, so a crash leaves at worst an
unreferenced blob, never a version without its data. Readers check the SHA-256 before
they trust a blob.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Protocol

from ledger.durable import write_atomic


class BlobStore(Protocol):
    def put(self, owner: str, digest: str, data: bytes) -> None: ...

    def get(self, owner: str, digest: str) -> bytes:
        """The blob (FileNotFoundError if there is none)."""
        ...

    def erase(self, owner: str) -> None:
        """Delete every blob of `owner` for good."""
        ...


class FileBlobs:
    """Blobs as fsynced files under `folder`, one subfolder per owner (one host)."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def _owner_folder(self, owner: str) -> Path:
        return self.folder / hashlib.sha256(owner.encode()).hexdigest()[:32]

    def put(self, owner: str, digest: str, data: bytes) -> None:
        write_atomic(self._owner_folder(owner) / digest, data)

    def get(self, owner: str, digest: str) -> bytes:
        return (self._owner_folder(owner) / digest).read_bytes()

    def erase(self, owner: str) -> None:
        shutil.rmtree(self._owner_folder(owner), ignore_errors=True)
