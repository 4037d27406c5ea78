"""What every use case runs over: the explicit context the handlers take.

A ``Context`` holds the unit-of-work factory, the scenario versions, the clock
and this process's airspace index; nothing in it is a second copy of the truth. Which
scenario version is current, the grants, revocations, principals and requests are rows,
read inside the unit of work that uses them (``service.scenarios``).
"""

from __future__ import annotations

from collections.abc import Callable

from clearance.domain.clearance.scenario import Scenario
from clearance.domain.clearance.workflow import RequestRecord
from clearance.service.airspace import Airspace
from clearance.service.ports import Clock, UnitOfWork
from clearance.service.scenarios import OneScenario, ScenarioVersions


class Context:
    """Given one ``Scenario`` rather than ``ScenarioVersions``, every unit of work evaluates
    against that scenario, stored or not (unit tests, offline checks)."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        scenarios: ScenarioVersions | Scenario,
        clock: Clock,
    ) -> None:
        self.uow = uow
        self.scenarios = (
            scenarios if isinstance(scenarios, ScenarioVersions) else OneScenario(scenarios)
        )
        self.clock = clock
        self.airspace = Airspace()

    def current_scenario(self) -> Scenario:
        """The version the database names current now (one indexed read)."""
        with self.uow() as uow:
            return self.scenarios.current(uow)

    def scenario_of(self, record: RequestRecord) -> Scenario:
        """The version ``record`` was last evaluated against: what it is read, shown,
        deconflicted and checked for conformance against."""
        cached = self.scenarios.cached(record.scenario_version)
        if cached is not None:
            return cached
        with self.uow() as uow:
            return self.scenarios.get(uow, record.scenario_version)

    def scenario_in(self, uow: UnitOfWork) -> Scenario:
        """The current version with the revocations ``uow`` reads: both are rows, so a load
        or a revocation by any process counts at once."""
        return self.scenarios.current(uow).with_revoked(uow.grants.revoked())
