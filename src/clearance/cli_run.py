"""How the ``clearance`` command runs: the settings it reads once, and its exit codes.

``main`` (in ``clearance.cli``) reads ``Settings.from_env()`` once and gives it to Click as
the root context's ``obj``; the root callback hands it to ``begin`` and every command
takes it from ``settings()``.

Exit codes: one per kind of failure, chosen by the error's class in ``domain.errors``
(most specific first).

    0   done (a check or an evaluation exits 0 whatever its outcome)
    1   verification failed: the audit log, an export or the stored record does not
        check out (``audit verify``, ``audit verify-export``)
    2   invalid input: a file, field, argument, option or environment variable breaks a
        rule (one line on stderr naming it); Click's usage errors too
    3   not found: an id or a name names nothing (a request, a principal, a scenario)
    4   conflict: the state, the stage order or the version does not allow the action
    5   not allowed: the principal may not take this action (a revoked one included)
    70  internal error: a bug or a broken environment (one line; CLEARANCE_DEBUG=1 shows
        the traceback); 70 is sysexits' EX_SOFTWARE
"""

from __future__ import annotations

from enum import IntEnum

from clearance.config import Settings
from clearance.domain.errors import (
    ConflictError,
    ForbiddenError,
    InputError,
    NotFoundError,
    UnauthorizedError,
    VerificationError,
)


class ExitCode(IntEnum):
    OK = 0
    VERIFICATION_FAILED = 1
    INVALID_INPUT = 2
    NOT_FOUND = 3
    CONFLICT = 4
    NOT_ALLOWED = 5
    INTERNAL_ERROR = 70


# (class, code), most specific first; a ClearanceError of no class here is a bug.
EXIT_CODES: tuple[tuple[type[Exception], ExitCode], ...] = (
    (InputError, ExitCode.INVALID_INPUT),
    (NotFoundError, ExitCode.NOT_FOUND),
    (ConflictError, ExitCode.CONFLICT),
    (ForbiddenError, ExitCode.NOT_ALLOWED),
    (UnauthorizedError, ExitCode.NOT_ALLOWED),
    (VerificationError, ExitCode.VERIFICATION_FAILED),
)

WHAT = {
    ExitCode.OK: "done (a check exits 0 whatever the outcome)",
    ExitCode.VERIFICATION_FAILED: "verification failed (audit verify, verify-export)",
    ExitCode.INVALID_INPUT: "invalid input: a file, field, argument or variable",
    ExitCode.NOT_FOUND: "not found: an id or name names nothing",
    ExitCode.CONFLICT: "conflict: the state, stage order or version forbids it",
    ExitCode.NOT_ALLOWED: "not allowed: the principal may not do this",
    ExitCode.INTERNAL_ERROR: "internal error (CLEARANCE_DEBUG=1 shows the traceback)",
}

# Shown at the foot of ``clearance --help``.
EPILOG = "Exit codes: " + "; ".join(f"{int(c)} {WHAT[c]}" for c in ExitCode) + "."


def exit_code(error: BaseException) -> ExitCode:
    """The exit code for ``error``: by its class, else an internal error."""
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return ExitCode.INTERNAL_ERROR


_current: Settings | None = None


def begin(given: object) -> None:
    """Start a run with the settings ``main`` read (``None`` when the app is invoked
    without ``main``, as in-process tests do: then the first ``settings()`` reads them)."""
    global _current
    _current = given if isinstance(given, Settings) else None


def settings() -> Settings:
    """The settings of this run, read from the environment once."""
    global _current
    if _current is None:
        _current = Settings.from_env()
    return _current
