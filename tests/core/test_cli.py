"""The thermal-synth CLI: every subcommand has real --help; errors exit non-zero with a message."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from thermal_synth_core.argtypes import parse_size
from thermal_synth_core.cli import build_parser, main

DESIGN_COMMANDS = [
    "prepare",
    "align",
    "synth-data",
    "import-reference",
    "export",
    "infer",
    "evaluate",
    "replay",
    "bench",
    "demo",
]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_design_command_is_registered() -> None:
    assert set(DESIGN_COMMANDS) <= set(_subcommands(build_parser()))


def _all_help_paths() -> list[list[str]]:
    paths = []
    for name, parser in _subcommands(build_parser()).items():
        paths.append([name])
        paths.extend([name, child] for child in _subcommands(parser))
    return paths


@pytest.mark.parametrize("path", _all_help_paths(), ids=" ".join)
def test_help_explains_every_flag(path: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*path, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert f"thermal-synth {' '.join(path)}" in out
    parser = build_parser()
    for part in path:
        parser = _subcommands(parser)[part]
    for action in parser._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, f"{' '.join(path)} {action.option_strings} has no help text"


def test_python_dash_m_entry_point() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "thermal_synth_core", "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert "synth-data" in proc.stdout


def test_missing_required_argument_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["export"])
    assert exc.value.code == 2
    assert "--model" in capsys.readouterr().err


def test_group_without_action_explains(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["align"]) == 1
    assert "align estimate" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "expected"), [("640x512", (640, 512)), (" 1800X1600 ", (1800, 1600))])
def test_parse_size(text: str, expected: tuple[int, int]) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["640", "0x5", "axb", "640x-1"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="size"):
        parse_size(text)


def test_bench_all_reports_a_failing_benchmark_and_runs_the_rest(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import types

    from thermal_synth_core.cli import bench as bench_cli
    from thermal_synth_core.cli.common import BenchmarkSpec
    from thermal_synth_core.errors import ThermalSynthError

    ran: list[str] = []

    def fails(args: argparse.Namespace) -> dict[str, object]:
        raise ThermalSynthError("no GPU here")

    def works(args: argparse.Namespace) -> dict[str, object]:
        ran.append(args.out)
        return {}

    module = types.ModuleType("fake_benchmarks")
    module.fails = fails  # type: ignore[attr-defined]
    module.works = works  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_benchmarks", module)
    fake = [
        BenchmarkSpec("broken", "", lambda p: None, "fake_benchmarks:fails"),
        BenchmarkSpec("fine", "", lambda p: None, "fake_benchmarks:works"),
    ]
    monkeypatch.setattr(bench_cli, "benchmarks", lambda: fake)
    assert bench_cli._run_all(argparse.Namespace(out="somewhere", quick=True)) == 1
    assert ran == ["somewhere"]
    captured = capsys.readouterr()
    assert "bench broken failed: no GPU here" in captured.err
    assert "bench all: 1 ran (fine), 1 failed (broken)" in captured.out
