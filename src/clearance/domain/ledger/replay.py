"""The log is the record: replay a request's entries and hold its stored row to them.

Every ``request.<event>`` entry carries what the change left the request in
(:func:`clearance.domain.ledger.audit.request_head`: version, state, document digest,
approvals). :class:`Replay` folds one request's entries in log order and checks that
they follow one another:

- the first is ``request.submitted`` at version 1, and each next entry has the next
  version (so no change is missing from, or repeated in, the log);
- a signed decision's approval, as the entry records it, is the decision its authority
  signed (status, ``by``, ``at``, ``comment``, ``conditions``, ``signature``), on the
  document the entry records;
- an automatic step is what it says: ``auto_approved`` names the Cedar policies that
  permitted it, ``covered_by_grant`` names its grant, and neither names a person; and,
  given the evaluation of the request's document against the scenario version the log
  records (:func:`automatic_disagreements`), it is the step that evaluation produces:
  same status, same policies, same grant.

What the fold ends with is what the tables must hold; :func:`disagreements` compares it
with the stored request (the same :func:`request_head` of the row) and names each field
that differs, approval by approval. Entries written before approvals were logged carry
no ``approvals``: for a request whose latest entry is such, the approvals are not
replayed (:attr:`Replay.approvals_logged` is False) and only version, state and document
are compared; its people's decisions are still checked by their signatures.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from clearance.domain.clearance.model import Approval, ApprovalStatus
from clearance.domain.errors import ReplayError
from clearance.domain.ledger.disclosure import is_sealed

__all__ = [
    "Replay",
    "ReplayError",
    "automatic_disagreements",
    "disagreements",
    "still_covered",
]

APPROVALS = "approvals"
DOCUMENT = "document"  # the document's commitment, or its disclosed value
# an approval's fields that the authority's signature covers, as the decision entry's
# detail (or the entry itself, for by and at) records them
SIGNED = ("comment", "conditions", "signature")


@dataclass
class Replay:
    """One request's entries folded in log order: ``head`` is what its row must hold."""

    request_id: str
    head: dict[str, Any] = field(default_factory=dict)
    kinds: list[str] = field(default_factory=list)

    @property
    def approvals_logged(self) -> bool:
        return APPROVALS in self.head

    def apply(self, entry: Mapping[str, Any]) -> None:
        """Fold in the request's next entry; raises :class:`ReplayError`."""
        kind = str(entry["kind"])
        version = entry["version"]
        if not self.head:
            if kind != "request.submitted" or version != 1:
                raise ReplayError(
                    f"request {self.request_id}: its first entry is {kind} at version "
                    f"{version}, not request.submitted at version 1"
                )
        elif version != self.head["version"] + 1:
            raise ReplayError(
                f"request {self.request_id}: {kind} has version {version} after version "
                f"{self.head['version']} (a change is missing from the log or repeated)"
            )
        head = {k: v for k, v in entry.items() if k not in _EVENT_KEYS}
        if DOCUMENT not in head and DOCUMENT in self.head:  # committed when it changed
            head[DOCUMENT] = self.head[DOCUMENT]
        if APPROVALS in head:
            approvals = head[APPROVALS]
            if not isinstance(approvals, list) or not all(isinstance(a, dict) for a in approvals):
                raise ReplayError(f"request {self.request_id}: {kind}: approvals is not a list")
            for a in approvals:
                self._automatic(a, version)
            if kind == "request.decided" and entry["detail"].get("signature"):
                self._signed(entry, approvals)
        self.head = head
        self.kinds.append(kind)

    def _automatic(self, a: Mapping[str, Any], version: int) -> None:
        status = a.get("status")
        where = f"request {self.request_id}: {a.get('authority')}'s approval (version {version})"
        automatic = (ApprovalStatus.AUTO_APPROVED, ApprovalStatus.COVERED_BY_GRANT)
        if status in automatic and a.get("by") is not None:
            raise ReplayError(f"{where}: {status} but names a person ({a.get('by')})")
        if status == ApprovalStatus.AUTO_APPROVED and not a.get("policies"):
            raise ReplayError(f"{where}: auto_approved by no policy")
        if status == ApprovalStatus.COVERED_BY_GRANT and not a.get("grant"):
            raise ReplayError(f"{where}: covered_by_grant by no grant")

    def _signed(self, entry: Mapping[str, Any], approvals: list[dict[str, Any]]) -> None:
        detail = entry["detail"]
        authority = detail["authority"]
        where = f"request {self.request_id}: {authority}'s approval (version {entry['version']})"
        found = next((a for a in approvals if a.get("authority") == authority), None)
        if found is None:
            raise ReplayError(f"{where}: decided, but not among the approvals the entry records")
        if entry.get("document_digest") != detail.get("document_digest"):
            raise ReplayError(
                f"{where}: the entry's document ({_shown(entry.get('document_digest'))}) is "
                f"not the one signed ({_shown(detail.get('document_digest'))})"
            )
        status = "approved" if detail["decision"] == "approve" else "denied"
        signed = {"status": status, "by": entry["by"], "at": entry["at"]}
        signed |= {k: detail.get(k) for k in SIGNED}
        for name, value in signed.items():
            if is_sealed(value) or is_sealed(found.get(name)):
                continue  # undisclosed: its disclosure is named missing
            if found.get(name) != value:
                raise ReplayError(
                    f"{where}: its {name} ({_shown(found.get(name))}) is not the signed "
                    f"decision's ({_shown(value)})"
                )


