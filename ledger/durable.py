"""Crash-safe file writes: write a temp file, fsync it, move it into place, fsync the folder.

Each write has its own temporary file (two writers to one path never share one), and the
target is only ever replaced or created whole, so a reader sees the old or the new
content, never a partial file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _written_temp(path: Path, data: bytes, mode: int) -> str:
    """A fsynced temporary file beside `path` holding `data`; returns its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _fsync_dir(folder: Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_atomic(path: str | Path, data: bytes, mode: int = 0o600) -> None:
    """Replace `path` with `data`, durably and atomically."""
    path = Path(path)
    os.replace(_written_temp(path, data, mode), path)
    _fsync_dir(path.parent)


def create_atomic(path: str | Path, data: bytes, mode: int = 0o600) -> bool:
    """Create `path` holding `data` durably, only if it does not exist yet; False if it did.
    Readers never see it empty or half written (it appears by a hard link, whole)."""
    path = Path(path)
    tmp = _written_temp(path, data, mode)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
    _fsync_dir(path.parent)
    return True
