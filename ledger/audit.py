"""The auditor: verify the operator's log and its chain anchors from the outside.

It fetches the signed checkpoint and every entry bundle and hash tile, recomputes
the tree, checks consistency with the state it verified last time (kept locally,
so a rollback or fork is caught), checks every on-chain anchor against the log,
and every on-chain grant or revocation against its log entry and back.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from . import events
from .chain_entries import entry_for
from .durable import write_atomic
from .errors import MyDataError
from .events import ChainKey
from .problem_json import unreachable
from .registry import Anchor, Registry
from .tlog import merkle, tiles
from .tlog.checkpoint import CheckpointError, open_checkpoint
from .tlog.cosignature import WitnessPolicy
from .tlog.note import NoteError, Verifier


class AuditFailure(MyDataError):
    """The first inconsistency found; the message names it."""

    problem_type = "audit-failed"


@dataclass
class AuditReport:
    origin: str
    size: int
    root: str
    previous_size: int
    anchors_checked: int
    chain_events_checked: int
    entries_by_type: dict[str, int] = field(default_factory=dict)
    accesses_by_service: dict[str, dict[str, int]] = field(default_factory=dict)
    cosigners: list[str] = field(default_factory=list)  # witnesses of the latest anchored checkpoint (under the policy given)


@dataclass
class AuditState:
    """What the auditor verified last time, pinned for the next run."""

    origin: str
    vkey: str
    contract: str
    chain_id: int
    deployment_block: int
    size: int = 0
    root: str = base64.b64encode(merkle.EMPTY_ROOT).decode()
    followed_block: int = -1

    @classmethod
    def load(cls, path: Path) -> AuditState | None:
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            raise AuditFailure(f"audit state {path} is unreadable: {exc}") from exc

    def save(self, path: Path) -> None:
        write_atomic(path, json.dumps(self.__dict__, indent=2).encode())


class LogFetcher:
    """Reads a tlog-tiles log over HTTP."""

    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/")
        self.session = requests.Session()

    def text(self, path: str) -> str:
        return self._get(path).decode()

    def _get(self, path: str) -> bytes:
        try:
            resp = self.session.get(f"{self.base}/{path}", timeout=60)
        except requests.RequestException as exc:
            raise AuditFailure(f"operator unreachable: {unreachable(self.base, exc)}") from None
        if resp.status_code != 200:
            raise AuditFailure(f"operator answered {resp.status_code} for {path}")
        return resp.content

    def tile(self, level: int | None, index: int, width: int) -> bytes:
        return self._get("log/" + tiles.Tile(level, index, width).path)

    def json(self, path: str) -> Any:
        return json.loads(self._get(path))


def _tile_widths(size: int, level: int) -> Iterator[tuple[int, int]]:
    """(index, width) of every tile at `level` in a tree of `size`."""
    count = size >> (tiles.TILE_HEIGHT * level)
    for index in range(0, (count + tiles.TILE_WIDTH - 1) // tiles.TILE_WIDTH):
        yield index, min(tiles.TILE_WIDTH, count - index * tiles.TILE_WIDTH)


def run_audit(
    operator_url: str,
    registry_for: Callable[[int, str], Registry],
    state_path: Path,
    vkey: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    witnesses: WitnessPolicy | None = None,
) -> AuditReport:
    fetch = LogFetcher(operator_url)
    info = fetch.json("ledger/info")
    state = AuditState.load(state_path)
    if state is None:  # first visit: trust on first use, unless pinned by the caller
        state = AuditState(
            info["log"]["origin"], vkey or info["log"]["vkey"], info["contract"], info["chain_id"], info["deployment_block"]
        )
    if vkey and vkey != state.vkey:
        raise AuditFailure("the pinned log key differs from the one verified before")
    if (info["contract"], info["chain_id"]) != (state.contract, state.chain_id):
        raise AuditFailure(f"operator now names contract {info['contract']}, audited before: {state.contract}")

    try:
        cp = open_checkpoint(fetch.text("log/checkpoint"), Verifier.from_vkey(state.vkey), state.origin)
    except (CheckpointError, NoteError) as exc:
        raise AuditFailure(f"checkpoint signature or format is invalid: {exc}") from None
    if cp.size < state.size:
        raise AuditFailure(f"log rolled back: size {cp.size} is smaller than the verified size {state.size}")
    followed = info["followed_block"]
    if followed < state.followed_block:
        raise AuditFailure(f"operator's followed block went back from {state.followed_block} to {followed}")

    registry = registry_for(state.chain_id, state.contract)
    _check_creation_block(registry, state.deployment_block)
    registry.from_block = state.deployment_block
    anchors = registry.anchors()
    interesting = {state.size} | {a.size for a in anchors if a.size <= cp.size}
    tree = _TreeCheck(cp.size, interesting)
    for index, bundle, level0 in _fetch_level0(fetch, cp.size):
        tree.add_tile(index, bundle, level0)
        if progress:
            progress(tree.range.size, cp.size)

    if tree.range.root() != cp.root:
        raise AuditFailure(f"entries do not hash to the checkpoint root at size {cp.size}")
    if tree.roots[state.size] != base64.b64decode(state.root):
        raise AuditFailure(f"log forked: the tree at the verified size {state.size} has another root")
    tree.check_upper_tiles(fetch)

    for a in anchors:
        if a.size > cp.size:
            raise AuditFailure(f"anchor {a.index} covers size {a.size}, beyond the log's size {cp.size}")
        if tree.roots[a.size] != a.root:
            raise AuditFailure(f"anchor {a.index} at size {a.size} does not match the log's root")
    logged, by_type = tree.logged, tree.by_type

    cosigners = _check_witnesses(fetch, witnesses, Verifier.from_vkey(state.vkey), anchors[-1]) if witnesses and anchors else []
    block_time = _BlockTimes(registry)
    checked = _check_chain_events(registry, logged, followed, block_time)
    _check_releases(tree.releases, logged, block_time)
    state.size, state.root, state.followed_block = cp.size, base64.b64encode(cp.root).decode(), followed
    previous = AuditState.load(state_path)
    state.save(state_path)
    return AuditReport(
        cp.origin, cp.size, base64.b64encode(cp.root).decode(), previous.size if previous else 0, len(anchors), checked, by_type, tree.accesses, cosigners
    )


def _check_witnesses(fetch: LogFetcher, witnesses: WitnessPolicy, log_key: Verifier, anchor: Anchor) -> list[str]:
    """The witnesses that cosigned the checkpoint of the latest anchor; AuditFailure if fewer
    than the policy asks, or if the operator's copy of that checkpoint is not the anchored one."""
    signed = fetch.text(f"log/checkpoints/{anchor.size}")
    try:
        cp = open_checkpoint(signed, log_key)
        if (cp.size, cp.root) != (anchor.size, anchor.root):
            raise AuditFailure(f"the operator's checkpoint of size {anchor.size} is not the one anchored on chain")
        return witnesses.check(signed)
    except (CheckpointError, NoteError) as exc:
        raise AuditFailure(f"the latest anchored checkpoint (size {anchor.size}): {exc}") from None


