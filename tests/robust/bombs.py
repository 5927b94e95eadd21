"""Inputs that claim far more memory than they take, run under an address-space limit; prints JSON.

Run by test_memory_bombs.py as ``python -m tests.robust.bombs`` in a fresh
process, so its peak RSS measures these inputs alone, and with RLIMIT_AS set
to what the imports took plus 1.5 GiB, so a regression fails with MemoryError
instead of taking a shared machine's memory. Each case must end in a typed
error; the peak RSS must stay flat.
"""

from __future__ import annotations

import json
import resource
import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np

from thermal_synth_core import imagemsg
from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.errors import ThermalSynthError
from thermal_synth_core.modelfile import SPEC_KEY, read_spec
from thermal_synth_core.models import load_generator

HEADROOM = 3 << 29  # 1.5 GiB


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_bomb(side: int) -> bytes:
    """A valid gray PNG of side x side zeros: ~1000:1 compression, so side=12000 is ~140 KB for 144 MB."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def jpeg_bomb(side: int) -> bytes:
    """A 16x16 JPEG whose frame header claims side x side: libjpeg fills the missing data with grey."""
    ok, buf = cv2.imencode(".jpg", np.full((16, 16, 3), 128, np.uint8))
    assert ok
    data = bytearray(buf.tobytes())
    sof = next(i for i in range(2, len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xC0)
    data[sof + 5 : sof + 9] = struct.pack(">HH", side, side)
    return bytes(data)


def model_with(tmp: Path, name: str, **change: Any) -> Path:
    """A real small model file whose spec is changed after writing."""
    from tests.core.models.factory import make_model

    path, _, _ = make_model(tmp / "valid.safetensors", ngf=4, input_size=(64, 48))
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    spec = json.loads(header["__metadata__"][SPEC_KEY])
    spec.update(change)
    header["__metadata__"][SPEC_KEY] = json.dumps(spec)
    text = json.dumps(header).encode()
    out = tmp / f"{name}.safetensors"
    out.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n :])
    return out


def cases(tmp: Path) -> dict[str, Callable[[], object]]:
    png = png_bomb(12000)
    jpeg = jpeg_bomb(30000)
    ngf = model_with(tmp, "ngf", arch_kwargs={"ngf": 4000, "norm": "batch"})
    nc = model_with(tmp, "nc", input_nc=10**9)
    size = model_with(tmp, "size", input_size=[60000, 60000])
    align = tmp / "align.yaml"
    align.write_text("matrix: [[1,0,0],[0,1,0],[0,0,1]]\nrgb_size: [60000, 60000]\nthermal_size: [60000, 60000]\n")
    return {
        "Image 60000x60000 header": lambda: imagemsg.to_rgb8(
            SimpleNamespace(height=60000, width=60000, step=180000, encoding="rgb8", is_bigendian=0, data=bytes(64))
        ),
        f"PNG 12000x12000 in {len(png) // 1024} KB (color)": lambda: imagemsg.compressed_to_color8(
            SimpleNamespace(format="png", data=png)
        ),
        f"PNG 12000x12000 in {len(png) // 1024} KB (mono)": lambda: imagemsg.compressed_to_mono(
            SimpleNamespace(format="png", data=png)
        ),
        f"JPEG 30000x30000 in {len(jpeg)} B": lambda: imagemsg.compressed_to_color8(
            SimpleNamespace(format="jpeg", data=jpeg)
        ),
        "model spec ngf=4000": lambda: load_generator(ngf),
        "model spec input_nc=10**9": lambda: load_generator(nc),
        "model spec input_size 60000x60000": lambda: read_spec(size),
        "alignment 60000x60000": lambda: Alignment.load(align),
    }


def _vm_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        todo = cases(Path(tmp))
        load_generator(Path(tmp) / "valid.safetensors")  # warm-up: torch's first-use allocations are not the bombs'
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = _vm_bytes() + HEADROOM
        resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
        start_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        results = {}
        for name, case in todo.items():
            t0 = time.monotonic()
            try:
                case()
                outcome = "accepted"
            except ThermalSynthError as exc:
                outcome = f"{type(exc).__name__}: {str(exc)[:160]}"
            except MemoryError:
                outcome = "untyped MemoryError"
            except Exception as exc:  # reported, and failed by the test
                outcome = f"untyped {type(exc).__name__}: {str(exc)[:160]}"
            results[name] = {
                "outcome": outcome,
                "seconds": round(time.monotonic() - t0, 3),
                "peak_rss_growth_mib": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start_kb) / 1024, 1),
            }
    json.dump(results, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
