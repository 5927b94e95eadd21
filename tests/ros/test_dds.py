"""One DDS transport rule for every process, and the teardown watchdog."""

from __future__ import annotations

import subprocess
import sys

from thermal_synth_ros.dds import configure_dds


def test_large_data_is_the_default_and_a_user_choice_wins() -> None:
    env: dict[str, str] = {}
    assert configure_dds(env) == "LARGE_DATA"
    assert env["FASTDDS_BUILTIN_TRANSPORTS"] == "LARGE_DATA"
    assert configure_dds({"FASTDDS_BUILTIN_TRANSPORTS": "DEFAULT"}) == "DEFAULT"
    assert configure_dds({"FASTDDS_BUILTIN_TRANSPORTS": ""}) == "LARGE_DATA"


def _run(body: str) -> subprocess.CompletedProcess[str]:
    code = f"import time\nfrom thermal_synth_ros.dds import teardown_watchdog\n{body}\nprint('after')"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)


def test_teardown_watchdog_ends_a_stuck_process_with_its_stacks() -> None:
    # time.sleep stands in for a teardown blocked in native code (the GIL is irrelevant to a C watchdog).
    stuck = _run("with teardown_watchdog(0.5):\n    time.sleep(30)")
    assert stuck.returncode == 1
    assert "Timeout" in stuck.stderr
    assert "after" not in stuck.stdout
    fine = _run("with teardown_watchdog(1):\n    time.sleep(0.01)\ntime.sleep(1.5)")
    assert fine.returncode == 0, fine.stderr
    assert "after" in fine.stdout


def test_teardown_watchdog_works_when_stderr_has_no_descriptor() -> None:
    # pytest's capsys (or any io.StringIO redirect) leaves sys.stderr without fileno().
    body = "import io, sys\nsys.stderr = io.StringIO()\nwith teardown_watchdog(1):\n    time.sleep(0.01)"
    fine = _run(body)
    assert fine.returncode == 0, fine.stderr
    assert "after" in fine.stdout
