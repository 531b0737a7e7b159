"""Wires the operator's parts together: log, chain client, registry, follower and anchorer.

Background threads follow new blocks (to log direct-on-chain revocations) and
anchor checkpoints on the configured schedule.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount

from consent_operator.chain.anchoring import Anchorer
from consent_operator.chain.follower import ChainFollower, default_confirmations
from consent_operator.log.log_writer import LogWriterClient
from consent_operator.log.witnessing import Witness, Witnesses
from ledger.chain import ChainClient
from ledger.contract import Deployment
from ledger.registry import Registry
from ledger.request_auth import RequestSigner, RequestVerifier
from ledger.tlog.note import Signer
from storage.backends import Backend, open_backend
from storage.directory import Directory
from storage.log import LogStore

from .access.auth import public_key_for
from .access.consent_states import ConsentStates
from .access.pds_client import PdsClient
from .access.rate_limits import RateLimits
from .access.release_cache import ReleaseCache
from .access.service_keys import ServiceKeys
from .config import OperatorConfig
from .keystore import OPERATOR_KEY_ID, FileSecrets, OperatorSecrets
from .leadership import Leader
from .notify.notifier import Notifier

log = logging.getLogger(__name__)


@dataclass
class OperatorRuntime:
    """Everything the operator's handlers use, built once per process (after gunicorn forks)
    by `start`: the typed `rt` that the release path, the blueprints and the background
    thread share."""

    config: OperatorConfig
    account: LocalAccount
    signer: Signer
    admin_token: str
    backend: Backend
    log: LogStore
    client: ChainClient
    deployment: Deployment
    registry: Registry
    follower: ChainFollower
    anchorer: Anchorer
    tx_lock: AbstractContextManager[object]  # one operator account for every worker and replica: its nonces in turn
    directory: Directory
    pds: PdsClient | None
    release_cache: ReleaseCache
    consent_states: ConsentStates
    rate_limits: RateLimits
    service_keys: ServiceKeys
    request_verifier: RequestVerifier
    notifier: Notifier | None = None  # set by start: it needs the runtime itself
    _stop: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls, config: OperatorConfig, secrets: OperatorSecrets | None = None) -> OperatorRuntime:
        """Open the stores, check the deployment, catch up with the chain and (if configured)
        start the background thread. Keys come from `secrets` (default: the data directory's)."""
        secrets = secrets or FileSecrets(config.data_dir)
        backend = open_backend(config.database_url, config.data_dir)
        try:
            return cls._start_on(backend, config, secrets)
        except BaseException:  # refused (an old schema, another log key, a wrong deployment): its pool goes too
            backend.close()
            raise

    @classmethod
    def _start_on(cls, backend: Backend, config: OperatorConfig, secrets: OperatorSecrets) -> OperatorRuntime:
        account = secrets.chain_account()
        signer = secrets.log_signer(config.log_origin)
        backend.check_schema()
        writer = LogWriterClient(config.log_writer_socket) if config.log_writer_socket else None
        log = backend.log(config.log_origin, signer, writer)
        client = ChainClient(config.chain_url, account)
        deployment = Deployment.load(config.deployment_file)
        deployment.check(client)
        registry = Registry.of(client, deployment)
        directory = backend.directory()
        service_keys = ServiceKeys(lambda sid: s.sign_key if (s := directory.service(sid)) else None)
        rt = cls(
            config=config,
            account=account,
            signer=signer,
            admin_token=secrets.admin_token(),
            backend=backend,
            log=log,
            client=client,
            deployment=deployment,
            registry=registry,
            follower=ChainFollower(registry, log, _confirmations(config, client), backend.lock("follower")),
            anchorer=Anchorer(
                log, registry, account, config.anchor_every_entries, config.anchor_every_seconds, Witnesses([Witness.parse(w) for w in config.witnesses])
            ),
            tx_lock=backend.lock("chain-tx"),
            directory=directory,
            pds=PdsClient(config.pds_url, secrets.request_seed()) if config.pds_url else None,
            release_cache=ReleaseCache(config.release_cache_seconds),
            consent_states=ConsentStates(),
            rate_limits=RateLimits(config.rate_limits, backend.rate_counters()),
            service_keys=service_keys,
            request_verifier=RequestVerifier(lambda key_id: public_key_for(service_keys, key_id), backend.replay_store()),
        )
        rt.notifier = Notifier(rt, RequestSigner(OPERATOR_KEY_ID, secrets.request_seed()))
        rt.anchorer.reconcile()
        rt.follower.sync()
        if config.background:
            threading.Thread(target=rt._loop, name="chain-follower", daemon=True).start()
            threading.Thread(target=rt.notifier.run, args=(config.notify_poll_seconds,), name="notifier", daemon=True).start()
        return rt

    def _loop(self) -> None:
        """Watch the node's head, follow the chain and anchor, in one process of all workers
        and replicas only (the holder of the backend's "background" lock, sought and checked
        every poll_seconds, so a dead holder is replaced within about one). A new block is
        noted within head_poll_seconds (from then on no release waits on it unfollowed), then
        followed. Every poll_seconds, entries appended before a pause are published (once the
        latest checkpoint is the log's interval old) and anchoring runs."""
        leader, next_anchor = Leader(self.backend, "background", self.config.poll_seconds), 0.0
        while not self._stop.wait(self.config.head_poll_seconds):
            try:
                if not leader.held():
                    continue
                if self.follower.note_head():
                    self.follower.sync()
                if time.monotonic() >= next_anchor:
                    next_anchor = time.monotonic() + self.config.poll_seconds
                    self.log.publish_if_due()  # (two reads: not on every head poll)
                    self.anchor_and_follow()
            except Exception as exc:  # noqa: BLE001 - chain or database unreachable or busy: the next tick retries
                log.warning("background chain work failed (will retry): %s", exc)

    def anchor_and_follow(self) -> None:
        """Anchor if due, then follow the chain at once, the anchor's own block included: left
        to the watcher, that block would be noted unfollowed and every release would follow
        the chain itself first (a stall of all releases once per anchor: p99 308 ms -> 63 ms
        in bench/releases.py)."""
        with self.tx_lock:
            self.anchorer.tick()
        self.follower.sync()

    def stop(self) -> None:
        """End the background work and let go of the database (a sequencer's lock goes at once)."""
        self._stop.set()
        if self.notifier is not None:
            self.notifier.stop()
        self.backend.close()


def _confirmations(config: OperatorConfig, client: ChainClient) -> int:
    return default_confirmations(client.chain_id) if config.confirmations is None else config.confirmations
