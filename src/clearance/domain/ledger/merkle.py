"""The audit log's Merkle tree: RFC 9162 (RFC 6962) hashing, proofs and their verifiers.

Definitions (RFC 9162 section 2.1, SHA-256)::

    leaf hash  = SHA-256(0x00 || data)
    node hash  = SHA-256(0x01 || left || right)
    MTH({})    = SHA-256("")
    MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n

Leaves are numbered from 0. A *complete subtree* at level ``h`` and index ``i`` covers the
leaves ``[i * 2**h, (i + 1) * 2**h)``: it is a power of two wide and aligned on its width.
Its hash never changes once the tree holds all its leaves, so storage keeps these.

Proof generators and storage
----------------------------
:func:`inclusion_proof` and :func:`consistency_proof` do not read leaves themselves; they
ask ``hash_at(start, end)`` for the MTH of the leaves ``[start, end)``. They only ever ask
for two kinds of range, so a storage adapter can answer from stored complete subtrees:

1. a complete subtree: ``end - start == 2**h`` and ``start % 2**h == 0`` (one stored node
   at level ``h``, index ``start >> h``);
2. the right-hand remainder of the tree, ``[start, size)`` (``size2`` for consistency),
   where ``start`` is a multiple of the largest power of two ``<= size - start``. Its MTH
   is :func:`fold` of the complete subtrees :func:`complete_subtrees` lists, O(log n) of
   them, all of which lie on the tree's right edge. At most one such range is asked per
   proof.

:func:`inclusion_proof_ranges` and :func:`consistency_proof_ranges` list the ranges a
proof needs without asking for them, so a store can fetch them in one round trip.

Verifiers
---------
:func:`verify_inclusion` and :func:`verify_consistency` implement RFC 9162 sections
2.1.3.2 and 2.1.4.2 step by step and raise :class:`ProofError` on any mismatch or
malformed input. Every hash (leaf hash, proof element, root) must be 32 bytes. A
consistency proof from size 0 is an error (the empty tree proves nothing; C2SP
tlog-witness would instead accept it with an empty proof); ``size1 == size2`` needs an
empty proof and equal roots.

:class:`Frontier` keeps the right edge of an append-only tree (one complete-subtree hash
per set bit of the size): appends are O(1) amortised, the root O(log n), and each append
reports the complete subtrees it finished, so storage can persist them incrementally.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import rfc8785

from clearance.domain.errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Frontier",
    "ProofError",
    "canonical_json",
    "complete_subtrees",
    "consistency_proof",
    "consistency_proof_for",
    "consistency_proof_ranges",
    "fold",
    "inclusion_proof",
    "inclusion_proof_for",
    "inclusion_proof_ranges",
    "leaf_hash",
    "node_hash",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

HashAt = Callable[[int, int], bytes]


# -- hashing ------------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one leaf's data."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) canonical JSON of ``value``, as UTF-8 bytes: the leaf data format.

    Keys are sorted by UTF-16 code units, numbers use ECMAScript's shortest form, no
    whitespace. Raises ``rfc8785.CanonicalizationError`` (a ``ValueError``) for values JSON
    cannot hold exactly (NaN, infinities, integers beyond 2**53 in magnitude).

    A value made only of objects with ASCII keys, arrays, strings, booleans, null,
    integers below 2**53 in magnitude and floats that print alike in both languages (most
    entries, and documents' coordinates) is written by the standard library's C encoder,
    whose output is then the same bytes: ASCII keys sort alike by code point and by UTF-16
    unit; strings escape the same characters the same way; a float with a fraction and a
    magnitude in [1e-4, 1e16) is printed by Python's ``repr`` and by ECMAScript as the same
    shortest round-trip digits without an exponent; an integral float below 2**53 (``5.0``,
    ``-0.0``) is written as the integer ECMAScript prints (``5``, ``0``). Anything else, and
    a string that cannot be UTF-8 (a lone surrogate), goes to ``rfc8785``.
    """
    try:
        plain = _plain(value)
    except ValueError:  # from _plain: rfc8785 writes it, or refuses it
        return rfc8785.dumps(value)
    text = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return rfc8785.dumps(value)


_SAFE = 2**53 - 1  # rfc8785 refuses 2**53 itself


