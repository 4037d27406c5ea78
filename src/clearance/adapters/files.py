"""Reading YAML and JSON files into plain Python data, with errors that name the line."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from clearance.domain.errors import InputError

DOCUMENT_SUFFIXES = (".yaml", ".yml", ".json")


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
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise error(
                f"malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}", source=str(path)
            ) from None
        except (ValueError, RecursionError) as e:  # e.g. an integer beyond Python's digit limit
            raise error(f"malformed JSON: {e}", source=str(path)) from None
    return parse_yaml(text, str(path), error)


def parse_yaml(text: str, source: str, error: type[InputError] = InputError) -> object:
    """Parse YAML text; malformed input raises ``error`` naming ``source`` and the line."""
    try:
        return yaml.safe_load(text)
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
