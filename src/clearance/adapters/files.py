"""Reading YAML and JSON files into plain Python data, with errors that name the line.

Both refuse a key repeated in one mapping (JSON and YAML parsers otherwise keep the last
one silently: a reviewer reads the first, the service would act on the second), and
YAML nested deeper than ``MAX_DEPTH`` is refused while it is read, at the first node too
deep, instead of after building it (a 10,000-deep document took 1.6 s to refuse).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml
import yaml.composer
import yaml.constructor
import yaml.nodes
import yaml.scanner

from clearance.domain.documents import unique_object
from clearance.domain.errors import InputError

DOCUMENT_SUFFIXES = (".yaml", ".yml", ".json")
# A scenario's GeoJSON is about ten levels deep and a request document six.
MAX_DEPTH = 64


def parse_json(text: str | bytes, **options: Any) -> Any:
    """``json.loads`` refusing repeated keys (``DuplicateKeyError``); ``options`` go to it."""
    return json.loads(text, object_pairs_hook=unique_object, **options)


def _strict_loader(max_depth: int) -> type[yaml.SafeLoader]:
    class StrictLoader(yaml.SafeLoader):
        """PyYAML's safe loader, refusing repeated keys and nesting beyond ``max_depth``."""

        depth = 0

        def fetch_more_tokens(self) -> None:
            # The scanner's own depth (flow brackets open, block indentation levels): a
            # deep document is refused here, before the scanner's look-ahead for simple
            # keys turns quadratic (0.5 s for 10,000 "[").
            super().fetch_more_tokens()
            if self.flow_level + len(self.indents) > max_depth:
                raise yaml.scanner.ScannerError(
                    None, None, f"nests deeper than {max_depth} levels", self.get_mark()
                )

        def compose_node(self, parent: Any, index: Any) -> Any:
            self.depth += 1
            if self.depth > max_depth:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"nests deeper than {max_depth} levels",
                    self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                )
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if isinstance(node, yaml.nodes.MappingNode):
                seen: set[object] = set()
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue  # "<<" merges keys that the mapping's own may override
                    key = self.construct_object(key_node, deep=True)
                    try:
                        repeated = key in seen
                        seen.add(key)
                    except TypeError:  # unhashable: PyYAML refuses it below
                        continue
                    if repeated:
                        raise yaml.constructor.ConstructorError(
                            None,
                            None,
                            f"the key {key!r} appears twice in one mapping; each key may "
                            "appear once",
                            key_node.start_mark,
                        )
            return super().construct_mapping(node, deep)

    return StrictLoader


_LOADERS = {MAX_DEPTH: _strict_loader(MAX_DEPTH)}


def read_document(path: Path, error: type[InputError] = InputError) -> object:
    """Parse one YAML or JSON file; malformed input raises ``error`` naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error("no such file", source=str(path)) from None
    except IsADirectoryError:
        raise error("is a directory, not a file", source=str(path)) from None
    except UnicodeDecodeError:
        raise error("is not UTF-8 text", source=str(path)) from None
    except OSError as e:
        raise error(f"cannot be read ({e.strerror})", source=str(path)) from None
    if path.suffix.lower() == ".json":
        try:
            return parse_json(text)
        except json.JSONDecodeError as e:
            raise error(
                f"malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}", source=str(path)
            ) from None
        except (ValueError, RecursionError) as e:  # e.g. an integer beyond Python's digit limit
            raise error(f"malformed JSON: {e}", source=str(path)) from None
    return parse_yaml(text, str(path), error)


def parse_yaml(
    text: str, source: str, error: type[InputError] = InputError, *, max_depth: int = MAX_DEPTH
) -> object:
    """Parse YAML text (the safe subset; no key twice in a mapping; at most ``max_depth``
    levels); malformed input raises ``error`` naming ``source`` and the line."""
    loader = _LOADERS.get(max_depth) or _LOADERS.setdefault(max_depth, _strict_loader(max_depth))
    try:
        return yaml.load(text, Loader=loader)  # a SafeLoader subclass: safe
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise error(f"malformed YAML{where}: {e.problem or e.context}", source=source) from None
    except yaml.YAMLError as e:
        raise error(f"malformed YAML: {e}", source=source) from None
    except (ValueError, RecursionError) as e:  # e.g. an integer beyond Python's digit limit
        raise error(f"malformed YAML: {e}", source=source) from None


def expand_paths(paths: list[Path], error: type[InputError] = InputError) -> list[Path]:
    """Files as given, and the YAML/JSON files of each directory in name order."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(
                c for c in p.iterdir() if c.is_file() and c.suffix.lower() in DOCUMENT_SUFFIXES
            )
            if not found:
                raise error("directory holds no .yaml, .yml or .json file", source=str(p))
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise error("no such file or directory", source=str(p))
    return out


def check_document_path(path: Path) -> None:
    """``path`` can be written as a document: a known suffix, in a folder that exists."""
    if path.suffix not in DOCUMENT_SUFFIXES:
        raise InputError(f"must end in {', '.join(DOCUMENT_SUFFIXES)}", source=str(path))
    if not path.parent.is_dir():
        raise InputError("its folder does not exist", source=str(path))


def document_text(data: Any, header: str = "", *, as_json: bool = False) -> str:
    """``data`` as the text ``write_document`` writes: YAML after ``header`` as comment
    lines, or (``as_json``) indented JSON without the header."""
    if as_json:
        return json.dumps(data, indent=2) + "\n"
    comments = "".join(f"# {line}\n" for line in header.splitlines())
    return comments + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


def write_document(path: Path, data: Any, header: str = "") -> None:
    """``data`` as YAML (``.yaml``/``.yml``, after ``header`` comment lines) or JSON
    (``.json``), written whole or not at all: a temporary file beside it, fsynced, then
    renamed into place."""
    check_document_path(path)
    text = document_text(data, header, as_json=path.suffix == ".json")
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def state_directory(directory: Path) -> Path:
    """A party's own state folder (a witness's, a monitor's: ``--state``), made private
    (0700) if missing; a clear error when it cannot be."""
    directory = Path(directory).expanduser()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create {directory}: {e.strerror}", field="--state") from None
    if not directory.is_dir():
        raise InputError(f"{directory} is not a directory", field="--state")
    return directory