def _plain(value: Any) -> Any:
    """``value`` with its integral floats made integers; raises ``ValueError`` for what only
    ``rfc8785`` writes right (caught by ``canonical_json``)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        if -_SAFE <= value <= _SAFE:
            return value
        raise ValueError
    if kind is float:
        if value.is_integer():
            if -_SAFE <= value <= _SAFE:
                return int(value)
        elif 1e-4 <= abs(value) < 1e16:
            return value
        raise ValueError  # NaN, infinities, exponents, integral floats beyond 2**53
    if kind is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str or not k.isascii():
                raise ValueError
            out[k] = _plain(v)
        return out
    if kind is list or kind is tuple:
        return [_plain(v) for v in value]
    raise ValueError


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of the given leaf hashes (RFC 9162 section 2.1.1); the empty tree is SHA-256("").

    Computed bottom-up level by level (an odd node at the end of a level is carried up),
    which builds exactly the tree the RFC's largest-power-of-two split defines.
    """
    for h in leaf_hashes:
        _check_hash(h, "leaf hash", ValueError)
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def fold(subtree_hashes: Sequence[bytes]) -> bytes:
    """The MTH of adjacent complete subtrees listed left to right, each narrower than the
    one before (as :func:`complete_subtrees` lists them): a right fold with node_hash."""
    if not subtree_hashes:
        raise ValueError("fold needs at least one subtree hash")
    h = subtree_hashes[-1]
    for left in reversed(subtree_hashes[:-1]):
        h = node_hash(left, h)
    return h


def complete_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """The complete subtrees ``(level, index)`` whose :func:`fold` is MTH(D[start:end]).

    Defined when ``start`` is a multiple of the largest power of two ``<= end - start``
    (true of every range the proof generators ask for); one subtree per set bit of
    ``end - start``, widest first.
    """
    width = end - start
    if start < 0 or width <= 0:
        raise ValueError(f"empty or negative range [{start}, {end})")
    top = 1 << (width.bit_length() - 1)
    if start % top:
        raise ValueError(f"[{start}, {end}) is not aligned on {top}: not a stored shape")
    out: list[tuple[int, int]] = []
    pos = start
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            out.append((level, pos >> level))
            pos += 1 << level
    return out


# -- proof generation ---------------------------------------------------------------------


def _split(n: int) -> int:
    """The largest power of two strictly less than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_proof_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ``[start, end)`` ranges whose MTHs form PATH(index, D[size]), in proof order
    (the leaf's sibling first). See the module docstring for the shapes they take.

    Closed form of the RFC's recursion: below level ``inner`` (where ``index`` and
    ``size - 1`` part ways) the siblings are ``(index >> h) ^ 1``, the last of which may be
    the right-hand remainder; above it, the left siblings on the tree's right edge, one per
    set bit of ``index``.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    inner = (index ^ (size - 1)).bit_length()
    for h in range(inner):
        start = ((index >> h) ^ 1) << h
        ranges.append((start, min(start + (1 << h), size)))
    for h in range(inner, size.bit_length()):
        if index >> h & 1:
            start = ((index >> h) - 1) << h
            ranges.append((start, start + (1 << h)))
    return ranges


def consistency_proof_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """The ``[start, end)`` ranges whose MTHs form PROOF(size1, D[size2]) (RFC 9162
    section 2.1.4.1), in proof order. Empty when the sizes are equal; ``size1`` must be at
    least 1 and at most ``size2``."""
    if size1 < 1:
        raise ValueError(f"no consistency proof from size {size1}: size1 must be >= 1")
    if size1 > size2:
        raise ValueError(f"no consistency proof from size {size1} to smaller size {size2}")
    ranges: list[tuple[int, int]] = []
    if size1 == size2:
        return ranges
    lo, hi, m, whole = 0, size2, size1, True  # m: old size within [lo, hi); whole: RFC's b
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            m -= k
            whole = False
    if not whole:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, size: int, hash_at: HashAt) -> list[bytes]:
    """PATH(index, D[size]) (RFC 9162 section 2.1.3.1), reading subtree hashes from
    ``hash_at(start, end)``; 0 <= index < size. See the module docstring for which ranges
    are asked for."""
    return [hash_at(s, e) for s, e in inclusion_proof_ranges(index, size)]


def consistency_proof(size1: int, size2: int, hash_at: HashAt) -> list[bytes]:
    """PROOF(size1, D[size2]) (RFC 9162 section 2.1.4.1), reading subtree hashes from
    ``hash_at(start, end)``; 1 <= size1 <= size2."""
    return [hash_at(s, e) for s, e in consistency_proof_ranges(size1, size2)]


def _hash_at_list(leaf_hashes: Sequence[bytes]) -> HashAt:
    def hash_at(start: int, end: int) -> bytes:
        return root_hash(leaf_hashes[start:end])

    return hash_at


def inclusion_proof_for(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in the tree of all ``leaf_hashes``."""
    return inclusion_proof(index, len(leaf_hashes), _hash_at_list(leaf_hashes))


