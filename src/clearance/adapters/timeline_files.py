"""A timeline file and what it names on disk: its scenario directory and the example
requests (``requests/NAME.yaml`` of the scenario), and the parties' key folder a replay
uses (``KeyFolder``), standing for the parties' own machines."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.adapters.files import DOCUMENT_SUFFIXES, read_document
from clearance.adapters.key_files import new_key_file, read_key_file
from clearance.domain.clearance.timeline import Timeline, parse_timeline
from clearance.domain.errors import InputError, RequestError, TimelineError

REQUESTS = "requests"


def read_timeline(
    path: Path, scenario: Path | None = None
) -> tuple[Timeline, Path, dict[str, Mapping[str, Any]]]:
    """The timeline in ``path``, its scenario directory (``scenario`` if given, else the
    file's ``scenario:`` from the file's folder) and every example request it names, read.
    A file named that does not exist or does not parse raises ``TimelineError`` naming
    the timeline, the step and the field."""
    timeline = parse_timeline(read_document(path, TimelineError), str(path))
    directory = scenario if scenario is not None else (path.parent / timeline.scenario)
    if not directory.is_dir():
        raise TimelineError(
            f"names {directory}, which is not a directory",
            source=str(path),
            field="scenario" if scenario is None else "--scenario",
        )
    documents: dict[str, Mapping[str, Any]] = {}
    for step in timeline.steps:
        name = step.request
        if name is None or name in documents:
            continue
        found = example_request(directory, name)
        where = f"{step.field}.request"
        if found is None:
            raise TimelineError(
                f"no example request {name!r} in {directory / REQUESTS}",
                source=str(path),
                field=where,
            )
        try:
            content = read_document(found, RequestError)
        except InputError as e:
            raise TimelineError(str(e), source=str(path), field=where) from None
        if not isinstance(content, dict):
            raise TimelineError(f"{found}: must be a mapping", source=str(path), field=where)
        documents[name] = content
    return timeline, directory, documents


def example_request(scenario: Path, name: str) -> Path | None:
    """The file of the example request ``name`` in ``scenario``, if there is one."""
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    for suffix in DOCUMENT_SUFFIXES:
        candidate = scenario / REQUESTS / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


class KeyFolder:
    """The parties' key files, one folder per authority standing for its machines (the
    demo's ``parties/`` has the same layout): ``AUTHORITY/root.key``, the authority's root
    private key (its officer's machine), and ``AUTHORITY/NAME.key``, a member's, made on
    first use (0600). Never the service's key directory. ``roots``: read the root keys
    from another folder (a rehearsal makes its members' keys apart)."""

    def __init__(self, path: Path, roots: Path | None = None) -> None:
        self.path = path
        self.roots = roots if roots is not None else path

    def root(self, authority: str) -> Ed25519PrivateKey:
        file = self.roots / authority / "root.key"
        if not file.is_file():
            raise InputError(
                f"{authority} keeps a root key, and the replay needs its private key here "
                "to enroll its members (make one with `clearance key new --out FILE` and "
                "name its public key as the authority's root_key in the scenario)",
                source=str(file),
            )
        return read_key_file(file, "root key")

    def member(self, authority: str, member: str) -> Ed25519PrivateKey:
        folder = self.path / authority
        file = folder / f"{member}.key"
        if file.is_file():
            return read_key_file(file, "member key")
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return new_key_file(file, "member key")
