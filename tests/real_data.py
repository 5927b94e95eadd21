"""Where the real third-party recordings live (``../shared/real``), and skip markers for tests that use them.

The recordings are other people's data, kept outside the repository and never
copied into it (their terms allow research use, not redistribution). A user
who clones only the project does not have them: tests that need them skip,
saying which folder was missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: ``../shared/real`` seen from the repository root.
REAL_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "real"
ROADSCENE = REAL_ROOT / "roadscene_flir_v1"
THERMAL16 = REAL_ROOT / "flir_v1_thermal16"
ROS1_BAG = REAL_ROOT / "ros1_bag_realsense" / "kapture_t265_trimmed_locoffice.bag"


def _needs(present: bool, what: str, where: Path) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not present, reason=f"{what} not found at {where} (real third-party data, kept outside the repository)"
    )


needs_roadscene = _needs(
    (ROADSCENE / "crop_LR_visible").is_dir() and (ROADSCENE / "cropinfrared").is_dir(),
    "real RoadScene frames",
    ROADSCENE,
)
needs_thermal16 = _needs(THERMAL16.is_dir() and any(THERMAL16.glob("*.tiff")), "real FLIR 16-bit TIFFs", THERMAL16)
needs_ros1_bag = _needs(ROS1_BAG.is_file(), "the real ROS 1 bag", ROS1_BAG)
