"""Offline evaluation on recorded drives: bags in, metrics, samples, a report and a bag with the synthetic topics out.

Entry point: :func:`evaluate` (what ``thermal-synth evaluate`` runs). The pieces:
:mod:`.bag` (reading bags), :mod:`.plan` (stamps and pairing), :mod:`.scoring`
(metrics and their aggregate), :mod:`.panels` (sample strips), :mod:`.writebag`
(``--write-bag``), :mod:`.schema` (the documents: options, rows, samples, metrics.json), :mod:`.outputs`
and :mod:`.report` (files in ``--out``).
"""

from thermal_synth_core.eval.bag import BagReadError, BagSource, TopicInfo
from thermal_synth_core.eval.run import DEFAULT_MASK_TOPIC, evaluate, open_synthesizer
from thermal_synth_core.eval.schema import EvalOptions, EvalResult, EvalSummary, FrameRow
from thermal_synth_core.eval.writebag import COLOR_TOPIC, OUTPUT_STORAGES, THERMAL_TOPIC

__all__ = [
    "COLOR_TOPIC",
    "DEFAULT_MASK_TOPIC",
    "OUTPUT_STORAGES",
    "THERMAL_TOPIC",
    "BagReadError",
    "BagSource",
    "EvalOptions",
    "EvalResult",
    "EvalSummary",
    "FrameRow",
    "TopicInfo",
    "evaluate",
    "open_synthesizer",
]