def _check_creation_block(registry: Registry, block: int) -> None:
    """The contract has code at `block` and none before, so no registry event predates it."""
    w3 = registry.client.w3
    before = w3.eth.get_code(registry.address, block - 1) if block > 0 else b""
    if len(before) or not len(w3.eth.get_code(registry.address, block)):
        raise AuditFailure(f"the registry {registry.address} was not created in block {block}")


_TYPE = re.compile(rb'"type":"([a-z]+\.[a-z]+)"')


def _fetch_level0(fetch: LogFetcher, size: int) -> Iterator[tuple[int, list[bytes], bytes]]:
    """Yield (index, entry bundle, level-0 hash tile) in order, fetched a few tiles ahead."""
    widths = list(_tile_widths(size, 0))

    def get(iw: tuple[int, int]) -> tuple[int, list[bytes], bytes]:
        index, width = iw
        bundle = tiles.decode_bundle(fetch.tile(None, index, width))
        if len(bundle) != width:
            raise AuditFailure(f"entry bundle {index} has {len(bundle)} entries, expected {width}")
        return index, bundle, fetch.tile(0, index, width)

    with ThreadPoolExecutor(max_workers=8) as pool:
        yield from pool.map(get, widths)


class _TreeCheck:
    """Rebuilds the tree tile by tile, keeping roots at the sizes of interest and the
    level-8 hashes needed to check the upper hash tiles."""

    def __init__(self, size: int, interesting: set[int]):
        self.size = size
        self.interesting = interesting
        self.range = merkle.CompactRange()
        self.roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
        self.level1: list[bytes] = []  # roots of full level-0 tiles
        self.logged: dict[ChainKey, dict[str, Any]] = {}
        self.by_type: dict[str, int] = {}
        self.releases: list[tuple[int, str, int]] = []  # (log index, consent id, checked block)
        self.accesses: dict[str, dict[str, int]] = {}  # service -> data.read/written/denied -> count

    def add_tile(self, index: int, bundle: list[bytes], level0: bytes) -> None:
        start = index * tiles.TILE_WIDTH
        leaves = [hashlib.sha256(b"\x00" + data).digest() for data in bundle]
        if b"".join(leaves) != level0:
            raise AuditFailure(f"hash tile 0/{index} does not match the entries")
        full = len(leaves) == tiles.TILE_WIDTH
        inside = any(start < s < start + len(leaves) for s in self.interesting)
        if full:
            self.level1.append(merkle.perfect_root(leaves))
        if full and not inside:
            self.range.append_subtree(tiles.TILE_HEIGHT, self.level1[-1])
            self._remember_root()
        else:
            for leaf in leaves:
                self.range.append(leaf)
                self._remember_root()
        for offset, data in enumerate(bundle):
            self._read_entry(start + offset, data)

    def _remember_root(self) -> None:
        if self.range.size in self.interesting:
            self.roots[self.range.size] = self.range.root()

    def _read_entry(self, index: int, data: bytes) -> None:
        m = _TYPE.search(data)
        kind = m.group(1).decode() if m else None
        if kind not in events.TYPES:
            raise AuditFailure(f"log entry {index} is not a typed event")
        self.by_type[kind] = self.by_type.get(kind, 0) + 1
        if kind in events.DATA_TYPES:
            ev = json.loads(data)
            per_service = self.accesses.setdefault(str(ev.get("service")), {})
            per_service[kind] = per_service.get(kind, 0) + 1
            if kind != events.DATA_DENIED and ev.get("consent_id"):
                self.releases.append((index, ev["consent_id"], ev["block"]))
        if kind == events.CHAIN_REORGED:
            self._withdraw(index, data)
        if kind in events.CHAIN_TYPES:
            try:
                ev = events.decode(data)
            except events.EntryError as exc:
                raise AuditFailure(f"log entry {index}: {exc}") from None
            key = events.chain_key(ev)
            assert key is not None  # its kind is a chain type
            if key in self.logged:
                raise AuditFailure(f"chain event {key} is logged twice")
            self.logged[key] = ev

    def _withdraw(self, index: int, data: bytes) -> None:
        """A reorg orphaned these events: they leave the set the chain must match (and if the
        winning chain has them after all, they are missing from the log unless logged again)."""
        try:
            withdrawn = events.withdrawn_keys(events.decode(data))
        except (events.EntryError, KeyError, TypeError, AttributeError) as exc:
            raise AuditFailure(f"log entry {index}: malformed withdrawal ({exc!r})") from None
        for key in withdrawn:
            if self.logged.pop(key, None) is None:
                raise AuditFailure(f"log entry {index} withdraws chain event {key}, which is not logged")

    def check_upper_tiles(self, fetch: LogFetcher) -> None:
        """Every served hash tile above level 0 must equal the hashes recomputed from the entries."""
        hashes, level = self.level1, 1
        while self.size >> (tiles.TILE_HEIGHT * level):
            for index, width in _tile_widths(self.size, level):
                want = b"".join(hashes[index * tiles.TILE_WIDTH : index * tiles.TILE_WIDTH + width])
                if fetch.tile(level, index, width) != want:
                    raise AuditFailure(f"hash tile {level}/{index} does not match the entries")
            full = len(hashes) // tiles.TILE_WIDTH * tiles.TILE_WIDTH
            hashes = [merkle.perfect_root(hashes[i : i + tiles.TILE_WIDTH]) for i in range(0, full, tiles.TILE_WIDTH)]
            level += 1


