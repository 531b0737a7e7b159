"""C2SP tlog-tiles paths and entry bundles."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import MyDataError

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
_INDEX = r"((?:x\d{3}/)*\d{3})"
_PATH = re.compile(rf"^(\d+|entries)/{_INDEX}(?:\.p/(\d+))?$", re.ASCII)  # ASCII digits only


class TileError(MyDataError, ValueError):
    """A tile path or bundle is malformed."""

    problem_type = "tile-not-found"


@dataclass(frozen=True)
class Tile:
    level: int | None  # None for entry bundles
    index: int
    width: int  # 1..256; 256 is a full tile

    @property
    def path(self) -> str:
        lvl = "entries" if self.level is None else str(self.level)
        suffix = "" if self.width == TILE_WIDTH else f".p/{self.width}"
        return f"tile/{lvl}/{encode_index(self.index)}{suffix}"


def encode_index(n: int) -> str:
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        groups.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(groups))


def parse_path(path: str) -> Tile:
    """Parse `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]` (the part after `tile/`)."""
    m = _PATH.match(path)
    if not m:
        raise TileError(f"malformed tile path {path!r}")
    level_s, index_s, width_s = m.groups()
    level = None if level_s == "entries" else int(level_s)
    if level is not None and (level > 63 or (level_s != "0" and level_s.startswith("0"))):
        raise TileError(f"invalid tile level {level_s!r}")
    width = TILE_WIDTH
    if width_s is not None:
        width = int(width_s)
        if not 1 <= width < TILE_WIDTH or width_s.startswith("0"):
            raise TileError(f"invalid partial tile width {width_s!r}")
    return Tile(level, int(index_s.replace("x", "").replace("/", "")), width)


def tile_width_at(level: int, index: int, tree_size: int) -> int:
    """How many hashes tile (level, index) has in a tree of `tree_size` (0 if none)."""
    count = tree_size >> (TILE_HEIGHT * level)  # hashes at this tile level
    return max(0, min(TILE_WIDTH, count - index * TILE_WIDTH))


def encode_bundle(entries: Iterable[bytes]) -> bytes:
    out = bytearray()
    for e in entries:
        if len(e) > 0xFFFF:
            raise TileError("entry is larger than 65535 bytes")
        out += struct.pack(">H", len(e)) + e
    return bytes(out)


def decode_bundle(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise TileError("truncated entry bundle")
        (n,) = struct.unpack_from(">H", data, pos)
        pos += 2
        if pos + n > len(data):
            raise TileError("truncated entry bundle")
        out.append(data[pos : pos + n])
        pos += n
    return out
