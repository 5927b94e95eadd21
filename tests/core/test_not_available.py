"""Commands whose work lands in later issues fail clearly and never pretend to succeed.

This file shrinks as issues land: each entry is a command still waiting for its issue.
"""

from __future__ import annotations

import pytest

from thermal_synth_core.cli import main

PENDING: list[list[str]] = [
    ["evaluate", "--bag", "b", "--rgb-topic", "/rgb", "--out", "o"],
]


@pytest.mark.parametrize("argv", PENDING, ids=lambda a: " ".join(a[:2]))
def test_pending_command_fails_with_clear_message(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "not available yet" in err
    assert "issue #" in err
