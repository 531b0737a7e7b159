"""The operator's own integrity check: every stored hash recomputed from the log's entries.

Proofs and roots are served from stored interior nodes, which no auditor sees (tiles
carry only every eighth level). `mydata operator` runs this check before it serves or
appends, and `mydata operator check` runs it on demand.
"""

from __future__ import annotations

from pathlib import Path

from storage.backends import open_backend

from .. import keystore
from ..config import OperatorConfig


def check_log(data_dir: Path, origin: str = OperatorConfig.log_origin, database_url: str | None = None) -> int:
    """Number of entries whose stored hashes all match; LogCorrupt names the first that does not."""
    backend = open_backend(database_url, data_dir)
    try:
        backend.check_schema()
        return backend.log(origin, keystore.log_signer(data_dir, origin)).check()
    finally:
        backend.close()  # `mydata operator` checks before gunicorn forks: nothing of it may cross the fork
