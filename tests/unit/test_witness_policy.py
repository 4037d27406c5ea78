"""Witness policies (c2sp.org/tlog-policy) and the quorum a checkpoint must meet."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.domain.ledger.checkpoint import format_checkpoint, sign_note, vkey
from clearance.domain.ledger.merkle import leaf_hash, root_hash
from clearance.domain.ledger.policy import (
    PolicyError,
    QuorumError,
    check_quorum,
    parse_policy,
)
from clearance.domain.ledger.witness import cosign, cosigner_vkey

ORIGIN = "clearance.example/log"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"log key").digest())


def key(seed: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed.encode()).digest())


WITNESSES = {name: key(name) for name in ("US", "NE", "FR", "X1", "X2", "X3", "Y1", "Y2", "Y3")}


def wvkey(name: str) -> str:
    return cosigner_vkey(f"witness.example/{name}", WITNESSES[name].public_key())


LOG_LINE = f"log {vkey(ORIGIN, LOG_KEY.public_key())}"
NIGER = f"""# any 2 of the US, NE and FR witnesses
{LOG_LINE} http://127.0.0.1:8000
witness US {wvkey("US")} http://127.0.0.1:9001
witness NE {wvkey("NE")}
\twitness  FR\t{wvkey("FR")}
group niger 2 US NE FR
quorum niger
"""
# The example policy of c2sp.org/tlog-policy, with keys filled in.
SPEC_EXAMPLE = f"""{LOG_LINE}

witness X1 {wvkey("X1")}
witness X2 {wvkey("X2")}
witness X3 {wvkey("X3")}
group X-witnesses 2 X1 X2 X3

witness Y1 {wvkey("Y1")}
witness Y2 {wvkey("Y2")}
witness Y3 {wvkey("Y3")}
group Y-witnesses any Y1 Y2 Y3

