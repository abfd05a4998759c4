"""Merkle tree hashing, inclusion and consistency proofs exactly as RFC 6962 / RFC 9162.

SHA-256; leaf hash = H(0x00 ‖ leaf), node hash = H(0x01 ‖ left ‖ right); the tree over n
leaves splits at the largest power of two smaller than n. Standard library only: the
offline verifier uses this module without Django.

Proof generation works on any store of *perfect subtree hashes*: a function
``hash_at(level, index)`` giving the hash of the complete subtree of 2**level leaves
starting at leaf index * 2**level. The in-memory ``Tree`` below is one such store; the
database tiles (``ledger.tiles``) are another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

HashAt = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof does not verify, or its parameters are impossible."""


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(size: int) -> int:
    """The largest power of two smaller than size (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """The root over a power-of-two number of hashes, level by level."""
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def subtree_hash(lo: int, hi: int, hash_at: HashAt) -> bytes:
    """MTH(D[lo:hi]) for the ranges proofs need: lo aligned to the subtree's width."""
    size = hi - lo
    if size <= 0:
        raise ProofError("empty subtree")
    if size & (size - 1) == 0 and lo % size == 0:
        level = size.bit_length() - 1
        return hash_at(level, lo >> level)
    k = split_point(size)
    return node_hash(subtree_hash(lo, lo + k, hash_at), subtree_hash(lo + k, hi, hash_at))


def root_hash(size: int, hash_at: HashAt) -> bytes:
    return EMPTY_ROOT if size == 0 else subtree_hash(0, size, hash_at)


def inclusion_proof(index: int, size: int, hash_at: HashAt) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 6962 §2.1.1 (RFC 9162 §2.1.3.1)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    proof: list[bytes] = []
    lo, hi = 0, size
    # Walk down from the root; each step keeps the half holding the leaf and records
    # the other half. Collected top-down, returned bottom-up as the RFC orders it.
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            proof.append(subtree_hash(lo + k, hi, hash_at))
            hi = lo + k
        else:
            proof.append(subtree_hash(lo, lo + k, hash_at))
            lo = lo + k
    proof.reverse()
    return proof


def consistency_proof(first: int, second: int, hash_at: HashAt) -> list[bytes]:
    """PROOF(first, D[0:second]) of RFC 6962 §2.1.2 (RFC 9162 §2.1.4.1)."""
    if not 0 <= first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    if first == 0 or first == second:
        return []
    proof: list[bytes] = []
    lo, hi, m, complete = 0, second, first, True
    while True:
        if m == hi - lo:
            if not complete:
                proof.append(subtree_hash(lo, hi, hash_at))
            break
        k = split_point(hi - lo)
        if m <= k:
            proof.append(subtree_hash(lo + k, hi, hash_at))
            hi = lo + k
        else:
            proof.append(subtree_hash(lo, lo + k, hash_at))
            lo, m, complete = lo + k, m - k, False
    proof.reverse()
    return proof


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise ProofError(f"{what} is not a {HASH_SIZE}-byte hash")


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash_value: bytes, proof: Sequence[bytes]
) -> bytes:
    """RFC 9162 §2.1.3.2: the root that the audit path leads to."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    _check_hash(leaf_hash_value, "the leaf hash")
    fn, sn = index, size - 1
    r = leaf_hash_value
    for p in proof:
        _check_hash(p, "a proof element")
        if sn == 0:
            raise ProofError("the proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is shorter than the tree is high")
    return r


def verify_inclusion(
    index: int, size: int, leaf_hash_value: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    if root_from_inclusion_proof(index, size, leaf_hash_value, proof) != root:
        raise ProofError("the inclusion proof does not lead to the root")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2, with the edge cases of sizes 0 and first == second."""
    if not 0 <= first <= second:
        raise ProofError(f"size {second} cannot follow size {first}")
    if first == second:
        if proof:
            raise ProofError("equal sizes need an empty proof")
        if first_root != second_root:
            raise ProofError("two trees of the same size have different roots (a fork)")
        return
    if first == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    for p in proof:
        _check_hash(p, "a proof element")
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is shorter than the tree is high")
    if fr != first_root:
        raise ProofError("the proof does not lead to the first root")
    if sr != second_root:
        raise ProofError("the proof does not lead to the second root")


class Tree:
    """All levels of a tree in memory: for tests, small logs and the verifier."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        for value in leaf_hashes:
            self.append_hash(value)

    @classmethod
    def from_leaves(cls, leaves: Iterable[bytes]) -> Tree:
        return cls(leaf_hash(leaf) for leaf in leaves)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append_hash(self, value: bytes) -> None:
        self.levels[0].append(value)
        level, index = 0, len(self.levels[0]) - 1
        while index & 1:
            if len(self.levels) == level + 1:
                self.levels.append([])
            below = self.levels[level]
            self.levels[level + 1].append(node_hash(below[index - 1], below[index]))
            level, index = level + 1, index >> 1

    def hash_at(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        return root_hash(self.size if size is None else size, self.hash_at)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self.size if size is None else size, self.hash_at)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        return consistency_proof(first, self.size if second is None else second, self.hash_at)


class CompactRange:
    """The right edge of a tree: the roots of its perfect subtrees, largest first.

    Enough to extend the tree and compute its root without reading old leaves, which is
    what the sequencer keeps in each checkpoint (at most 64 hashes).
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != bin(size).count("1"):
            raise ProofError("a compact range needs one hash per 1-bit of its size")
        self.size = size
        self.hashes = list(hashes)

    @classmethod
    def from_bytes(cls, size: int, data: bytes) -> CompactRange:
        return cls(size, [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)])

    def to_bytes(self) -> bytes:
        return b"".join(self.hashes)

    def append(self, value: bytes) -> list[tuple[int, int, bytes]]:
        """Adds a leaf hash; returns the perfect subtrees it completes as
        (level, index, hash), the leaf itself first."""
        completed = [(0, self.size, value)]
        level, index = 0, self.size
        self.size += 1
        while index & 1:
            value = node_hash(self.hashes.pop(), value)
            level, index = level + 1, index >> 1
            completed.append((level, index, value))
        self.hashes.append(value)
        return completed

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        value = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            value = node_hash(left, value)
        return value
