"""RFC 9162 tree hashing and proofs against the RFC 6962 CT test vectors, plus properties."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import merkle

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
