"""The auditor: verify the operator's log and its chain anchors from the outside.

It fetches the signed checkpoint and every entry bundle and hash tile, recomputes
the tree, checks consistency with the state it verified last time (kept locally,
so a rollback or fork is caught), checks every on-chain anchor against the log,
and every on-chain grant or revocation against its log entry and back.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from . import events, merkle, tiles
from .checkpoint import CheckpointError, open_checkpoint
from .durable import write_atomic
from .follower import entry_for
from .note import NoteError, Verifier
from .registry import Registry


class AuditFailure(Exception):
    """The first inconsistency found; the message names it."""


@dataclass
class AuditReport:
    origin: str
    size: int
    root: str
    previous_size: int
    anchors_checked: int
    chain_events_checked: int
    entries_by_type: dict[str, int] = field(default_factory=dict)


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
            raise AuditFailure(f"operator unreachable: {exc}") from None
        if resp.status_code != 200:
            raise AuditFailure(f"operator answered {resp.status_code} for {path}")
        return resp.content

    def tile(self, level: int | None, index: int, width: int) -> bytes:
        return self._get("log/" + tiles.Tile(level, index, width).path)

    def json(self, path: str):
        return json.loads(self._get(path))


def _tile_widths(size: int, level: int):
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
    sizes_of_interest = {state.size} | {a.size for a in anchors if a.size <= cp.size}
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    level_nodes: dict[int, list[bytes]] = {}
    cr = merkle.CompactRange()

    def on_node(level: int, index: int, h: bytes) -> None:
        if level % tiles.TILE_HEIGHT == 0:
            level_nodes.setdefault(level // tiles.TILE_HEIGHT, []).append(h)

    logged: dict[tuple, dict] = {}
    by_type: dict[str, int] = {}
    for index, width in _tile_widths(cp.size, 0):
        bundle = tiles.decode_bundle(fetch.tile(None, index, width))
        if len(bundle) != width:
            raise AuditFailure(f"entry bundle {index} has {len(bundle)} entries, expected {width}")
        for offset, data in enumerate(bundle):
            cr.append(merkle.leaf_hash(data), on_node)
            if cr.size in sizes_of_interest:
                roots[cr.size] = cr.root()
            try:
                ev = json.loads(data)
                kind = ev["type"]
            except (ValueError, KeyError, TypeError):
                raise AuditFailure(f"log entry {index * 256 + offset} is not a typed event") from None
            by_type[kind] = by_type.get(kind, 0) + 1
            key = events.chain_key(ev) if kind in events.CHAIN_TYPES else None
            if key:
                if key in logged:
                    raise AuditFailure(f"chain event {key} is logged twice")
                logged[key] = ev
        if progress:
            progress(cr.size, cp.size)

    if cr.root() != cp.root:
        raise AuditFailure(f"entries do not hash to the checkpoint root at size {cp.size}")
    if roots[state.size] != base64.b64decode(state.root):
        raise AuditFailure(f"log forked: the tree at the verified size {state.size} has another root")
    _check_hash_tiles(fetch, cp.size, level_nodes)

    for a in anchors:
        if a.size > cp.size:
            raise AuditFailure(f"anchor {a.index} covers size {a.size}, beyond the log's size {cp.size}")
        if roots[a.size] != a.root:
            raise AuditFailure(f"anchor {a.index} at size {a.size} does not match the log's root")

    checked = _check_chain_events(registry, logged, followed)
    state.size, state.root, state.followed_block = cp.size, base64.b64encode(cp.root).decode(), followed
    previous = AuditState.load(state_path)
    state.save(state_path)
    return AuditReport(
        cp.origin, cp.size, base64.b64encode(cp.root).decode(), previous.size if previous else 0, len(anchors), checked, by_type
    )


def _check_creation_block(registry: Registry, block: int) -> None:
    """The contract has code at `block` and none before, so no registry event predates it."""
    w3 = registry.client.w3
    before = w3.eth.get_code(registry.address, block - 1) if block > 0 else b""
    if len(before) or not len(w3.eth.get_code(registry.address, block)):
        raise AuditFailure(f"the registry {registry.address} was not created in block {block}")


def _check_hash_tiles(fetch: LogFetcher, size: int, level_nodes: dict[int, list[bytes]]) -> None:
    """Every served hash tile must equal the hashes recomputed from the entries."""
    level = 0
    while size >> (tiles.TILE_HEIGHT * level):
        nodes = level_nodes.get(level, [])
        for index, width in _tile_widths(size, level):
            want = b"".join(nodes[index * tiles.TILE_WIDTH : index * tiles.TILE_WIDTH + width])
            if fetch.tile(level, index, width) != want:
                raise AuditFailure(f"hash tile {level}/{index} does not match the entries")
        level += 1


def _check_chain_events(registry: Registry, logged: dict[tuple, dict], followed: int) -> int:
    """Every grant/revocation on chain up to the followed block is logged as it happened, and every
    logged one happened on chain (the log may already hold events past the followed block)."""
    times: dict[int, int] = {}
    seen = set()
    upto = max([followed, *(e["block"] for e in logged.values())])
    for ev in registry.events(registry.from_block, upto):
        if ev.name == "CheckpointAnchored":
            continue
        if ev.block not in times:
            times[ev.block] = registry.client.w3.eth.get_block(ev.block)["timestamp"]
        want = entry_for(ev, times[ev.block])
        key = events.chain_key(want)
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
        ev = logged[sorted(extra)[0]]
        raise AuditFailure(f"log has {ev['type']} of {ev['consent_id']} (tx {ev['tx']}) with no such chain event")
    return len(seen)
