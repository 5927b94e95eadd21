"""CPU training keeps freed memory in the process: each step reuses it instead of page-faulting it in again.

A training step frees and reallocates the same few hundred megabytes every iteration
(gradients, activations, optimiser temporaries). glibc's malloc serves blocks above
its mmap threshold (128 KiB, adapting up to 32 MiB) with fresh ``mmap`` calls and
hands them, and the free top of its heap, straight back to the operating system,
so every step page-faults them in again: about 40,000 faults and 15% of a Pix2Pix
step on the development CPU. Raising the mmap and trim thresholds keeps those blocks
in malloc's free lists. The price is that the process keeps its peak memory, which
training reaches every step anyway. CUDA tensors do not go through malloc; their
allocator already caches.
"""

from __future__ import annotations

import ctypes
import functools
import logging
from typing import Final

__all__ = ["keep_freed_memory"]

log = logging.getLogger(__name__)

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD: Final = -1
_M_MMAP_THRESHOLD: Final = -3
#: Blocks up to this size come from the heap and are reused (the largest U-Net gradient is 32 MiB);
#: glibc versions that cap the threshold get their own maximum, 32 MiB, instead.
_MMAP_THRESHOLDS: Final = (1 << 30, 32 << 20)
_TRIM_THRESHOLD: Final = (1 << 31) - 1


@functools.cache  # once per process
def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse; False where libc is not glibc (nothing changes there)."""
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018  # only glibc has it (musl, macOS: AttributeError)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    if not any(mallopt(_M_MMAP_THRESHOLD, value) == 1 for value in _MMAP_THRESHOLDS):
        log.debug("glibc refused a larger mmap threshold; freed memory goes back to the OS as before")
        return False
    mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    return True
