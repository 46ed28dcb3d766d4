"""Text that comes from a peer (certificate subjects and SANs, device answers, OVOC output),
made safe to show: data, never terminal commands or a forged line.

A certificate subject may carry a newline and a fake `SHA-256 ...` line, `ESC[8m` that hides
what follows on a terminal, or a right-to-left override that reorders a fingerprint on screen.
Like OpenSSH's strnvis() we show such characters as visible escapes (`\\x1b`, `\\u202e`);
printable text, accents and non-Latin scripts are kept as they are.
"""

from __future__ import annotations

import unicodedata

# Bidirectional controls are category Cf, but named here because they are the dangerous ones:
# LRE RLE PDF LRO RLO, LRI RLI FSI PDI, LRM RLM ALM.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# Cc: C0/C1 controls and DEL; Cf: format (zero-width, bidi, soft hyphen...); Zl/Zp: line and
# paragraph separators (new lines to Qt); Cs: lone surrogates from a broken decode; Co: private.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def _visible(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def is_unsafe(char: str) -> bool:
    return char in _BIDI or unicodedata.category(char) in _UNSAFE_CATEGORIES


def escape_peer(text: object, *, keep_newlines: bool = False) -> str:
    """`text` with every control, format and bidirectional character shown as an escape.

    keep_newlines: multi-line peer output (an OVOC transcript) keeps its line breaks (LF only;
    a CR, which could overwrite a line on a terminal, is still escaped).
    """
    s = str(text)
    if s.isprintable():  # the common case, fast: no control or format character at all
        return s
    return "".join(
        ch if (keep_newlines and ch == "\n") or not is_unsafe(ch) else _visible(ch) for ch in s
    )


def peer_line(text: object, limit: int = 400) -> str:
    """Peer text for one line of a message (a CA's problem detail, a hook's output): escaped
    like escape_peer, a line break included, and cut at `limit` characters so that a CA or a
    script cannot flood the screen."""
    line = escape_peer(text).strip()
    return line if len(line) <= limit else line[: limit - 3] + "..."
