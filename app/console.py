"""Our console output never fails on encoding.

Where the console or a redirect decides the encoding (Windows: the ANSI or OEM code page, cp1252
or cp932), a character it lacks, such as the Ł of `O=Łódź` or an em dash, is written as '?'
instead of ending the command in an internal error after its work is done.
"""

from __future__ import annotations

import contextlib
import sys


def make_output_safe() -> None:
    for stream in (sys.stdout, sys.stderr):  # None in a windowed program
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", "strict") == "strict":
            with contextlib.suppress(ValueError, OSError):  # a stream already written to
                reconfigure(errors="replace")
