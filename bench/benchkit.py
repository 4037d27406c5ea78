"""What every bench shares: ``--small``, a run of seconds that CI makes so no bench can
silently break. Its figures mean nothing; only that the bench ran to its JSON line."""

from __future__ import annotations

import argparse
from typing import Any


def parse_args(parser: argparse.ArgumentParser, small: dict[str, Any]) -> argparse.Namespace:
    """``parser.parse_args()`` with ``--small`` added; when given, ``small``'s values
    replace the arguments of the same names (explicit ones too)."""
    parser.add_argument(
        "--small",
        action="store_true",
        help="a run of seconds for CI: checks the bench works; its figures mean nothing",
    )
    args = parser.parse_args()
    if args.small:
        for name, value in small.items():
            setattr(args, name, value)
    return args