def consistency_proof_for(size1: int, size2: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The consistency proof between the trees of the first ``size1`` and ``size2`` of
    ``leaf_hashes``."""
    if size2 > len(leaf_hashes):
        raise ValueError(f"size2 {size2} exceeds the {len(leaf_hashes)} leaves given")
    return consistency_proof(size1, size2, _hash_at_list(leaf_hashes))


# -- verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2) ---------------------------------


def _check_hash(value: object, what: str, error: type[ValueError] = ProofError) -> None:
    if not isinstance(value, bytes | bytearray):
        raise error(f"{what} must be {HASH_SIZE} bytes, got {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise error(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def _check_proof(proof: Sequence[bytes]) -> None:
    for i, p in enumerate(proof):
        if p.__class__ is not bytes or len(p) != HASH_SIZE:  # fast path; details below
            _check_hash(p, f"proof element {i}")


def _check_size(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProofError(f"{what} must be a non-negative integer, got {value!r}")
    return value


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` (0-based) of the tree of ``size`` leaves
    whose root is ``root``, given the inclusion ``proof``; raise :class:`ProofError` if not.
    """
    index = _check_size(index, "leaf index")
    size = _check_size(size, "tree size")
    _check_hash(leaf_hash, "leaf hash")
    _check_hash(root, "root hash")
    _check_proof(proof)
    # 1. leaf_index >= tree_size fails.
    if index >= size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    # 2.-3.
    fn, sn, r = index, size - 1, bytes(leaf_hash)
    # 4. (node_hash inlined: this loop is the hot path of every proof check)
    sha256, prefix = _sha256, _NODE_PREFIX
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof has more elements than the tree has levels")
        if fn & 1 or fn == sn:
            r = sha256(prefix + p + r).digest()
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = sha256(prefix + r + p).digest()
        fn >>= 1
        sn >>= 1
    # 5.
    if sn != 0:
        raise ProofError("inclusion proof has fewer elements than the tree has levels")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root hash")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size1`` leaves with root ``root1`` is a prefix of the tree of
    ``size2`` leaves with root ``root2``, given the consistency ``proof``; raise
    :class:`ProofError` if not. ``size1`` must be at least 1."""
    size1 = _check_size(size1, "size1")
    size2 = _check_size(size2, "size2")
    _check_hash(root1, "root1")
    _check_hash(root2, "root2")
    _check_proof(proof)
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing (size1 = 0)")
    if size1 > size2:
        raise ProofError(f"size1 {size1} is greater than size2 {size2}")
    if size1 == size2:
        if proof:
            raise ProofError("trees of equal size need an empty consistency proof")
        if root1 != root2:
            raise ProofError("trees of equal size have different root hashes")
        return
    # 1. An empty path fails.
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    # 2. If first is an exact power of 2, prepend first_hash.
    if size1 & (size1 - 1) == 0:
        path.insert(0, bytes(root1))
    # 3.
    fn, sn = size1 - 1, size2 - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof has more elements than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # 7.
    if sn != 0:
        raise ProofError("consistency proof has fewer elements than needed")
    if fr != root1:
        raise ProofError("consistency proof does not lead to root1")
    if sr != root2:
        raise ProofError("consistency proof does not lead to root2")


# -- the right edge of an append-only tree ------------------------------------------------


class Frontier:
    """The right edge ("compact range" from 0) of an append-only Merkle tree.

    Holds one complete-subtree hash per set bit of :attr:`size`, widest (leftmost) first,
    so the tree of any size is summarised in O(log n) hashes. Restore a frontier from
    storage with ``Frontier(size, subtrees)``, where ``subtrees`` are the hashes of
    :func:`complete_subtrees(0, size) <complete_subtrees>`.
    """

    __slots__ = ("_size", "_stack")

    def __init__(self, size: int = 0, subtrees: Iterable[bytes] = ()) -> None:
        stack = list(subtrees)
        if size < 0 or len(stack) != size.bit_count():
            raise ValueError(
                f"a frontier of size {size} holds {max(size, 0).bit_count()} subtree hashes, "
                f"got {len(stack)}"
            )
        for h in stack:
            _check_hash(h, "subtree hash", ValueError)
        self._size = size
        self._stack = stack

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return self._size

    @property
    def subtrees(self) -> tuple[bytes, ...]:
        """The right edge: hashes of ``complete_subtrees(0, size)``, widest first."""
        return tuple(self._stack)

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf; return the complete subtrees ``(level, index, hash)`` this leaf
        finished, lowest level first. The leaf itself comes first as ``(0, leaf index,
        leaf_hash)``; a subtree at level ``h`` follows for each ``h`` such that the new size
        is a multiple of ``2**h``."""
        if leaf_hash.__class__ is not bytes or len(leaf_hash) != HASH_SIZE:
            _check_hash(leaf_hash, "leaf hash", ValueError)
            raise ValueError("a frontier keeps immutable bytes; got a mutable leaf hash")
        n = self._size
        done = [(0, n, leaf_hash)]
        stack = self._stack
        h = leaf_hash
        level = 0
        while n & 1:
            h = node_hash(stack.pop(), h)
            n >>= 1
            level += 1
            done.append((level, n, h))
        stack.append(h)
        self._size += 1
        return done

    def root(self) -> bytes:
        """MTH of the tree of :attr:`size` leaves, in O(log n) hashes."""
        if not self._stack:
            return EMPTY_ROOT
        return fold(self._stack)
