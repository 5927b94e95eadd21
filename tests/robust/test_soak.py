"""The 30-second soak: the node on a 30 Hz 640x512 camera plus real thermal, memory flat, no errors.

Runs ``python -m thermal_synth_ros.soak`` (what ``make soak`` runs for ten
minutes) as a subprocess on this test's ROS domain and checks its JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ChildProcesses

pytestmark = [pytest.mark.ros, pytest.mark.slow, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
DURATION_S = 30
WARMUP_S = 10
#: RSS growth allowed between the first and last 5 s of the 20 s after warm-up (medians). The node's
#: buffers are bounded (one RGB slot, 64 real thermal frames = 42 MB at 640x512 mono16, full within the
#: 2 s at 30 Hz, inside the warm-up); second-to-second noise from frames in flight is +-10 MiB. A leak
#: of 50 KB per frame at the ~28 Hz output rate would add 28 MiB in those 20 s, one frame per output 560 MiB.
RSS_BOUND_MIB = 30.0


def test_thirty_second_soak(
    tmp_path: Path, ros_env: dict[str, str], ros_domain_id: int, children: ChildProcesses
) -> None:
    env = dict(ros_env, THERMAL_SYNTH_CACHE=str(tmp_path / "cache"))
    cmd = [sys.executable, "-m", "thermal_synth_ros.soak", "--duration", str(DURATION_S), "--warmup", str(WARMUP_S)]
    cmd += ["--out", str(tmp_path), "--name", "soak30", "--domain-id", str(ros_domain_id)]
    cmd += ["--rss-bound", str(RSS_BOUND_MIB)]
    # Its own session: if it overruns, the fixture ends the soak and the node it started.
    proc = children.start(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate(timeout=280)
    result_path = tmp_path / "soak30.json"
    assert result_path.is_file(), stderr[-3000:]
    result = json.loads(result_path.read_text())
    print(stdout.strip())
    assert (tmp_path / "soak30.png").stat().st_size > 10_000
    assert result["errors"]["total"] == 0, result["errors"]
    assert result["rss_mib"]["growth_after_warmup"] < RSS_BOUND_MIB, result["rss_mib"]
    assert result["verdict"]["pass"]
    assert proc.returncode == 0, stderr[-3000:]
    assert result["duration_s"] >= DURATION_S - 1
    assert result["drops"]["rgb_sent"] >= 0.8 * 30 * DURATION_S  # the camera kept its rate on a loaded machine
    assert result["drops"]["outputs"] > 0
    assert result["latency_ms"]["frames"] > 0
    assert result["setup"]["rgb_size"][0] == 640
