"""The one place that wires real adapters to the service layer."""

from __future__ import annotations

from pathlib import Path

from clearance.adapters.files import expand_paths, read_document
from clearance.adapters.scenario_loader import load_scenario
from clearance.domain.errors import RequestError
from clearance.domain.scenario import Scenario
from clearance.service.check import Document


def scenario_from(directory: Path) -> Scenario:
    return load_scenario(directory)


def documents_from(paths: list[Path]) -> list[Document]:
    """Request documents from files and directories; the first unreadable one raises."""
    return [
        Document(str(p), read_document(p, RequestError)) for p in expand_paths(paths, RequestError)
    ]
