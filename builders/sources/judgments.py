"""What the judgment adapter and the case tasks share to read a court judgment."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"如不服本判决|本判决为终审判决|审\s*判\s*长|审\s*判\s*员|附\s*[:：]")


def sentence_of(document: str) -> str:
    """The operative part of a judgment: after ``判决如下`` up to the appeal notice or signatures;
    "" when the document has no ``判决如下``."""
    _, found, rest = document.partition("判决如下")
    if not found:
        return ""
    m = _SENTENCE_END.search(rest)
    return (rest[: m.start()] if m else rest).lstrip("：:，, ").strip()
