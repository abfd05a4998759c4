"""RFC 6962 / 9162 Merkle trees: the published vectors, and properties over random trees."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from madoguchi.ledger import merkle

from .vectors import CONSISTENCY_PROOFS, EMPTY_ROOT, INCLUSION_PROOFS, LEAVES, ROOTS


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH straight from the RFC's recursive definition."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(
        b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:])
    ).digest()


TREE = merkle.Tree.from_leaves(LEAVES)


def test_hashing_is_domain_separated():
    assert merkle.leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert (
        merkle.node_hash(b"a" * 32, b"b" * 32)
        == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )
    assert merkle.EMPTY_ROOT == EMPTY_ROOT == merkle.Tree().root()


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_published_vectors(size):
    assert TREE.root(size) == ROOTS[size - 1]
    assert merkle.Tree.from_leaves(LEAVES[:size]).root() == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_PROOFS)
def test_inclusion_proofs_match_the_published_vectors(index, size, proof):
    assert TREE.inclusion_proof(index, size) == proof
    merkle.verify_inclusion(index, size, merkle.leaf_hash(LEAVES[index]), proof, ROOTS[size - 1])


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_PROOFS)
def test_consistency_proofs_match_the_published_vectors(first, second, proof):
    assert TREE.consistency_proof(first, second) == proof
    merkle.verify_consistency(first, second, ROOTS[first - 1], ROOTS[second - 1], proof)


def _inclusion_probes(index, size, proof, root, leaf):
    some = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
    probes = [
        (index - 1, size, root, leaf, proof),
        (index + 1, size, root, leaf, proof),
        (index ^ 2, size, root, leaf, proof),
        (index, size * 2, root, leaf, proof),
        (index, size // 2, root, leaf, proof),
        (index, size, root, merkle.leaf_hash(b"WrongLeaf"), proof),
        (index, size, EMPTY_ROOT, leaf, proof),
        (index, size, some, leaf, proof),
        (index, size, root, leaf, [*proof, root]),
        (index, size, root, leaf, [root, *proof]),
    ]
    for position in range(len(proof)):
        wrong = list(proof)
        wrong[position] = bytes([wrong[position][0] ^ 8]) + wrong[position][1:]
        probes.append((index, size, root, leaf, wrong))
    if proof:
        probes.append((index, size, root, leaf, proof[:-1]))
    if len(proof) > 1:
        probes.append((index, size, root, leaf, [proof[0], some, *proof[1:]]))
    return probes


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_PROOFS)
def test_corrupted_inclusion_proofs_are_refused(index, size, proof):
    leaf = merkle.leaf_hash(LEAVES[index])
    for probe in _inclusion_probes(index, size, proof, ROOTS[size - 1], leaf):
        if probe == (index, size, ROOTS[size - 1], leaf, proof):
            continue
        probe_index, probe_size, probe_root, probe_leaf, probe_proof = probe
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(probe_index, probe_size, probe_leaf, probe_proof, probe_root)


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_PROOFS[1:])
def test_corrupted_consistency_proofs_are_refused(first, second, proof):
    root1, root2 = ROOTS[first - 1], ROOTS[second - 1]
    probes = [
        (first - 1, second, root1, root2, proof),
        (first + 1, second, root1, root2, proof),
        (first ^ 2, second, root1, root2, proof),
        (first, second * 2, root1, root2, proof),
        (first, second // 2, root1, root2, proof),
        (first, second, merkle.leaf_hash(b"WrongRoot"), root2, proof),
        (first, second, root1, merkle.leaf_hash(b"WrongRoot"), proof),
        (first, second, root2, root1, proof),
        (first, second, root1, root2, []),
        (first, second, root1, root2, [*proof, root1]),
        (first, second, root1, root2, [*proof, root2]),
        (first, second, root1, root2, [root1, *proof]),
        (first, second, root1, root2, [root2, *proof]),
        (first, second, root1, root2, [proof[0], *proof]),
        (first, second, root1, root2, proof[:-1]),
    ]
    for position in range(len(proof)):
        wrong = list(proof)
        wrong[position] = bytes([wrong[position][0] ^ 16]) + wrong[position][1:]
        probes.append((first, second, root1, root2, wrong))
    for probe in probes:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(*probe)


def test_consistency_edge_cases():
    a, b = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    merkle.verify_consistency(0, 0, a, a, [])
    merkle.verify_consistency(0, 1, a, b, [])
    merkle.verify_consistency(1, 1, b, b, [])
    for first, second, root1, root2, proof in [
        (1, 1, a, b, []),  # a fork: same size, different roots
        (1, 0, a, b, []),
        (2, 1, a, b, []),
        (1, 2, a, b, []),
        (0, 0, a, a, [a]),
        (0, 1, a, a, [a]),
        (1, 1, a, a, [a]),
    ]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(first, second, root1, root2, proof)


def test_impossible_requests_are_refused():
    with pytest.raises(merkle.ProofError):
        TREE.inclusion_proof(8, 8)
    with pytest.raises(merkle.ProofError):
        TREE.consistency_proof(5, 4)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(0, 1, b"short", [], ROOTS[0])


leaves_strategy = st.lists(st.binary(max_size=40), min_size=1, max_size=140)


@settings(max_examples=150, deadline=None)
@given(leaves=leaves_strategy, data=st.data())
def test_random_trees_agree_with_the_definition(leaves, data):
    tree = merkle.Tree.from_leaves(leaves)
    size = len(leaves)
    assert tree.root() == reference_root(leaves)
    for prefix in {1, size // 2 or 1, size}:
        assert tree.root(prefix) == reference_root(leaves[:prefix])

    index = data.draw(st.integers(0, size - 1), label="index")
    proof = tree.inclusion_proof(index)
    merkle.verify_inclusion(index, size, merkle.leaf_hash(leaves[index]), proof, tree.root())
    # The proof for one leaf proves nothing about another.
    if size > 1:
        other = (index + 1) % size
        if leaves[other] != leaves[index]:
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(
                    index, size, merkle.leaf_hash(leaves[other]), proof, tree.root()
                )

    first = data.draw(st.integers(0, size), label="first")
    proof = tree.consistency_proof(first)
    merkle.verify_consistency(first, size, tree.root(first), tree.root(), proof)
    if 0 < first < size and proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="position")
        flipped = list(proof)
        flipped[position] = bytes([flipped[position][0] ^ 1]) + flipped[position][1:]
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(first, size, tree.root(first), tree.root(), flipped)


@settings(max_examples=100, deadline=None)
@given(leaves=leaves_strategy, cut=st.integers(0, 140))
def test_a_compact_range_extends_a_tree_without_its_leaves(leaves, cut):
    cut = min(cut, len(leaves))
    tree = merkle.Tree.from_leaves(leaves)
    start = merkle.Tree.from_leaves(leaves[:cut])
    # What a checkpoint stores: the size and the right edge, as bytes.
    compact = merkle.CompactRange(0)
    for leaf in leaves[:cut]:
        compact.append(merkle.leaf_hash(leaf))
    assert compact.root() == start.root()
    restored = merkle.CompactRange.from_bytes(cut, compact.to_bytes())
    completed = []
    for leaf in leaves[cut:]:
        completed.extend(restored.append(merkle.leaf_hash(leaf)))
    assert restored.size == len(leaves)
    assert restored.root() == tree.root()
    for level, index, value in completed:
        assert tree.hash_at(level, index) == value


def test_a_compact_range_checks_its_shape():
    with pytest.raises(merkle.ProofError):
        merkle.CompactRange(3, [merkle.EMPTY_ROOT])
