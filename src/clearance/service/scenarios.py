"""Scenario versions as the use cases read them.

The database holds every version's files and names the current one (``ScenarioRepository``);
nothing here is a second copy of that truth. A version is immutable and named by the
digest of its files, so its parsed form may be kept for the life of the process: what is
cached is the answer to "what does version V say", never "which version is current",
which is read in each unit of work that needs it. Grant revocations are rows too and are
applied per unit of work (``Scenario.with_revoked``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from clearance.domain.clearance.scenario import Scenario
from clearance.domain.errors import NotFoundError
from clearance.service.ports import UnitOfWork

NO_SCENARIO = "no scenario in the database: run `clearance scenario load DIR` first"


class ScenarioVersions:
    """Parsed versions by digest; ``parse`` turns stored files into a ``Scenario``."""

    def __init__(self, parse: Callable[[dict[str, bytes]], Scenario]) -> None:
        self.parse = parse
        self._parsed: dict[str, Scenario] = {}
        self._lock = threading.Lock()
        self._last: Scenario | None = None  # a hint only: never taken as current

    def current(self, uow: UnitOfWork) -> Scenario:
        """The version the database names current now."""
        version = uow.scenarios.current()
        if version is None:
            raise NotFoundError(NO_SCENARIO)
        self._last = self.get(uow, version)
        return self._last

    def last_current(self) -> Scenario | None:
        """The version ``current`` last returned in this process (None before): a guess
        to start work with, which the unit of work then checks."""
        return self._last

    def get(self, uow: UnitOfWork, version: str) -> Scenario:
        """Version ``version`` (a request's); the current one for "" (a request stored
        before versions existed, in a database that held no scenario then)."""
        if not version:
            return self.current(uow)
        found = self._parsed.get(version)
        if found is not None:
            return found
        files = uow.scenarios.files(version)
        if files is None:
            raise NotFoundError(f"no scenario version {version!r} is stored")
        parsed = self.parse(files)
        with self._lock:
            return self._parsed.setdefault(version, parsed)

    def cached(self, version: str) -> Scenario | None:
        return self._parsed.get(version)


class OneScenario(ScenarioVersions):
    """One scenario held in memory and never stored: what unit tests and offline checks
    (``clearance evaluate``) evaluate against. Every version is this one."""

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(lambda files: scenario)
        self.scenario = scenario

    def current(self, uow: UnitOfWork) -> Scenario:
        return self.scenario

    def get(self, uow: UnitOfWork, version: str) -> Scenario:
        return self.scenario

    def cached(self, version: str) -> Scenario | None:
        return self.scenario

    def last_current(self) -> Scenario | None:
        return self.scenario