# an entry's keys that describe the event, not what it left the request in
_EVENT_KEYS = frozenset({"kind", "request_id", "at", "by", "detail"})


def disagreements(replay: Replay, stored: Mapping[str, Any]) -> list[str]:
    """Each field where ``stored`` (the row's :func:`request_head`) differs from what the
    log records; approvals compared by authority, and only when the log records them."""
    logged = replay.head
    rid, version = replay.request_id, logged["version"]
    found = []
    for name, value in stored.items():
        if name == APPROVALS or name not in logged or value == logged[name]:
            continue
        if is_sealed(logged[name]):
            continue  # undisclosed: its disclosure is named missing
        shown = "its document" if name == "document_digest" else f"its {name}"
        found.append(
            f"request {rid}: {shown} in the database ({_shown(value)}) is not what the log "
            f"records ({_shown(logged[name])}, version {version})"
        )
    if replay.approvals_logged:
        found += _approvals(rid, version, stored.get(APPROVALS, []), logged[APPROVALS])
    return found


# what no person decided: Cedar permitted or forbade it, or a standing grant covered it
AUTOMATIC = frozenset(
    {ApprovalStatus.AUTO_APPROVED, ApprovalStatus.COVERED_BY_GRANT, ApprovalStatus.DENIED}
)


def automatic_disagreements(replay: Replay, evaluated: Sequence[Approval]) -> list[str]:
    """Each automatic step the log records (no person named) that ``evaluated`` (the
    request's document evaluated again against the scenario version the log records)
    does not produce: the same authority with the same status, policies and grant.
    A revoked grant only ever turns a step back to review, which a person then decides,
    so every automatic step still logged is one its evaluation gave."""
    if not replay.approvals_logged:
        return []
    rid, version = replay.request_id, replay.head["version"]
    produced = {a.authority: a for a in evaluated}
    found = []
    for logged in replay.head[APPROVALS]:
        status, authority = logged.get("status"), logged.get("authority")
        if status not in AUTOMATIC or logged.get("by") is not None:
            continue
        where = f"request {rid}: {authority}'s {status} step (version {version})"
        again = produced.get(str(authority))
        if again is None:
            found.append(f"{where} is not in the chain its scenario version gives")
            continue
        expected = {
            "status": again.status.value,
            "policies": list(again.policies),
            "grant": again.grant,
        }
        for name, value in expected.items():
            if logged.get(name) != value:
                found.append(
                    f"{where}: its {name} ({_shown(logged.get(name))}) is not what its "
                    f"scenario version's policies and grants give ({_shown(value)})"
                )
    return found


OPEN = frozenset({"pending", "cleared"})


def still_covered(replay: Replay, revoked: Mapping[str, str]) -> list[str]:
    """An open request (pending or cleared, as the log last records it) whose step is
    still covered by a grant the log records revoked (grant id -> where): revoking a grant
    sends every open request it covers back to review, in the same change."""
    head = replay.head
    if head.get("state") not in OPEN or not replay.approvals_logged:
        return []
    return [
        f"request {replay.request_id}: {a.get('authority')}'s step is still covered by grant "
        f"{a.get('grant')} (version {head['version']}), revoked by {revoked[str(a.get('grant'))]}"
        for a in head[APPROVALS]
        if a.get("status") == ApprovalStatus.COVERED_BY_GRANT and str(a.get("grant")) in revoked
    ]


def _approvals(
    rid: str, version: int, stored: list[dict[str, Any]], logged: list[dict[str, Any]]
) -> list[str]:
    found = []
    rows = {a["authority"]: a for a in stored}
    entries = {a.get("authority"): a for a in logged}
    for authority, entry in entries.items():
        row = rows.get(authority)
        where = f"request {rid}: {authority}'s approval"
        if row is None:
            found.append(f"{where} is not in the database (the log records it, version {version})")
            continue
        for name, value in row.items():
            if value != entry.get(name) and not is_sealed(entry.get(name)):
                found.append(
                    f"{where}: its {name} in the database ({_shown(value)}) is not what the "
                    f"log records ({_shown(entry.get(name))}, version {version})"
                )
    for authority in rows.keys() - entries.keys():
        found.append(
            f"request {rid}: {authority}'s approval in the database is not in the log "
            f"(version {version} records {len(entries)} approvals)"
        )
    if not found and [a["authority"] for a in stored] != [a.get("authority") for a in logged]:
        found.append(f"request {rid}: its approvals are not in the order the log records")
    return found


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return f"{text[:40]}..." if len(text) > 44 else text
