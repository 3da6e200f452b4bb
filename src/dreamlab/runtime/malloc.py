"""Fixed glibc malloc thresholds, so a long training loop's RSS measures what it holds.

glibc raises its mmap threshold each time a large block is freed (the "dynamic"
threshold), after which an update's big activation buffers are carved from the heap
instead of mapped, and stay cached there after they are freed. Measured on Dreamer's Pong
config past three times its replay capacity: RSS swung by +-50 MB with the sampling phase
and drifted +2.1 MB per 10k env steps with glibc's defaults, against +0.015 MB with the
thresholds fixed at 128 KiB (benchmarks/results/dreamer_memory*.json). Fixing them is
what `MALLOC_MMAP_THRESHOLD_` / `MALLOC_TRIM_THRESHOLD_` do from the environment; doing it
in-process means a user gets the flat curve without knowing glibc's variables.

Only glibc has mallopt with these parameters; elsewhere (macOS, Windows, musl) this does
nothing and says so.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger("dreamlab")

M_TRIM_THRESHOLD = -1  # glibc's <malloc.h> parameter numbers
M_MMAP_THRESHOLD = -3
THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value, now held fixed
_ENV_VARS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
# Set to 1 to keep glibc's dynamic thresholds (the memory benchmark's comparison run).
KEEP_VAR = "DREAMLAB_GLIBC_MALLOC"


def fix_malloc_thresholds(threshold: int = THRESHOLD_BYTES) -> bool:
    """Hold glibc's mmap and trim thresholds at `threshold` bytes; True if it did.

    A user's own MALLOC_*_THRESHOLD_ environment settings win (nothing is changed), and
    DREAMLAB_GLIBC_MALLOC=1 keeps glibc's defaults.
    """
    if not sys.platform.startswith("linux") or os.environ.get(KEEP_VAR) == "1" or \
            any(v in os.environ for v in _ENV_VARS):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        log.debug("no glibc mallopt here; malloc thresholds left as they are")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success; setting M_MMAP_THRESHOLD also turns the dynamic
    # adjustment off, which is the point.
    ok = mallopt(M_MMAP_THRESHOLD, threshold) == 1 and mallopt(M_TRIM_THRESHOLD, threshold) == 1
    if ok:
        log.debug("malloc thresholds fixed at %d bytes", threshold)
    return ok
