"""Load a scenario: store its files as a version (new unless the same files were stored
before) and make it current, with the public keys it needs recorded in the log."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from clearance.service.audit import record_keys
from clearance.service.ports import UnitOfWork


def load_scenario(
    new_uow: Callable[[], UnitOfWork],
    files: Mapping[str, bytes],
    at: datetime,
    public_keys: Mapping[tuple[str, str], bytes],
) -> None:
    """``files`` were validated as a scenario by the caller; ``at`` is the scenario's own
    clock at the load. The version and the keys are logged in the same transaction."""
    with new_uow() as uow:
        uow.scenarios.save(dict(files), at)
        record_keys(uow, public_keys)
        uow.commit()