class _BlockTimes:
    """Block timestamps, each fetched from the chain once per audit."""

    def __init__(self, registry: Registry):
        self._w3 = registry.client.w3
        self._times: dict[int, int] = {}

    def __call__(self, block: int) -> int:
        if block not in self._times:
            self._times[block] = self._w3.eth.get_block(block)["timestamp"]
        return self._times[block]


def _check_releases(releases: list[tuple[int, str, int]], logged: dict[ChainKey, dict[str, Any]], block_time: _BlockTimes) -> None:
    """No data was released under a consent at or after the block that revoked it, nor once
    the chain time of the block checked had reached its expiry."""
    revoked_at = {e["consent_id"]: e["block"] for e in logged.values() if e["type"] == events.CONSENT_REVOKED}
    expires = {e["consent_id"]: e["expires_at"] for e in logged.values() if e["type"] == events.CONSENT_GRANTED}
    for index, consent_id, block in releases:
        if consent_id in revoked_at and block >= revoked_at[consent_id]:
            raise AuditFailure(f"log entry {index} releases data under {consent_id} after its revocation in block {revoked_at[consent_id]}")
        if consent_id in expires and block_time(block) >= expires[consent_id]:
            raise AuditFailure(f"log entry {index} releases data under {consent_id} after it expired")


def _check_chain_events(registry: Registry, logged: dict[ChainKey, dict[str, Any]], followed: int, block_time: _BlockTimes) -> int:
    """Every grant/revocation on chain up to the followed block is logged as it happened, and every
    logged one happened on chain (the log may already hold events past the followed block)."""
    seen = set()
    upto = max([followed, *(e["block"] for e in logged.values())])
    for ev in registry.events(registry.from_block, upto):
        want = entry_for(ev, block_time(ev.block))
        if want is None:
            continue  # an anchor, not a consent event
        key = events.chain_key(want)
        assert key is not None  # entry_for gives only consent events, which are chain types
        got = logged.get(key)
        if got is None and ev.block > followed:
            continue  # not followed yet
        if got is None:
            raise AuditFailure(f"{want['type']} of {want['consent_id']} in block {ev.block} is missing from the log")
        if got != want:
            raise AuditFailure(f"log entry for {want['type']} of {want['consent_id']} differs from the chain event")
        seen.add(key)
    extra = set(logged) - seen
    if extra:
        stray = logged[sorted(extra)[0]]
        raise AuditFailure(f"log has {stray['type']} of {stray['consent_id']} (tx {stray['tx']}) with no such chain event")
    return len(seen)
