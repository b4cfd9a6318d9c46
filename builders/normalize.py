"""Text normalization applied to every text field a source yields.

Order: OpenCC t2s (only for sources whose script is not already simplified), NFKC with Chinese
punctuation protected, whitespace folding.

Why Chinese punctuation is protected: NFKC maps the full-width forms U+FF01-U+FF5E to ASCII, which
would turn ``，；：（）？！`` into ``,;:()?!``. Chinese legal text and LawBench's gold answers use the
full-width forms (``正确答案：B``), so only full-width letters, digits and the other ASCII symbols
are folded to half-width.

Why t2s is skipped for simplified sources: OpenCC's t2s is not the identity on simplified text. On
LawRefBook-Laws it changed 12 of 356,755 lines, 8 of them wrongly (``破坏`` → ``破坯``), so running it
on text that is already simplified corrupts statutes. Sources declare their script in the recipe.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

#: Full-width punctuation that stays full-width (Chinese typography).
PROTECTED = "，；：（）？！"
_PLACEHOLDERS = {ord(c): chr(0xE000 + i) for i, c in enumerate(PROTECTED)}
_RESTORE = {0xE000 + i: c for i, c in enumerate(PROTECTED)}

_HSPACE = re.compile(r"[ \t\f\v\u00a0\u2000-\u200b\u202f\u205f]+")
_BLANK_LINES = re.compile(r"\n{3,}")
NORMALIZER_VERSION = "normalize_v1"


@lru_cache(maxsize=1)
def _t2s():  # one converter per process (OpenCC objects are not picklable)
    import opencc

    return opencc.OpenCC("t2s")


def fold_width(text: str) -> str:
    """NFKC with the Chinese punctuation in :data:`PROTECTED` kept as it is."""
    return unicodedata.normalize("NFKC", text.translate(_PLACEHOLDERS)).translate(_RESTORE)


def fold_whitespace(text: str) -> str:
    """Runs of horizontal space become one space, lines are trimmed, 3+ newlines become 2."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_HSPACE.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


_ENTITY = re.compile(r"&(?:[A-Za-z]{2,8}|#\d{2,6}|#x[0-9A-Fa-f]{2,5});")


def normalize_text(text: str, simplified: bool = True) -> str:
    """Normalize one text field. ``simplified=False`` runs OpenCC t2s first. HTML entities left
    by scrapers (CAIL2019: &ldquo; &hellip;) become the characters they stand for."""
    if "&" in text and _ENTITY.search(text):
        text = html.unescape(text)
    if not simplified:
        text = _t2s().convert(text)
    return fold_whitespace(fold_width(text))


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def cjk_ratio(text: str) -> float:
    """Share of non-space characters that are CJK ideographs."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    return sum(1 for c in chars if _CJK.match(c)) / len(chars)


def strings_of(value: object) -> list[str]:
    """Every string in a text field: the field itself, or the strings of a list or dict of them."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [x for v in value for x in strings_of(v)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in strings_of(v)]
    return []
