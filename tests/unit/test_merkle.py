"""The audit log's Merkle tree against RFC 9162, third-party vectors and itself.

The reference below is written straight from RFC 9162 section 2.1 (MTH, PATH, PROOF,
SUBPROOF) and shares no code with ``clearance.domain.ledger.merkle``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from clearance.domain.ledger.merkle import (
    EMPTY_ROOT,
    Frontier,
    ProofError,
    canonical_json,
    complete_subtrees,
    consistency_proof,
    consistency_proof_for,
    consistency_proof_ranges,
    fold,
    inclusion_proof,
    inclusion_proof_for,
    inclusion_proof_ranges,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "merkle"  # vendored; see its README
MAX = 64

# -- RFC 9162 section 2.1, transcribed ----------------------------------------------------


def _largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@cache
def ref_mth(d: tuple[bytes, ...]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _largest_power_of_two_below(n)
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _largest_power_of_two_below(n)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: tuple[bytes, ...], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _largest_power_of_two_below(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    return ref_subproof(m, d, True)


DATA = tuple(f"audit entry {i}".encode() for i in range(MAX + 1))
LEAVES = [leaf_hash(x) for x in DATA]
ROOTS = [ref_mth(DATA[:n]) for n in range(MAX + 2)]


def flip(h: bytes, bit: int = 0) -> bytes:
    b = bytearray(h)
    b[(bit // 8) % len(b)] ^= 1 << (bit % 8)
    return bytes(b)


OTHER = hashlib.sha256(b"not in any tree").digest()


def rejected_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    try:
        verify_inclusion(leaf, index, size, proof, root)
    except ProofError:
        return True
    return False


def rejected_consistency(m: int, n: int, proof: list[bytes], r1: bytes, r2: bytes) -> bool:
    try:
        verify_consistency(m, n, proof, r1, r2)
    except ProofError:
        return True
    return False


# -- hashing ------------------------------------------------------------------------------


def test_leaf_and_node_hashes_are_domain_separated_sha256() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert (
        node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    )
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT


def test_root_hash_equals_the_rfc_mth_for_every_size_up_to_64() -> None:
    for n in range(MAX + 1):
        assert root_hash(LEAVES[:n]) == ref_mth(DATA[:n]), n


def test_root_hash_refuses_a_leaf_hash_that_is_not_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        root_hash([LEAVES[0], LEAVES[1][:31]])


# -- inclusion ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", range(1, MAX + 1))
def test_inclusion_proofs_equal_the_rfc_path_and_verify_for_every_index(size: int) -> None:
    for index in range(size):
        proof = inclusion_proof_for(index, LEAVES[:size])
        assert proof == ref_path(index, DATA[:size]), index
        verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size])


@pytest.mark.parametrize("size", range(1, MAX + 1))
def test_every_mutation_of_an_inclusion_proof_is_rejected(size: int) -> None:
    """A proof for one size is checked against the real root of the other size: with the
    original root the RFC verifier rightly accepts some other sizes (the root alone does not
    commit to a size, e.g. leaf 0 of 6 reads the same as leaf 0 of 7), so size +-1 means
    "the same proof offered for the neighbouring tree"."""
    root = ROOTS[size]
    for i in range(size):
        leaf = LEAVES[i]
        proof = inclusion_proof_for(i, LEAVES[:size])
        cases: list[tuple[str, bytes, int, int, list[bytes], bytes]] = []
        for j in range(len(proof)):
            bent = [*proof[:j], flip(proof[j], 8 * j + 3), *proof[j + 1 :]]
            cases.append((f"bit flipped in element {j}", leaf, i, size, bent, root))
        if proof:
            cases.append(("last element removed", leaf, i, size, proof[:-1], root))
            cases.append(("first element removed", leaf, i, size, proof[1:], root))
        if len(proof) > 1:
            cases.append(("elements reversed", leaf, i, size, proof[::-1], root))

        cases += [
            ("element appended", leaf, i, size, [*proof, OTHER], root),
            ("element prepended", leaf, i, size, [OTHER, *proof], root),
            ("index + 1", leaf, i + 1, size, proof, root),
            ("index XOR 2", leaf, i ^ 2, size, proof, root),
            ("size + 1", leaf, i, size + 1, proof, ROOTS[size + 1]),
            ("size - 1", leaf, i, size - 1, proof, ROOTS[size - 1]),
            ("size * 2", leaf, i, size * 2, proof, root),
            ("wrong root", leaf, i, size, proof, flip(root, 77)),
            ("root of another tree", leaf, i, size, proof, ROOTS[size + 1]),
            ("empty tree root", leaf, i, size, proof, EMPTY_ROOT),
            ("wrong leaf", OTHER, i, size, proof, root),
            (
                "leaf data instead of its hash",
                hashlib.sha256(DATA[i]).digest(),
                i,
                size,
                proof,
                root,
            ),
            ("31-byte leaf hash", leaf[:31], i, size, proof, root),
            ("33-byte leaf hash", leaf + b"\x00", i, size, proof, root),
            ("31-byte root", leaf, i, size, proof, root[:31]),
            ("negative index", leaf, -1, size, proof, root),
        ]
        if i > 0:
            cases.append(("index - 1", leaf, i - 1, size, proof, root))
        if size > 1:
            cases.append(("a neighbour's leaf", LEAVES[(i + 1) % size], i, size, proof, root))
        if proof:
            cases.append(("31-byte element", leaf, i, size, [proof[0][:31], *proof[1:]], root))
        for name, *args in cases:
            assert rejected_inclusion(*args), f"size {size} index {i}: {name} was accepted"  # type: ignore[arg-type]


def test_inclusion_in_an_empty_tree_or_past_its_end_cannot_be_proved() -> None:
    for index, size in ((0, 0), (3, 3), (-1, 4)):
        with pytest.raises(ValueError, match="not in a tree"):
            inclusion_proof_ranges(index, size)
        with pytest.raises(ProofError):
            verify_inclusion(LEAVES[0], index, size, [], EMPTY_ROOT)


def test_a_single_leaf_tree_proves_its_leaf_with_an_empty_proof() -> None:
    assert inclusion_proof_for(0, LEAVES[:1]) == []
    verify_inclusion(LEAVES[0], 0, 1, [], LEAVES[0])


def test_verifiers_refuse_sizes_and_hashes_of_the_wrong_type() -> None:
    with pytest.raises(ProofError, match="32 bytes"):
        verify_inclusion(LEAVES[0].hex(), 0, 1, [], LEAVES[0])  # type: ignore[arg-type]
    with pytest.raises(ProofError, match="integer"):
        verify_inclusion(LEAVES[0], 0, 1.0, [], LEAVES[0])  # type: ignore[arg-type]
    with pytest.raises(ProofError, match="integer"):
        verify_consistency(True, 1, [], LEAVES[0], LEAVES[0])


# -- consistency --------------------------------------------------------------------------


@pytest.mark.parametrize("size2", range(1, MAX + 1))
def test_consistency_proofs_equal_the_rfc_proof_and_verify_for_every_older_size(size2: int) -> None:
    for size1 in range(1, size2 + 1):
        proof = consistency_proof_for(size1, size2, LEAVES)
        assert proof == ref_proof(size1, DATA[:size2]), size1
        verify_consistency(size1, size2, proof, ROOTS[size1], ROOTS[size2])


@pytest.mark.parametrize("size2", range(1, MAX + 1))
def test_every_mutation_of_a_consistency_proof_is_rejected(size2: int) -> None:
    """Mutated sizes come with the real roots of the mutated trees (see the inclusion test:
    with the original roots the RFC verifier accepts, e.g., 4 -> 6 presented as 4 -> 7)."""
    r2 = ROOTS[size2]
    for m in range(1, size2 + 1):
        n = size2
        r1 = ROOTS[m]
        proof = consistency_proof_for(m, n, LEAVES)
        cases: list[tuple[str, int, int, list[bytes], bytes, bytes]] = []
        for j in range(len(proof)):
            bent = [*proof[:j], flip(proof[j], 8 * j + 5), *proof[j + 1 :]]
            cases.append((f"bit flipped in element {j}", m, n, bent, r1, r2))
        if proof:
            cases.append(("last element removed", m, n, proof[:-1], r1, r2))
            cases.append(("first element removed", m, n, proof[1:], r1, r2))
            cases.append(("31-byte element", m, n, [proof[0][:31], *proof[1:]], r1, r2))
        if len(proof) > 1:
            cases.append(("elements reversed", m, n, proof[::-1], r1, r2))
        if r1 != r2:
            cases.append(("roots swapped", m, n, proof, r2, r1))
        cases += [
            ("element appended", m, n, [*proof, OTHER], r1, r2),
            ("element prepended", m, n, [OTHER, *proof], r1, r2),
            ("root1 appended", m, n, [*proof, r1], r1, r2),
            ("size1 + 1", m + 1, n, proof, ROOTS[m + 1], r2),
            ("size1 - 1", m - 1, n, proof, ROOTS[m - 1], r2),
            ("size2 + 1", m, n + 1, proof, r1, ROOTS[n + 1]),
            ("size2 - 1", m, n - 1, proof, r1, ROOTS[n - 1]),
            ("size1 zero", 0, n, proof, EMPTY_ROOT, r2),
            ("size1 > size2", n + 1, n, proof, ROOTS[n + 1], r2),
            ("wrong root1", m, n, proof, flip(r1, 100), r2),
            ("wrong root2", m, n, proof, r1, flip(r2, 200)),
            ("31-byte root1", m, n, proof, r1[:31], r2),
            ("31-byte root2", m, n, proof, r1, r2[:31]),
        ]
        for name, *args in cases:
            assert rejected_consistency(*args), f"{m} -> {n}: {name} was accepted"  # type: ignore[arg-type]


def test_equal_sizes_need_an_empty_proof_and_equal_roots() -> None:
    verify_consistency(5, 5, [], ROOTS[5], ROOTS[5])
    with pytest.raises(ProofError, match="empty consistency proof"):
        verify_consistency(5, 5, [ROOTS[5]], ROOTS[5], ROOTS[5])
    with pytest.raises(ProofError, match="different root"):
        verify_consistency(5, 5, [], ROOTS[5], ROOTS[4])


def test_consistency_from_the_empty_tree_or_to_a_smaller_tree_cannot_be_proved() -> None:
    for size1, size2 in ((0, 0), (0, 5), (6, 5)):
        with pytest.raises(ValueError, match="no consistency proof"):
            consistency_proof_ranges(size1, size2)
    with pytest.raises(ProofError, match="size1 = 0"):
        verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(ValueError, match="exceeds"):
        consistency_proof_for(3, 66, LEAVES)


# -- the hash_at contract -----------------------------------------------------------------


def _is_complete(start: int, end: int) -> bool:
    width = end - start
    return width > 0 and width & (width - 1) == 0 and start % width == 0


def _is_stored_shape(start: int, end: int, size: int) -> bool:
    """A complete subtree, or the right-hand remainder [start, size) that
    complete_subtrees can split (start aligned on its widest piece)."""
    if _is_complete(start, end):
        return True
    top = 1 << ((end - start).bit_length() - 1)
    return end == size and start % top == 0


def test_proofs_ask_hash_at_only_for_complete_subtrees_or_the_right_hand_remainder() -> None:
    def spy(size: int, asked: list[tuple[int, int]]) -> Any:
        def hash_at(start: int, end: int) -> bytes:
            asked.append((start, end))
            return ref_mth(DATA[start:end])

        return hash_at

    for size in range(1, MAX + 1):
        for index in range(size):
            asked: list[tuple[int, int]] = []
            assert inclusion_proof(index, size, spy(size, asked)) == ref_path(index, DATA[:size])
            assert all(_is_stored_shape(s, e, size) for s, e in asked), (index, size, asked)
            assert sum(not _is_complete(s, e) for s, e in asked) <= 1
        for size1 in range(1, size + 1):
            asked = []
            assert consistency_proof(size1, size, spy(size, asked)) == ref_proof(size1, DATA[:size])
            assert all(_is_stored_shape(s, e, size) for s, e in asked), (size1, size, asked)
            assert sum(not _is_complete(s, e) for s, e in asked) <= 1


def test_ranges_keep_the_contract_for_large_trees() -> None:
    rng = random.Random(9162)
    for _ in range(3000):
        size = rng.randrange(1, 1 << 48)
        index = rng.randrange(size)
        size1 = rng.randrange(1, size + 1)
        incl = inclusion_proof_ranges(index, size)
        cons = consistency_proof_ranges(size1, size)
        assert all(_is_stored_shape(s, e, size) for s, e in incl + cons)
        assert len(incl) <= size.bit_length()
        assert len(cons) <= size.bit_length() + 1


def test_the_right_hand_remainder_is_the_fold_of_its_complete_subtrees() -> None:
    for size in range(1, MAX + 1):
        for start in range(size):
            if not _is_stored_shape(start, size, size):
                with pytest.raises(ValueError, match="not aligned"):
                    complete_subtrees(start, size)
                continue
            parts = complete_subtrees(start, size)
            assert sum(1 << level for level, _ in parts) == size - start
            hashes = [ref_mth(DATA[i << lv : (i + 1) << lv]) for lv, i in parts]
            assert fold(hashes) == ref_mth(DATA[start:size]), (start, size)


# -- third-party vectors (transparency-dev/merkle) ----------------------------------------

VECTOR_FILES = sorted((VECTORS / "testdata").rglob("*.json"))

# Where this verifier deliberately disagrees with a vector's wantErr, and why.
DEVIATIONS = {
    # Its roots are the 12-byte placeholders "don't care 2"; the vector only checks that
    # equal sizes with an empty proof and equal roots pass. We require every root to be 32
    # bytes, so we reject it; the same case with real roots is accepted (test below).
    "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json": True,
}


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def test_the_vector_directory_holds_all_196_files() -> None:
    assert len(VECTOR_FILES) == 196
    assert {p.relative_to(VECTORS / "testdata").as_posix() for p in VECTOR_FILES} >= set(DEVIATIONS)


@pytest.mark.parametrize(
    "path", VECTOR_FILES, ids=lambda p: p.relative_to(VECTORS / "testdata").as_posix()
)
def test_transparency_dev_vector(path: Path) -> None:
    v = json.loads(path.read_text(encoding="utf-8"))
    name = path.relative_to(VECTORS / "testdata").as_posix()
    want_err = DEVIATIONS.get(name, v["wantErr"])
    proof = [_b64(p) for p in v["proof"] or []]
    if name.startswith("inclusion/"):
        args: tuple[Any, ...] = (
            _b64(v["leafHash"]),
            v["leafIdx"],
            v["treeSize"],
            proof,
            _b64(v["root"]),
        )
        check: Any = verify_inclusion
    else:
        args = (v["size1"], v["size2"], proof, _b64(v["root1"]), _b64(v["root2"]))
        check = verify_consistency
    if want_err:
        with pytest.raises(ProofError):
            check(*args)
    else:
        check(*args)


def test_equal_sizes_with_real_roots_and_an_empty_proof_are_consistent() -> None:
    """The intent of the one vector we reject (its roots are 12-byte placeholders)."""
    verify_consistency(1, 1, [], ROOTS[1], ROOTS[1])


def test_happy_path_vectors_are_the_proofs_our_generators_build_for_the_reference_tree() -> None:
    leaves = [leaf_hash(bytes.fromhex(x)) for x in _reference()["leaf_inputs_hex"]]
    paths = sorted(VECTORS.glob("testdata/*/[0-9]/happy-path.json"))
    assert len(paths) == 10
    for path in paths:
        v = json.loads(path.read_text(encoding="utf-8"))
        proof = [_b64(p) for p in v["proof"] or []]
        if "leafIdx" in v:
            size = v["treeSize"]
            assert _b64(v["root"]) == root_hash(leaves[:size])
            assert _b64(v["leafHash"]) == leaves[v["leafIdx"]]
            assert inclusion_proof_for(v["leafIdx"], leaves[:size]) == proof, path
        else:
            assert _b64(v["root1"]) == root_hash(leaves[: v["size1"]])
            assert _b64(v["root2"]) == root_hash(leaves[: v["size2"]])
            assert consistency_proof_for(v["size1"], v["size2"], leaves) == proof, path


# -- reference tree (transparency-dev/merkle testonly constants) --------------------------


def _reference() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / "reference_tree.json").read_text(encoding="utf-8"))
    return data


def test_reference_tree_roots_for_every_size() -> None:
    ref = _reference()
    leaves = [leaf_hash(bytes.fromhex(x)) for x in ref["leaf_inputs_hex"]]
    frontier = Frontier()
    for n, want in enumerate(ref["root_hash_by_tree_size_hex"]):
        assert root_hash(leaves[:n]).hex() == want, n
        assert frontier.root().hex() == want, n
        if n < len(leaves):
            frontier.append(leaves[n])
    assert len(ref["root_hash_by_tree_size_hex"]) == 9


def test_reference_tree_complete_subtree_hashes_by_level() -> None:
    ref = _reference()
    leaves = [leaf_hash(bytes.fromhex(x)) for x in ref["leaf_inputs_hex"]]
    frontier = Frontier()
    reported = {(lv, i): h.hex() for leaf in leaves for lv, i, h in frontier.append(leaf)}
    expected = {
        (lv, i): h
        for lv, row in enumerate(ref["node_hashes_by_level_hex"])
        for i, h in enumerate(row)
    }
    assert reported == expected
    for (lv, i), h in expected.items():
        assert root_hash(leaves[i << lv : (i + 1) << lv]).hex() == h


# -- Frontier -----------------------------------------------------------------------------


def test_frontier_roots_and_completed_subtrees_match_for_sizes_1_to_300() -> None:
    leaves = [leaf_hash(b"frontier %d" % i) for i in range(300)]
    frontier = Frontier()
    assert frontier.size == 0
    assert frontier.root() == EMPTY_ROOT
    seen: set[tuple[int, int]] = set()
    for i, h in enumerate(leaves):
        done = frontier.append(h)
        size = i + 1
        assert frontier.size == size
        assert frontier.root() == root_hash(leaves[:size]), size
        # the leaf, then one subtree per trailing zero bit of the new size, lowest first
        assert done[0] == (0, i, h)
        assert [lv for lv, _, _ in done] == list(range((size & -size).bit_length()))
        for lv, idx, sub in done:
            assert (idx + 1) << lv == size
            assert sub == root_hash(leaves[idx << lv : size])
            assert (lv, idx) not in seen
            seen.add((lv, idx))
        right_edge = [root_hash(leaves[j << lv : (j + 1) << lv]) for lv, j in _edge(size)]
        assert frontier.subtrees == tuple(right_edge)
    every_complete = {(lv, j) for lv in range(9) for j in range(300 >> lv)}
    assert seen == every_complete


def _edge(size: int) -> list[tuple[int, int]]:
    return complete_subtrees(0, size) if size else []


def test_a_restored_frontier_continues_like_the_original() -> None:
    leaves = [leaf_hash(b"restore %d" % i) for i in range(100)]
    original = Frontier()
    for h in leaves[:77]:
        original.append(h)
    restored = Frontier(77, original.subtrees)
    for h in leaves[77:]:
        assert restored.append(h) == original.append(h)
    assert restored.root() == original.root() == root_hash(leaves)


def test_a_frontier_refuses_a_right_edge_of_the_wrong_length_or_a_bad_leaf() -> None:
    with pytest.raises(ValueError, match="holds 2 subtree hashes"):
        Frontier(5, [LEAVES[0]])
    with pytest.raises(ValueError, match="32 bytes"):
        Frontier(1, [b"short"])
    with pytest.raises(ValueError, match="32 bytes"):
        Frontier().append(b"short")
    with pytest.raises(ValueError, match="immutable"):
        Frontier().append(bytearray(32))


# -- canonical JSON leaves ----------------------------------------------------------------


def test_canonical_json_sorts_keys_drops_whitespace_and_keeps_unicode() -> None:
    value = {"b": [1, 2.5, 1e21, True, None], "a": "é\u2028", "\u20ac": 1.0, "1": 0}
    assert canonical_json(value) == (
        '{"1":0,"a":"é\u2028","b":[1,2.5,1e+21,true,null],"€":1}'.encode()
    )


def test_canonical_json_is_independent_of_key_order() -> None:
    assert canonical_json({"x": 1, "y": {"b": 2, "a": 1}}) == canonical_json(
        {"y": {"a": 1, "b": 2}, "x": 1}
    )


def test_canonical_json_refuses_values_json_cannot_hold_exactly() -> None:
    with pytest.raises(ValueError, match=r"(?i)nan"):
        canonical_json({"n": float("nan")})
    with pytest.raises(ValueError, match=r"(?i)integer"):
        canonical_json({"n": 2**60})


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) - 2, max_value=2**53 + 2)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=600, deadline=None)
@given(JSON_VALUES)
@example({"\U0001f600": 1, "\uff61": [2**53, "\x00\x1f\x7f\u2028\ud800"]})  # UTF-16 order
@example([2**53 + 1])
@example([1e-4, 9.999e-5, 1e16, 1e16 - 2, 9999999999999998.0, 0.1, -0.0, 5.0, 1e21, 2.0**53])
@example({"lat": 16.9742, "lon": 7.9865, "alt": 120.0, "r": 123456789012345.67, "e": 1e-7})
def test_canonical_json_is_rfc8785_byte_for_byte(value: Any) -> None:
    """The standard library's fast path gives exactly rfc8785's bytes, and refuses what
    it refuses (integers beyond 2**53, strings that cannot be UTF-8)."""
    try:
        expected = rfc8785.dumps(value)
    except (ValueError, UnicodeEncodeError) as e:
        with pytest.raises(type(e)):
            canonical_json(value)
        return
    assert canonical_json(value) == expected
