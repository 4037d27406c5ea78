"""Every error Clearance raises on purpose, as one small tree.

    ClearanceError
     +-- InputError            a file, document or argument breaks a rule
     |    +-- RequestError     a request document is invalid
     |    +-- ScenarioError    a scenario directory is invalid
     +-- NotFoundError              an id names nothing

Each error carries what a person needs to fix the input: the file (``source``), the path
of the field inside it (``field``, such as ``volumes[0].time_end.value``) and the rule
that was broken. ``str(error)`` renders them as one line.
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


class NotFoundError(ClearanceError):
    """An id names nothing that exists."""


class ConflictError(ClearanceError):
    """The request's state, its stage order or its version does not allow the action."""


class ForbiddenError(ClearanceError):
    """The principal is known but may not take this action."""


class UnauthorizedError(ClearanceError):
    """No principal could be identified."""
