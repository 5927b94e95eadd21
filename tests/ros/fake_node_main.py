"""``python -m tests.ros.fake_node_main [--ros-args ...]``: the node's real main() with the fake model.

Lets a subprocess test exercise start-up, signals and shutdown of the
executable's code path before (and independently of) the real Synthesizer.
"""

from __future__ import annotations

import sys

from tests.ros.fakes import FakeModel, fake_colorize, loader_for
from thermal_synth_ros import node

if __name__ == "__main__":
    sys.exit(node.main(sys.argv, model_loader=loader_for(FakeModel(size=(64, 48))), colorizer=fake_colorize))
