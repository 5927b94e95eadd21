"""Terminal output shared by every command: progress bars, tables and the final summary line.

Progress bars (tqdm) and log messages go to stderr; the one-line summary that
every long command ends with goes to stdout, so scripts can capture it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.logging import RichHandler
from tqdm import tqdm

T = TypeVar("T")

__all__ = ["console", "progress", "setup_logging", "summary"]

console = Console(stderr=True, highlight=False)


def setup_logging(verbose: int = 0) -> None:
    """Route ``logging`` through rich on stderr; ``-v`` shows INFO detail, ``-vv`` DEBUG."""
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        level=level,
        format="%(message)s",
        datefmt="[%X]",
        handlers=[RichHandler(console=console, show_path=False, rich_tracebacks=False)],
        force=True,
    )
    logging.getLogger("thermal_synth_core").setLevel(min(level, logging.INFO))


def progress(
    iterable: Iterable[T], total: int | None = None, desc: str = "", unit: str = "it", disable: bool | None = None
) -> Iterator[T]:
    """A tqdm progress bar on stderr (hidden when stderr is not a terminal unless forced)."""
    if disable is None:
        disable = not sys.stderr.isatty()
    yield from tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, dynamic_ncols=True, leave=False)


def summary(line: str) -> None:
    """Print the command's final one-line summary to stdout."""
    print(line, flush=True)
