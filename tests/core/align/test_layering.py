"""``align`` works on frames in memory: it never imports ``data`` (``data`` builds on ``align``)."""

from __future__ import annotations

import subprocess
import sys


def test_align_imports_nothing_from_data() -> None:
    code = (
        "import sys, thermal_synth_core.align, thermal_synth_core.align.check; "
        "print(sorted(m for m in sys.modules if m.startswith('thermal_synth_core.data')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
