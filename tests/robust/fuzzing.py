"""Shared settings for the fuzz tests: a modest example count in ``make test``, many more in ``make fuzz``.

``make test`` runs every property a few dozen times with a fixed seed
(``derandomize``), so the suite is fast and never flaky. ``make fuzz`` sets
``HYPOTHESIS_PROFILE=fuzz``: example counts are multiplied by
``FUZZ_SCALE`` (default 40), the search is random, and failures are kept in
``.hypothesis/`` to be replayed first next time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings

F = TypeVar("F", bound=Callable[..., Any])

#: True under ``make fuzz`` (HYPOTHESIS_PROFILE=fuzz).
FUZZ = os.environ.get("HYPOTHESIS_PROFILE", "") == "fuzz"
SCALE = int(os.environ.get("FUZZ_SCALE", "40")) if FUZZ else 1


def fuzz(examples: int) -> Callable[[F], F]:
    """Hypothesis settings for one fuzz target: ``examples`` per ``make test`` run, x SCALE under ``make fuzz``."""
    return settings(
        max_examples=examples * SCALE,
        deadline=None,  # a loaded 2-core machine: hangs are caught by pytest-timeout instead
        derandomize=not FUZZ,
        database=None if not FUZZ else settings().database,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        print_blob=True,
    )
