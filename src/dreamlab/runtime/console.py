"""Console output that never crashes on the terminal's encoding.

A Windows console in cp1252, `PYTHONIOENCODING=ascii` or a C locale must not raise
UnicodeEncodeError (issue 6): streams are switched to errors="replace", and box
drawing falls back to ASCII when the stream cannot encode it. Progress bars are
shown only on a terminal; in CI logs and pipes the logger prints periodic lines.
"""

from __future__ import annotations

import codecs
import sys
from functools import lru_cache

from rich import box
from rich.console import Console


def make_streams_safe() -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def stream_is_unicode(stream: object = None) -> bool:
    enc = getattr(stream or sys.stdout, "encoding", None) or "ascii"
    try:
        return codecs.lookup(enc).name.startswith("utf")
    except LookupError:
        return False


@lru_cache(maxsize=1)
def get_console() -> Console:
    unicode_ok = stream_is_unicode(sys.stderr)
    return Console(stderr=True, safe_box=True, emoji=unicode_ok,
                   legacy_windows=False, highlight=False)


def table_box() -> box.Box:
    return box.SIMPLE_HEAD if stream_is_unicode(sys.stderr) else box.ASCII


def interactive() -> bool:
    return get_console().is_terminal
