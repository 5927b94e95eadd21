"""``thermal-synth --help`` and every ``<command> --help`` answer without importing the heavy libraries.

The handlers import torch, OpenCV, ONNX Runtime and rclpy when a command runs;
listing the commands or printing one's help must not (issue: a CLI that
answers at once). Run in a fresh interpreter, since this test session has
imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from thermal_synth_core.cli import build_parser
from thermal_synth_core.cli.common import BenchmarkSpec, LazyHandler

HEAVY = ("torch", "onnxruntime", "cv2", "rclpy", "numpy", "rosbags", "safetensors", "tensorrt")

PROBE = r"""
import argparse, contextlib, io, json, sys
from thermal_synth_core.cli import build_parser, main

def commands(parser, prefix=()):
    yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*prefix, name))

listed = list(commands(build_parser()))
for argv in listed:
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main([*argv, "--help"])
        except SystemExit:
            pass
print(json.dumps({"commands": [" ".join(c) for c in listed], "modules": sorted(sys.modules)}))
"""


def _probe() -> dict[str, list[str]]:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True)
    result: dict[str, list[str]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_every_help_leaves_the_heavy_libraries_unimported() -> None:
    probe = _probe()
    # Every command was asked for its help, plug-ins and benchmarks included.
    for command in ("", "evaluate", "align estimate", "align check", "bench infer", "bench all", "replay", "demo"):
        assert command in probe["commands"], probe["commands"]
    loaded = {m.split(".")[0] for m in probe["modules"]}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_every_handler_resolves_to_a_function() -> None:
    """A lazily named handler that does not exist would only fail when a user runs the command."""
    seen: list[str] = []

    def walk(parser: object) -> None:
        import argparse

        assert isinstance(parser, argparse.ArgumentParser)
        handler = parser.get_default("handler")
        if isinstance(handler, LazyHandler):
            assert callable(handler.resolve()), handler.target
            seen.append(handler.target)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    walk(sub)

    walk(build_parser())
    assert any(t.endswith("evaluate:run") for t in seen), seen


def test_every_benchmark_run_function_resolves() -> None:
    from thermal_synth_core.cli.bench import benchmarks

    specs = benchmarks()
    assert {"infer", "train", "prepare", "evaluate"} <= {b.name for b in specs}
    for spec in specs:
        assert callable(spec.resolve()), spec.run


@pytest.mark.parametrize("target", ["no_colon", ":run", "module:", ""])
def test_a_malformed_handler_name_is_refused_when_registered(target: str) -> None:
    with pytest.raises(ValueError, match=r"package\.module:function"):
        LazyHandler(target)
    with pytest.raises(ValueError, match=r"package\.module:function"):
        BenchmarkSpec("x", "x", lambda p: None, target)
