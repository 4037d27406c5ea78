"""The ports the use cases need: a unit of work over repositories, and a clock.

Each port has an in-memory implementation in ``service.memory`` (used by unit tests)
and a SQLAlchemy one in ``adapters.sql``. Contracts:

- ``UnitOfWork`` is a context manager; leaving it without ``commit()`` rolls back. One
  unit of work is one database transaction: a state change and its events commit
  together or not at all.
- ``RequestRepository.save(record, expected_version)`` writes the record and its new
  ``events`` only if the stored version is still ``expected_version``; otherwise it
  raises ``ConflictError``. Records come back from ``get`` with an empty ``events`` list.
- ``IdempotencyRepository.remember`` raises ``ConflictError`` when the key is taken.
"""

from __future__ import annotations

import abc
from datetime import datetime
from types import TracebackType

from clearance.domain.model import Principal
from clearance.domain.workflow import Event, RequestRecord, RequestState


class RequestRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, record: RequestRecord) -> None: ...

    @abc.abstractmethod
    def get(self, request_id: str) -> RequestRecord | None: ...

    @abc.abstractmethod
    def save(self, record: RequestRecord, expected_version: int) -> None: ...

    @abc.abstractmethod
    def search(
        self,
        *,
        state: RequestState | None = None,
        operator: str | None = None,
        authority: str | None = None,
        limit: int = 100,
    ) -> list[RequestRecord]:
        """Newest first. ``authority`` keeps requests whose chain includes it."""

    @abc.abstractmethod
    def needing_review(self, authority: str) -> list[RequestRecord]:
        """Pending requests with a needs_review step for ``authority``, oldest first."""

    @abc.abstractmethod
    def open_for_operator(self, operator: str) -> list[RequestRecord]:
        """Pending and cleared requests of ``operator``."""

    @abc.abstractmethod
    def due_for_expiry(self, now: datetime) -> list[RequestRecord]:
        """Pending requests whose first time_start is at or before ``now``."""

    @abc.abstractmethod
    def events(self, request_id: str) -> list[Event]:
        """The request's timeline, oldest first."""


class PrincipalRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, principal: Principal, token_hash: str) -> None:
        """Raises ``ConflictError`` when the name is taken."""

    @abc.abstractmethod
    def set_token(self, name: str, token_hash: str) -> None: ...

    @abc.abstractmethod
    def get(self, name: str) -> Principal | None: ...

    @abc.abstractmethod
    def by_token(self, token_hash: str) -> Principal | None: ...


class IdempotencyRepository(abc.ABC):
    @abc.abstractmethod
    def find(self, principal: str, key: str) -> tuple[str, str] | None:
        """(request id, body digest) stored for this principal's key, if any."""

    @abc.abstractmethod
    def remember(self, principal: str, key: str, digest: str, request_id: str) -> None: ...


class GrantRepository(abc.ABC):
    @abc.abstractmethod
    def revoked(self) -> dict[str, datetime]:
        """Revoked grant ids and when."""

    @abc.abstractmethod
    def revoke(self, grant: str, by: str, at: datetime) -> None:
        """Raises ``ConflictError`` when already revoked."""


class ScenarioRepository(abc.ABC):
    @abc.abstractmethod
    def save(self, files: dict[str, bytes], at: datetime) -> None:
        """Replace the stored scenario with these files (relative path -> content)."""

    @abc.abstractmethod
    def load(self) -> dict[str, bytes] | None: ...


class UnitOfWork(abc.ABC):
    requests: RequestRepository
    principals: PrincipalRepository
    idempotency: IdempotencyRepository
    grants: GrantRepository
    scenarios: ScenarioRepository

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None:
        """Undo everything not committed; harmless after a commit."""


class Clock(abc.ABC):
    @abc.abstractmethod
    def now(self) -> datetime:
        """An aware UTC datetime."""


class PinnedClock(Clock):
    """Always the same instant, so a historical scenario replays as of its date (and
    tests control time by setting ``at``)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at
