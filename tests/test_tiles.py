"""C2SP tlog-tiles paths, widths and entry bundles."""

import pytest

from ledger.tlog import tiles


def test_index_encoding_matches_the_spec_example():
    assert tiles.encode_index(1234067) == "x001/x234/067"
    assert tiles.encode_index(5) == "005"
    assert tiles.parse_path("0/x001/x234/067").index == 1234067


def test_paths_round_trip():
    for t in [tiles.Tile(0, 0, 256), tiles.Tile(2, 1000, 17), tiles.Tile(None, 3, 1)]:
        assert tiles.parse_path(t.path.removeprefix("tile/")) == t


@pytest.mark.parametrize("bad", ["0/1", "00/001", "64/001", "0/001.p/256", "0/001.p/0", "entries/001.p/", "x/001"])
def test_malformed_paths_are_refused(bad):
    with pytest.raises(tiles.TileError):
        tiles.parse_path(bad)


def test_tree_of_70000_has_the_tiles_the_spec_lists():
    size = 70_000
    assert tiles.tile_width_at(0, 272, size) == 256 and tiles.tile_width_at(0, 273, size) == 112
    assert tiles.tile_width_at(1, 0, size) == 256 and tiles.tile_width_at(1, 1, size) == 17
    assert tiles.tile_width_at(2, 0, size) == 1
    assert tiles.tile_width_at(0, 274, size) == 0


def test_bundles_round_trip_and_truncation_is_detected():
    entries = [b"", b"a", b"x" * 300]
    data = tiles.encode_bundle(entries)
    assert tiles.decode_bundle(data) == entries
    with pytest.raises(tiles.TileError):
        tiles.decode_bundle(data[:-1])
    with pytest.raises(tiles.TileError):
        tiles.encode_bundle([b"x" * 70000])
