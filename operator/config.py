"""Operator settings, with embedded defaults so `mydata up` needs no configuration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .access.rate_limits import RateLimitConfig


@dataclass(frozen=True)
class OperatorConfig:
    data_dir: Path
    chain_url: str
    deployment_file: Path
    log_origin: str = "mydata.localhost/consent-log"
    anchor_every_entries: int = 100
    anchor_every_seconds: float = 30.0
    poll_seconds: float = 1.0  # anchoring schedule checks
    head_poll_seconds: float = 0.05  # how often the watcher asks the node for its newest block
    # how often the notifier looks for endings to tell services of: each look is ~5 queries,
    # and a service is told within this (releases are denied at once, whatever it says)
    notify_poll_seconds: float = 0.25
    confirmations: int | None = None  # blocks deep before a chain event is logged; None: by chain (follower.default_confirmations)
    background: bool = True  # follow the chain and anchor in background threads
    pds_url: str | None = None  # the personal data store the release path reads from
    release_cache_seconds: float = 1.0  # how long a released ciphertext is reused (0: never)
    log_writer_socket: Path | None = None  # a log writer process commits appends (see log_writer_process)
    rate_limits: RateLimitConfig = RateLimitConfig()
    database_url: str | None = None  # shared state of replicas (storage.backends); None: SQLite in data_dir
    archive_after_days: float = 30.0  # an ended consent leaves the live index this long after it ended (access/archiving.py)
    witnesses: tuple[str, ...] = ()  # URL=VKEY of each witness that cosigns checkpoints before they are anchored
    # Benchmark baseline only: also ask the chain (eth_call isActive) on every release.
    eth_call_per_release: bool = False

    @property
    def log_db(self) -> Path:
        return self.data_dir / "log.sqlite"
