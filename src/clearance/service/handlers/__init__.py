"""The use cases that change something, one handler each, over an explicit ``Context``.

Every handler runs its change in one unit of work: load, let the domain apply the rule,
save with the version it was loaded at, commit. A concurrent change in between makes the
save fail with ``ConflictError`` (409), so two members deciding the same approval at once
cannot both win. Who may see and who may act are the pure rules of
``domain.clearance.access``, asked before the record is changed. The reads live apart, in
``service.queries``.

    submit, amend            a request document, evaluated and deconflicted
    decide, withdraw         an authority's decision; the operator's withdrawal
    expire_due               requests still pending at their first time_start
    tell_due                 requests expiring soon, review deadlines passed (webhooks)
    revoke_grant             a standing grant, and the requests it covered
    load_scenario            a scenario version, stored and made current
    add_principal, issue_token, revoke_principal
    apply_member_statement   a member key enrolled or revoked by a root-key statement
    record_telemetry         what was flown, checked against what was cleared
    subscribe, unsubscribe, redeliver   who is told (webhooks)
"""

from clearance.service.handlers.deadlines import tell_due
from clearance.service.handlers.decide import decide
from clearance.service.handlers.expire import expire_due
from clearance.service.handlers.grants import revoke_grant
from clearance.service.handlers.members import apply_member_statement
from clearance.service.handlers.principals import add_principal, issue_token, revoke_principal
from clearance.service.handlers.scenario import load_scenario
from clearance.service.handlers.submit import Amended, Submitted, amend, submit
from clearance.service.handlers.telemetry import record_telemetry
from clearance.service.handlers.webhooks import redeliver, subscribe, unsubscribe
from clearance.service.handlers.withdraw import withdraw

__all__ = [
    "Amended",
    "Submitted",
    "add_principal",
    "amend",
    "apply_member_statement",
    "decide",
    "expire_due",
    "issue_token",
    "load_scenario",
    "record_telemetry",
    "redeliver",
    "revoke_grant",
    "revoke_principal",
    "submit",
    "subscribe",
    "tell_due",
    "unsubscribe",
    "withdraw",
]
