"""Every error Clearance raises on purpose, as one tree with one root.

    ClearanceError                 every deliberate error               CLI exit  API
     +-- InputError                a file, document, argument or            2     422
     |    |                        environment variable breaks a rule
     |    +-- RequestError         a request document is invalid            2     422
     |    +-- ScenarioError        a scenario directory is invalid          2     422
     |    +-- DuplicateKeyError    one mapping names a key twice            2     422
     |    +-- PolicyError          a witness policy file is invalid         2     422
     |    +-- MalformedSubmissionError  a witness's add-checkpoint body     2     422
     |    |                        is malformed (the witness answers 400)
     |    +-- TimelineError        a replay timeline breaks a rule          2     422
     +-- NotFoundError             an id names nothing                      3     404
     |    +-- UnknownLogError      a witness does not follow that log       3     404
     +-- ConflictError             the state, the stage order or the        4     409
     |    |                        version does not allow the action
     |    +-- OldSizeError         a witness last cosigned another size     4     409
     |                             (``size``: that size)
     +-- ForbiddenError            the principal may not take this action   5     403
     |    +-- UnsignedCheckpointError  a checkpoint sent to a witness       5     403
     |                             lacks a valid signature by the log
     +-- UnauthorizedError         no principal could be identified         5     401
     +-- VerificationError         the record does not check out            1     500
          +-- ProofError           a Merkle proof, hash or size is wrong
          |    +-- NoteError       a signed note, checkpoint or key is malformed
          |    +-- SignatureError  a note lacks a valid signature by the expected key
          +-- DecisionSignatureError   a decision's signature is missing or wrong
          +-- AuditError           the log or an export fails verification
          |    +-- DisclosureError  a disclosure does not open its commitment
          +-- TamperedError        stored log data contradicts itself (found while
          |                        integrating: the database was changed)
          +-- ReplayError          a request's log entries do not follow one another
          |                        (domain.ledger.replay)
          +-- InconsistentCheckpointError  a checkpoint does not extend what a
          |                        witness cosigned (bad proof, rewrite, split view;
          |                        the witness answers 422)
          +-- CosignatureError     a witness's cosignature is malformed or fails
          +-- QuorumError          a checkpoint lacks its policy's log signature or
                                   quorum of witness cosignatures

    api.problems.ApiError (a ClearanceError too): what the HTTP layer finds itself in a
    request (a malformed body 400, too large 413, not JSON 415, If-Match missing 428).

Input errors carry what a person needs to fix the input: the file (``source``), the path
of the field inside it (``field``, such as ``volumes[0].time_end.value``) and the rule
that was broken; ``str(error)`` renders them as one line. Verification errors name the
first bad entry, proof or signature. ``ProofError`` and ``DecisionSignatureError`` are
also ``ValueError``s, as they were when they stood alone.

The CLI maps these classes to exit codes (``clearance.cli_run``, documented in
``clearance --help`` and the README) and the API to problem+json statuses
(``clearance.api.problems``), both by class, most specific first; anything else is a bug
(CLI exit 70, API 500, logged).
"""

from __future__ import annotations


class ClearanceError(Exception):
    """Base of every deliberate Clearance error."""


class InputError(ClearanceError):
    """A file, document or argument breaks a rule.

    >>> str(InputError("must be M", source="req.yaml", field="volumes[0].radius.units"))
    'req.yaml: volumes[0].radius.units: must be M'
    """

    def __init__(self, rule: str, *, source: str = "", field: str = "") -> None:
        self.rule = rule
        self.source = source
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [p for p in (self.source, self.field, self.rule) if p]
        return ": ".join(parts)

    def located(self, source: str, prefix: str = "") -> InputError:
        """The same error, attributed to ``source`` and nested under ``prefix``."""
        field = f"{prefix}.{self.field}" if prefix and self.field else (prefix or self.field)
        return type(self)(self.rule, source=source or self.source, field=field)


class RequestError(InputError):
    """A request document is invalid; nothing was evaluated."""


class ScenarioError(InputError):
    """A scenario directory is invalid; nothing was loaded."""


class DuplicateKeyError(InputError, ValueError):
    """One mapping names the same key twice (raised by the JSON and YAML readers, which
    say where: ``error.key`` is the key)."""

    def __init__(self, key: object) -> None:
        self.key = key
        super().__init__(f"the key {key!r} appears twice in one mapping; each key may appear once")

    def located(self, source: str, prefix: str = "") -> InputError:
        return InputError(self.rule, source=source or self.source, field=prefix or self.field)


class NotFoundError(ClearanceError):
    """An id names nothing that exists."""


class ConflictError(ClearanceError):
    """The request's state, its stage order or its version does not allow the action."""


class ForbiddenError(ClearanceError):
    """The principal is known but may not take this action."""


class UnauthorizedError(ClearanceError):
    """No principal could be identified."""


class VerificationError(ClearanceError):
    """The record (the log, a proof, a signature, the stored data) does not check out;
    the message names the first bad entry."""


class ProofError(VerificationError, ValueError):
    """A proof, a hash or a tree size does not check out."""


class NoteError(ProofError):
    """A note, checkpoint or verifier key is malformed."""


class SignatureError(ProofError):
    """A note carries no valid signature from the expected key."""


class DecisionSignatureError(VerificationError, ValueError):
    """A decision signature is missing, malformed or does not verify."""


class ReplayError(VerificationError):
    """A request's log entries do not follow one another (``domain.ledger.replay``); the
    message names the field."""


class AuditError(VerificationError):
    """The log, a checkpoint or a signature does not check out; the message names the
    first bad entry."""


class TamperedError(VerificationError):
    """Stored audit data contradicts itself: someone changed the database."""


class PolicyError(InputError):
    """A witness policy file breaks the C2SP tlog-policy syntax or rules
    (``domain.ledger.policy``)."""


class MalformedSubmissionError(InputError):
    """A witness's add-checkpoint body breaks the tlog-witness syntax (the witness
    answers 400)."""


class UnknownLogError(NotFoundError):
    """A checkpoint's origin is not a log the witness follows."""


class OldSizeError(ConflictError):
    """The old size of an add-checkpoint request is not the size the witness last
    cosigned; ``size`` is that size (the witness answers 409 with it)."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


class UnsignedCheckpointError(ForbiddenError):
    """A checkpoint sent to a witness carries no valid signature by the log's key."""


class InconsistentCheckpointError(VerificationError):
    """A checkpoint does not extend what a witness cosigned: a bad consistency proof, a
    rewritten or dropped entry, a rollback or a split view (the witness answers 422)."""


class CosignatureError(VerificationError):
    """A cosignature line is malformed, or is by a known witness key and does not verify."""


class QuorumError(VerificationError):
    """A checkpoint is not signed by a log the policy names, or lacks its quorum of
    witness cosignatures; the message names what is missing."""


class TimelineError(InputError):
    """A timeline file breaks a rule (``domain.clearance.timeline``); nothing was
    replayed."""


class DisclosureError(AuditError):
    """A disclosure does not open its commitment, or is malformed
    (``domain.ledger.disclosure``)."""
