"""Reading subtree hashes from the stored C2SP tlog-tiles, for proofs.

A tile at tile level L, index N holds the hashes of tree level 8·L, nodes 256·N … 256·N+255.
A node at a level between two tile levels is computed from at most 128 hashes of one tile.
"""

from __future__ import annotations

from . import merkle
from .models import Log, Tile
from .sequencer import TILE_HEIGHT, TILE_WIDTH


class MissingTile(LookupError):
    pass


class TileHashes:
    def __init__(self, log: Log) -> None:
        self.log = log
        self._tiles: dict[tuple[int, int], bytes] = {}

    def tile(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self._tiles:
            row = Tile.objects.filter(log=self.log, level=level, index=index).first()
            if row is None:
                raise MissingTile(f"tile {level}/{index} of {self.log.origin}")
            self._tiles[key] = bytes(row.hashes)
        return self._tiles[key]

    def hashes(self, level: int, start: int, count: int) -> list[bytes]:
        """`count` consecutive hashes of tree level 8·level, all in one tile."""
        data = self.tile(level, start // TILE_WIDTH)
        offset = (start % TILE_WIDTH) * merkle.HASH_SIZE
        end = offset + count * merkle.HASH_SIZE
        if len(data) < end:
            raise MissingTile(f"tile {level}/{start // TILE_WIDTH} is short")
        return [data[i : i + merkle.HASH_SIZE] for i in range(offset, end, merkle.HASH_SIZE)]

    def hash_at(self, level: int, index: int) -> bytes:
        tile_level, height = divmod(level, TILE_HEIGHT)
        width = 1 << height
        return merkle.perfect_root(self.hashes(tile_level, index * width, width))

    def leaf_hashes(self, size: int) -> list[bytes]:
        result: list[bytes] = []
        for tile_index in range((size + TILE_WIDTH - 1) // TILE_WIDTH):
            count = min(TILE_WIDTH, size - tile_index * TILE_WIDTH)
            result.extend(self.hashes(0, tile_index * TILE_WIDTH, count))
        return result


def tile_path(level: int | str, index: int, width: int | None = None) -> str:
    """C2SP tlog-tiles path of a tile: tile/<L>/x001/x234/067[.p/<W>]."""
    digits = f"{index:03d}"
    while len(digits) % 3:
        digits = "0" + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    path = "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])
    suffix = f".p/{width}" if width is not None and width < TILE_WIDTH else ""
    return f"tile/{level}/{path}{suffix}"


def parse_tile_index(parts: list[str]) -> tuple[int, int | None]:
    """The index and partial width of a tile path's segments after the level."""
    if not parts:
        raise ValueError("no tile index")
    width = None
    if len(parts) >= 2 and parts[-2].endswith(".p"):
        width_text = parts[-1]
        if not width_text.isdigit() or not 1 <= int(width_text) < TILE_WIDTH:
            raise ValueError("bad partial width")
        if width_text != str(int(width_text)):
            raise ValueError("bad partial width")
        width = int(width_text)
        parts = [*parts[:-2], parts[-2][:-2]]
    *heads, last = parts
    if any(len(h) != 4 or not h.startswith("x") or not h[1:].isdigit() for h in heads):
        raise ValueError("bad tile index")
    if len(last) != 3 or not last.isdigit():
        raise ValueError("bad tile index")
    number = "".join(h[1:] for h in heads) + last
    if heads and heads[0] == "x000":
        raise ValueError("tile index with leading zero group")
    return int(number), width
