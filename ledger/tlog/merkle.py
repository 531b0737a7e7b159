"""RFC 9162 Merkle tree hashing, proof construction and proof verification.

Pure functions over SHA-256 with the 0x00 leaf / 0x01 node prefixes. Proof
construction takes a `subtree(start, end)` callable so that storage decides how
subtree hashes are read (the log store answers from stored interior nodes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from ..errors import MyDataError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

SubtreeHash = Callable[[int, int], bytes]


class ProofError(MyDataError, ValueError):
    """A proof, root or tree size does not verify."""

    problem_type = "invalid-proof"


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Decompose [start, end) into aligned perfect subtrees, left to right, as (level, index)."""
    out = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        out.append((level, start >> level))
        start += 1 << level
    return out


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """Root of a range from its perfect subtrees listed left to right."""
    h = hashes[-1]
    for left in reversed(hashes[:-1]):
        h = node_hash(left, h)
    return h


class CompactRange:
    """The right edge of a growing tree: one hash per perfect subtree of [0, size), left to right."""

    __slots__ = ("size", "hashes", "levels")

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()):
        self.size = size
        self.hashes = list(hashes)
        self.levels = [level for level, _ in perfect_subtrees(0, size)]

    def append(self, leaf: bytes, on_node: Callable[[int, int, bytes], None] | None = None) -> None:
        """Add one leaf hash; `on_node(level, index, hash)` sees every completed node."""
        self.append_subtree(0, leaf, on_node)

    def append_subtree(self, level: int, h: bytes, on_node: Callable[[int, int, bytes], None] | None = None) -> None:
        """Add the hash of a perfect subtree of 2**level leaves; the size must be a multiple of that."""
        if self.size % (1 << level):
            raise ValueError(f"a level-{level} subtree cannot start at {self.size}")
        self.size += 1 << level
        hashes, levels = self.hashes, self.levels
        hashes.append(h)
        levels.append(level)
        if on_node:
            on_node(level, (self.size >> level) - 1, h)
        while len(levels) > 1 and levels[-1] == levels[-2]:
            right = hashes.pop()
            levels.pop()
            hashes[-1] = node_hash(hashes[-1], right)
            levels[-1] += 1
            if on_node:
                on_node(levels[-1], (self.size >> levels[-1]) - 1, hashes[-1])

    def root(self) -> bytes:
        return fold_right(self.hashes) if self.hashes else EMPTY_ROOT

    def copy(self) -> CompactRange:
        return CompactRange(self.size, self.hashes)


def perfect_root(hashes: list[bytes]) -> bytes:
    """Root of a perfect subtree from its 2**k leaf (or node) hashes."""
    while len(hashes) > 1:
        it = iter(hashes)
        hashes = [node_hash(a, b) for a, b in zip(it, it)]
    return hashes[0]


def root_of(leaves: Iterable[bytes]) -> bytes:
    """MTH of a sequence of leaf data (not leaf hashes)."""
    cr = CompactRange()
    for data in leaves:
        cr.append(leaf_hash(data))
    return cr.root()


def inclusion_path(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 section 2.1.3.1, leaf sibling first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    path: list[bytes] = []
    start, n, m = 0, size, index
    frames = []
    while n > 1:
        k = split_point(n)
        if m < k:
            frames.append((start + k, start + n))
            n = k
        else:
            frames.append((start, start + k))
            start, n, m = start + k, n - k, m - k
    for lo, hi in reversed(frames):
        path.append(subtree(lo, hi))
    return path


def consistency_path(old: int, new: int, subtree: SubtreeHash) -> list[bytes]:
    """PROOF(old, D[0:new]) of RFC 9162 section 2.1.4.1."""
    if not 0 <= old <= new:
        raise ProofError(f"no consistency proof from size {old} to {new}")
    if old in (0, new):
        return []
    frames = []
    start, n, m, whole = 0, new, old, True
    while m != n:
        k = split_point(n)
        if m <= k:
            frames.append((start + k, start + n))
            n = k
        else:
            frames.append((start, start + k))
            start, n, m, whole = start + k, n - k, m - k, False
    path = [] if whole else [subtree(start, start + n)]
    path.extend(subtree(lo, hi) for lo, hi in reversed(frames))
    return path


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """Recompute the root from a leaf hash and its inclusion path (RFC 9162 2.1.3.2)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if len(p) != HASH_SIZE:
            raise ProofError("inclusion proof has a hash of the wrong length")
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> None:
    if root_from_inclusion(index, size, leaf, path) != root:
        raise ProofError(f"inclusion proof for leaf {index} does not lead to the root of size {size}")


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]) -> None:
    """Verify a consistency proof between two tree heads (RFC 9162 2.1.4.2)."""
    if not 0 <= old <= new:
        raise ProofError(f"tree size went backwards from {old} to {new}")
    if old == new:
        if path or old_root != new_root:
            raise ProofError(f"two different roots for tree size {old}")
        return
    if old == 0:
        if path:
            raise ProofError("consistency proof from an empty tree must be empty")
        return
    if not path or any(len(p) != HASH_SIZE for p in path):
        raise ProofError("consistency proof is empty or malformed")
    path = list(path)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != old_root or sr != new_root:
        raise ProofError(f"log of size {new} is not an extension of the log of size {old}")
