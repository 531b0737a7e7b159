"""RFC 9162 tree hashing and proofs against the RFC 6962 CT test vectors, plus properties."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.tlog import merkle

LEAVES = [bytes.fromhex(h) for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]


def subtree_of(leaves):
    return lambda a, b: merkle.root_of(leaves[a:b])


@pytest.mark.parametrize("size", range(len(ROOTS)))
def test_roots_match_ct_vectors(size):
    assert merkle.root_of(LEAVES[:size]).hex() == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "want"), INCLUSION)
def test_inclusion_proofs_match_ct_vectors(index, size, want):
    path = merkle.inclusion_path(index, size, subtree_of(LEAVES))
    assert [h.hex() for h in path] == want
    merkle.verify_inclusion(index, size, merkle.leaf_hash(LEAVES[index]), path, bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("old", "new", "want"), CONSISTENCY)
def test_consistency_proofs_match_ct_vectors(old, new, want):
    path = merkle.consistency_path(old, new, subtree_of(LEAVES))
    assert [h.hex() for h in path] == want
    merkle.verify_consistency(old, new, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new]), path)


def test_proof_requests_outside_the_tree_are_refused():
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_path(8, 8, subtree_of(LEAVES))
    with pytest.raises(merkle.ProofError):
        merkle.consistency_path(5, 4, subtree_of(LEAVES))
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(5, 4, b"\0" * 32, b"\0" * 32, [])


trees = st.lists(st.binary(max_size=8), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(trees, st.data())
def test_every_inclusion_proof_verifies_and_any_changed_byte_fails(leaves, data):
    size = len(leaves)
    index = data.draw(st.integers(0, size - 1))
    root = merkle.root_of(leaves)
    leaf = merkle.leaf_hash(leaves[index])
    path = merkle.inclusion_path(index, size, subtree_of(leaves))
    merkle.verify_inclusion(index, size, leaf, path, root)
    flip = data.draw(st.integers(0, 31))
    bad_root = root[:flip] + bytes([root[flip] ^ 1]) + root[flip + 1 :]
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(index, size, leaf, path, bad_root)
    bad_leaf = leaf[:flip] + bytes([leaf[flip] ^ 0x80]) + leaf[flip + 1 :]
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(index, size, bad_leaf, path, root)
    if path:
        i = data.draw(st.integers(0, len(path) - 1))
        bad = list(path)
        bad[i] = bad[i][:flip] + bytes([bad[i][flip] ^ 1]) + bad[i][flip + 1 :]
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(index, size, leaf, bad, root)
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(index, size, leaf, path[:-1], root)


@settings(max_examples=150, deadline=None)
@given(trees, st.data())
def test_every_consistency_proof_verifies_and_any_changed_byte_fails(leaves, data):
    new = len(leaves)
    old = data.draw(st.integers(1, new))
    old_root, new_root = merkle.root_of(leaves[:old]), merkle.root_of(leaves)
    path = merkle.consistency_path(old, new, subtree_of(leaves))
    merkle.verify_consistency(old, new, old_root, new_root, path)
    if path:
        i = data.draw(st.integers(0, len(path) - 1))
        bad = list(path)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(old, new, old_root, new_root, bad)
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(old, new, bytes([old_root[0] ^ 1]) + old_root[1:], new_root, path)


EVERY = [b"e%d" % i for i in range(33)]


def test_every_proof_in_trees_up_to_33_verifies_and_each_truncation_or_extension_is_named():
    """Exhaustive over shapes (not only random ones): every index, every pair of sizes."""
    for size in range(1, len(EVERY) + 1):
        leaves, root = EVERY[:size], merkle.root_of(EVERY[:size])
        for index in range(size):
            leaf = merkle.leaf_hash(leaves[index])
            path = merkle.inclusion_path(index, size, subtree_of(leaves))
            merkle.verify_inclusion(index, size, leaf, path, root)
            with pytest.raises(merkle.ProofError, match="^inclusion proof is too long$"):
                merkle.root_from_inclusion(index, size, leaf, [*path, root])
            if path:
                with pytest.raises(merkle.ProofError, match="^inclusion proof is too short$"):
                    merkle.root_from_inclusion(index, size, leaf, path[:-1])
                with pytest.raises(merkle.ProofError, match="^inclusion proof has a hash of the wrong length$"):
                    merkle.root_from_inclusion(index, size, leaf, [path[0][:31], *path[1:]])
                with pytest.raises(merkle.ProofError, match=f"leaf {index} does not lead to the root of size {size}"):
                    merkle.verify_inclusion(index, size, leaf, path, merkle.leaf_hash(b"other"))
        for old in range(1, size):
            old_root = merkle.root_of(leaves[:old])
            path = merkle.consistency_path(old, size, subtree_of(leaves))
            merkle.verify_consistency(old, size, old_root, root, path)
            with pytest.raises(merkle.ProofError, match=f"^(consistency proof is too long|log of size {size} is not an extension of the log of size {old})$"):
                merkle.verify_consistency(old, size, old_root, root, [*path, root])
        if size in (2, 8, 13):
            with pytest.raises(merkle.ProofError, match="^consistency proof is too long$"):
                merkle.verify_consistency(1, size, merkle.root_of(leaves[:1]), root, [*merkle.consistency_path(1, size, subtree_of(leaves)), root])
            with pytest.raises(merkle.ProofError, match="too short|not an extension|empty or malformed"):
                merkle.verify_consistency(old, size, old_root, root, path[:-1])
            with pytest.raises(merkle.ProofError, match=f"log of size {size} is not an extension of the log of size {old}"):
                merkle.verify_consistency(old, size, old_root, merkle.leaf_hash(b"other"), path)


@pytest.mark.parametrize(
    ("old", "new", "old_root", "new_root", "path", "reason"),
    [
        (5, 4, b"a" * 32, b"a" * 32, [], "tree size went backwards from 5 to 4"),
        (-1, 4, b"a" * 32, b"a" * 32, [], "tree size went backwards from -1 to 4"),
        (3, 3, b"a" * 32, b"b" * 32, [], "two different roots for tree size 3"),
        (3, 3, b"a" * 32, b"a" * 32, [b"c" * 32], "two different roots for tree size 3"),
        (0, 3, merkle.EMPTY_ROOT, b"a" * 32, [b"c" * 32], "consistency proof from an empty tree must be empty"),
        (2, 3, b"a" * 32, b"a" * 32, [], "consistency proof is empty or malformed"),
        (2, 3, b"a" * 32, b"a" * 32, [b"c" * 31], "consistency proof is empty or malformed"),
        (2, 3, b"a" * 32, b"a" * 32, [b"c" * 32, b"d" * 33], "consistency proof is empty or malformed"),
    ],
)
def test_each_malformed_consistency_proof_is_refused_with_its_reason(old, new, old_root, new_root, path, reason):
    with pytest.raises(merkle.ProofError) as err:
        merkle.verify_consistency(old, new, old_root, new_root, path)
    assert str(err.value) == reason


def test_the_empty_tree_is_consistent_with_every_tree_and_a_tree_with_itself():
    merkle.verify_consistency(0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [])
    merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, merkle.root_of(EVERY[:5]), [])
    merkle.verify_consistency(4, 4, merkle.root_of(EVERY[:4]), merkle.root_of(EVERY[:4]), [])


@pytest.mark.parametrize(("index", "size"), [(-1, 3), (3, 3), (0, 0)])
def test_an_inclusion_proof_outside_the_tree_names_the_index_and_size(index, size):
    with pytest.raises(merkle.ProofError, match=f"leaf index {index} is outside a tree of size {size}"):
        merkle.root_from_inclusion(index, size, b"a" * 32, [])


@pytest.mark.parametrize(
    ("start", "end", "want"),
    [(0, 13, [(3, 0), (2, 2), (0, 12)]), (4, 13, [(2, 1), (2, 2), (0, 12)]), (5, 8, [(0, 5), (1, 3)]), (6, 6, []), (12, 16, [(2, 3)])],
)
def test_a_range_splits_into_aligned_perfect_subtrees(start, end, want):
    assert merkle.perfect_subtrees(start, end) == want


def test_a_compact_range_takes_whole_subtrees_and_reports_every_node():
    leaves = [merkle.leaf_hash(x) for x in EVERY[:12]]
    by_leaf, by_subtree = merkle.CompactRange(), merkle.CompactRange()
    seen: list[tuple[int, int]] = []
    for leaf in leaves[:8]:
        by_leaf.append(leaf)
    by_subtree.append_subtree(2, merkle.perfect_root(leaves[:4]), lambda lvl, i, h: seen.append((lvl, i)))
    by_subtree.append_subtree(2, merkle.perfect_root(leaves[4:8]), lambda lvl, i, h: seen.append((lvl, i)))
    assert (by_subtree.size, by_subtree.root()) == (8, by_leaf.root()) == (8, merkle.root_of(EVERY[:8]))
    assert seen == [(2, 0), (2, 1), (3, 0)]
    by_subtree.append(leaves[8])
    with pytest.raises(ValueError, match="^a level-1 subtree cannot start at 9$"):
        by_subtree.append_subtree(1, merkle.perfect_root(leaves[9:11]))


def test_perfect_roots_are_the_tree_roots_of_powers_of_two():
    for k in range(6):
        leaves = EVERY[: 1 << k]
        assert merkle.perfect_root([merkle.leaf_hash(x) for x in leaves]) == merkle.root_of(leaves)


def test_a_consistency_proof_from_the_empty_tree_or_to_the_same_size_is_empty():
    assert merkle.consistency_path(0, 7, subtree_of(EVERY)) == [] == merkle.consistency_path(7, 7, subtree_of(EVERY))
    with pytest.raises(merkle.ProofError, match="^no consistency proof from size 8 to 7$"):
        merkle.consistency_path(8, 7, subtree_of(EVERY))
    with pytest.raises(merkle.ProofError, match="^leaf index 7 is outside a tree of size 7$"):
        merkle.inclusion_path(7, 7, subtree_of(EVERY))