group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
"""
BODY = format_checkpoint(ORIGIN, 9, root_hash([leaf_hash(b"%d" % i) for i in range(9)]))


def cosigned(*names: str, key_of: Ed25519PrivateKey = LOG_KEY) -> str:
    note = sign_note(BODY, ORIGIN, key_of)
    return note + "".join(
        cosign(BODY, f"witness.example/{n}", WITNESSES[n], 1_700_000_000 + i)
        for i, n in enumerate(names)
    )


def test_the_niger_policy_parses() -> None:
    policy = parse_policy(NIGER, "niger.policy")
    assert [log.name for log in policy.logs] == [ORIGIN]
    assert policy.logs[0].url == "http://127.0.0.1:8000"
    assert set(policy.witnesses) == {"US", "NE", "FR"}
    assert policy.witnesses["US"].url == "http://127.0.0.1:9001"
    assert policy.witnesses["FR"].key_name == "witness.example/FR"
    assert policy.groups["niger"].threshold == 2
    assert policy.quorum == "niger"


@pytest.mark.parametrize(
    ("names", "ok"),
    [((), False), (("US",), False), (("US", "FR"), True), (("NE", "FR", "US"), True)],
)
def test_any_two_of_three(names: tuple[str, ...], ok: bool) -> None:
    policy = parse_policy(NIGER)
    if ok:
        assert set(check_quorum(policy, cosigned(*names)).cosigned) == set(names)
    else:
        with pytest.raises(QuorumError, match=r"lacks the quorum niger \(2 of US, NE, FR\)"):
            check_quorum(policy, cosigned(*names))


def test_the_missing_quorum_names_who_cosigned() -> None:
    with pytest.raises(QuorumError, match=r"cosigned by US$"):
        check_quorum(parse_policy(NIGER), cosigned("US"))


@pytest.mark.parametrize(
    ("names", "ok"),
    [
        (("X1", "X2", "Y3"), True),
        (("X1", "X3", "Y1", "Y2"), True),
        (("X1", "Y1", "Y2", "Y3"), False),  # one X only
        (("X1", "X2", "X3"), False),  # no Y
    ],
)
def test_the_spec_example_two_level_quorum(names: tuple[str, ...], ok: bool) -> None:
    policy = parse_policy(SPEC_EXAMPLE)
    assert policy.satisfied(set(names)) is ok
    if ok:
        check_quorum(policy, cosigned(*names))
    else:
        with pytest.raises(QuorumError):
            check_quorum(policy, cosigned(*names))


def test_quorum_none_needs_only_the_log() -> None:
    policy = parse_policy(f"{LOG_LINE}\nquorum none\n")
    assert check_quorum(policy, cosigned()).cosigned == {}


def test_a_checkpoint_by_another_log_key_fails() -> None:
    with pytest.raises(QuorumError, match="signed by none of the policy's logs"):
        check_quorum(parse_policy(NIGER), cosigned("US", "NE", key_of=key("forger")))


def test_a_forged_cosignature_fails() -> None:
    note = cosigned("US", "NE")
    # the NE line moved onto another checkpoint body
    other = format_checkpoint(ORIGIN, 10, root_hash([leaf_hash(b"%d" % i) for i in range(10)]))
    forged = sign_note(other, ORIGIN, LOG_KEY) + note.split("\n\n")[1].split("\n", 1)[1]
    with pytest.raises(QuorumError, match="does not verify"):
        check_quorum(parse_policy(NIGER), forged)


def test_a_witness_cosigning_twice_counts_once() -> None:
    with pytest.raises(QuorumError):
        check_quorum(parse_policy(NIGER), cosigned("US", "US"))


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "needs a quorum line"),
        (f"{LOG_LINE}\nquorum none\nquorum none\n", "line 3: a policy has exactly one quorum"),
        ("quorum US\n", "line 1: quorum 'US' is not a witness or group defined above"),
        ("frobnicate x\nquorum none\n", "line 1: unknown keyword 'frobnicate'"),
        (f"witness US {wvkey('US')}\nwitness US {wvkey('NE')}\nquorum US\n", "already defined"),
        (
            f"witness US {wvkey('US')}\nwitness NE {wvkey('US')}\nquorum US\n",
            "line 2: witness NE has the same public key as witness US",
        ),
        (f"{LOG_LINE}\n{LOG_LINE}\nquorum none\n", "same public key as log"),
        (f"witness none {wvkey('US')}\nquorum none\n", "'none' is reserved"),
        (
            f"witness US {vkey('w', WITNESSES['US'].public_key())}\nquorum US\n",
            "type 0x04",
        ),
        (f"log {wvkey('US')}\nquorum none\n", "line 1: log key"),
        (f"witness US {wvkey('US')}\ngroup g 2 US\nquorum g\n", "threshold 2 must be within 1..1"),
        (f"witness US {wvkey('US')}\ngroup g 0 US\nquorum g\n", "threshold 0"),
        (f"witness US {wvkey('US')}\ngroup g 01 US\nquorum g\n", "not a decimal"),
        (f"witness US {wvkey('US')}\ngroup g some US\nquorum g\n", "not a decimal"),
        (f"witness US {wvkey('US')}\ngroup g any\nquorum g\n", "one member or more"),
        (f"witness US {wvkey('US')}\ngroup g any US US\nquorum g\n", "already a member|once"),
        (
            f"witness US {wvkey('US')}\ngroup g any US\ngroup h any US\nquorum h\n",
            "line 3: 'US' is already a member",
        ),
        (f"group g any US\nwitness US {wvkey('US')}\nquorum g\n", "line 1: member 'US'"),
        (f"witness US {wvkey('US')}\ngroup g any none\nquorum g\n", "'none' cannot be"),
        (f"{LOG_LINE}\r\nquorum none\n", "control character"),
    ],
)
def test_a_bad_policy_is_refused_naming_the_line(text: str, rule: str) -> None:
    with pytest.raises(PolicyError, match=rule) as refused:
        parse_policy(text, "p.policy")
    assert str(refused.value).startswith("p.policy: ")


def test_comments_blank_lines_and_tabs_are_ignored() -> None:
    policy = parse_policy(f"  # a comment\n\n \t \n{LOG_LINE}\t\n  quorum none  \n")
    assert policy.quorum == "none"
