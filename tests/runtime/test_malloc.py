"""fix_malloc_thresholds: glibc's mmap threshold is held fixed, and a user's own setting wins."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dreamlab.runtime import malloc

# A 1 MiB block freed and allocated again. With glibc's dynamic threshold the first free
# raises the threshold past 1 MiB, so the next 1 MiB block comes from the heap and stays
# cached there after its free; with the threshold fixed it is mmap'd again. glibc marks
# an mmap'd chunk with bit 1 (IS_MMAPPED) of the size word just before the pointer.
PROBE = """
import ctypes, ctypes.util, sys
from dreamlab.runtime.malloc import fix_malloc_thresholds
fixed = fix_malloc_thresholds() if sys.argv[1] == "fix" else False
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = (ctypes.c_void_p,)
p = libc.malloc(1 << 20)
libc.free(p)
p = libc.malloc(1 << 20)
mmapped = ctypes.c_size_t.from_address(p - ctypes.sizeof(ctypes.c_size_t)).value & 2
libc.free(p)
print(int(fixed), int(bool(mmapped)))
"""


def _probe(mode: str, env: dict[str, str] | None = None) -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True, env=env).stdout.split()
    return int(out[0]), int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_fixed_threshold_keeps_big_blocks_out_of_the_heap() -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    fixed, mmapped_fixed = _probe("fix", env)
    _, mmapped_default = _probe("default", env)
    assert fixed == 1
    assert mmapped_default == 0  # the dynamic threshold moved the block into the heap
    assert mmapped_fixed == 1  # mmap'd instead, so its free returns it at once


def test_user_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert malloc.fix_malloc_thresholds() is False
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_")
    monkeypatch.setenv(malloc.KEEP_VAR, "1")
    assert malloc.fix_malloc_thresholds() is False
