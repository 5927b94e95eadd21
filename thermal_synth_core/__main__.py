"""``python -m thermal_synth_core`` is the ``thermal-synth`` CLI."""

import sys

from thermal_synth_core.cli import main

sys.exit(main())
