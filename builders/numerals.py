"""Chinese numerals and article labels (第一百零二条之一) as used in PRC statutes.

Statutes number their articles in Chinese numerals, while other sources (charge catalogues,
benchmarks, user questions) use Arabic digits. Both must map to the same integer so that an
article can be looked up whichever way it is cited, and so that a label can be rendered back
in the canonical legal style.

The parser is deliberately strict: an ill-formed numeral (``一百二``, ``十十``, ``一千二十``) is
far more likely to be an OCR or crawl defect than a real article number, so it raises
``ValueError`` instead of guessing.
"""

from __future__ import annotations

import re

__all__ = ["article_label", "cn_to_int", "int_to_cn", "parse_article_label"]

_DIGITS: dict[str, int] = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_SMALL_UNITS: dict[str, int] = {"十": 10, "百": 100, "千": 1000}
_CN_DIGITS = "零一二三四五六七八九"
_ARABIC = "0123456789０１２３４５６７８９"
_TO_ASCII = str.maketrans("０１２３４５６７８９", "0123456789")

# Largest value int_to_cn renders and cn_to_int accepts: just below 一万亿 (10**16).
_MAX = 10**16 - 1

_LABEL_RE = re.compile(r"第(?P<num>[^条之]+)条(?:之(?P<sub>.+))?")


def _bad(s: str, why: str) -> ValueError:
    return ValueError(f"not a Chinese or Arabic numeral: {s!r} ({why})")


def _parse_section(part: str, whole: str) -> int:
    """Parse a section below 万 (0 < value < 10000) written with 千/百/十.

    A leading 零 must already have been removed by the caller (it belongs to the level above).
    """
    if not part:
        raise _bad(whole, "empty section")
    total = 0
    pending: int | None = None  # a digit waiting for its unit
    last_unit = 10_000  # unit of the previous digit group; units must decrease
    zero = False  # a 零 was seen since the last unit
    for ch in part:
        if ch in _SMALL_UNITS:
            unit = _SMALL_UNITS[ch]
            if pending is None:
                # A bare 十 is fine at the start of a section (十二, 一万零十); nothing else is.
                if unit != 10 or (total and not zero):
                    raise _bad(whole, f"{ch} without a digit")
                pending = 1
            if unit >= last_unit:
                raise _bad(whole, f"{ch} out of order")
            if last_unit != 10_000:
                if zero and unit * 10 >= last_unit:
                    raise _bad(whole, "零 where no place is skipped")
                if not zero and unit * 10 != last_unit:
                    raise _bad(whole, "a skipped place needs 零")
            total += pending * unit
            last_unit, pending, zero = unit, None, False
        elif ch in _DIGITS:
            digit = _DIGITS[ch]
            if pending is not None:
                raise _bad(whole, "two digits in a row")
            if digit == 0:
                if zero or total == 0:
                    raise _bad(whole, "misplaced 零")
                zero = True
            else:
                pending = digit
        else:
            raise _bad(whole, f"unexpected character {ch!r}")
    if zero and pending is None:
        raise _bad(whole, "trailing 零")
    if pending is not None:
        if last_unit != 10_000:
            if zero and last_unit < 100:
                raise _bad(whole, "零 where no place is skipped")
            if not zero and last_unit != 10:
                # 一百二 is colloquial for 120; statutes never write it, so refuse to guess.
                raise _bad(whole, "ambiguous trailing digit")
        total += pending
    if total == 0:
        raise _bad(whole, "zero section")
    return total


def _parse_level(s: str, whole: str, levels: tuple[tuple[str, int], ...]) -> int:
    """Parse a number below ``levels[0][1] * 10**4`` by splitting on the big units 亿 then 万."""
    if not levels:
        return _parse_section(s, whole)
    (big, size), rest = levels[0], levels[1:]
    if s.count(big) > 1:
        raise _bad(whole, f"{big} appears twice")
    if big not in s:
        return _parse_level(s, whole, rest)
    upper, lower = s.split(big)
    if not upper:
        raise _bad(whole, f"{big} without a digit")
    value = _parse_level(upper, whole, rest) * size
    if not lower:
        return value
    has_zero = lower[0] in "零〇"
    low = _parse_level(lower[1:] if has_zero else lower, whole, rest)
    if has_zero != (low < size // 10):
        raise _bad(whole, f"零 after {big} must mark exactly a skipped place")
    return value + low


def cn_to_int(s: str) -> int:
    """Convert a Chinese numeral (or ASCII / full-width Arabic digits) to an int.

    Accepts 零〇一二两三四五六七八九十百千万亿: "十" -> 10, "一百零二" -> 102, "两万" -> 20000.
    Raises ValueError, naming the input, for anything else, including non-canonical forms whose
    value is ambiguous (e.g. colloquial "一百二").
    """
    if not isinstance(s, str) or not s:
        raise _bad(str(s), "empty")
    if all(ch in _ARABIC for ch in s):
        return int(s.translate(_TO_ASCII))
    if s in ("零", "〇"):
        return 0
    if s[0] in "零〇":
        raise _bad(s, "leading 零")
    return _parse_level(s, s, (("亿", 10**8), ("万", 10**4)))


def _section_to_cn(n: int, leading: bool) -> str:
    """Render 1..9999; ``leading`` drops the 一 of 一十 (十二, not 一十二) in the top section."""
    out: list[str] = []
    zero = False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = (n // unit) % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        if not (leading and not out and unit == 10 and digit == 1):
            out.append(_CN_DIGITS[digit])
        out.append(name)
    return "".join(out)


def _level_to_cn(n: int, leading: bool, levels: tuple[tuple[str, int], ...]) -> str:
    if not levels:
        return _section_to_cn(n, leading)
    (big, size), rest = levels[0], levels[1:]
    upper, lower = divmod(n, size)
    if not upper:
        return _level_to_cn(lower, leading, rest)
    out = _level_to_cn(upper, leading, rest) + big
    if lower:
        out += ("零" if lower < size // 10 else "") + _level_to_cn(lower, False, rest)
    return out


def int_to_cn(n: int) -> str:
    """Render a non-negative int as a Chinese numeral in the standard legal style.

    10 -> "十", 12 -> "十二", 102 -> "一百零二", 110 -> "一百一十", 1260 -> "一千二百六十",
    0 -> "零". Inverse of :func:`cn_to_int` on its canonical forms.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"int_to_cn needs an int, got {n!r}")
    if n < 0 or n > _MAX:
        raise ValueError(f"int_to_cn supports 0..{_MAX}, got {n}")
    if n == 0:
        return "零"
    return _level_to_cn(n, True, (("亿", 10**8), ("万", 10**4)))


def parse_article_label(label: str) -> tuple[int, int]:
    """Split an article label into (number, sub): "第十条之一" -> (10, 1), "第264条" -> (264, 0).

    ``sub`` is the 之N suffix used for articles inserted by amendment; 0 when absent.
    """
    m = _LABEL_RE.fullmatch(label) if isinstance(label, str) else None
    if m is None:
        raise ValueError(f"not an article label like 第一百零二条 or 第十条之一: {label!r}")
    try:
        number = cn_to_int(m["num"])
        sub = cn_to_int(m["sub"]) if m["sub"] is not None else 0
    except ValueError as exc:
        raise ValueError(f"bad numeral in article label {label!r}: {exc}") from None
    if number < 1 or (m["sub"] is not None and sub < 1):
        raise ValueError(f"article numbers start at 1: {label!r}")
    return number, sub


def article_label(number: int, sub: int = 0) -> str:
    """Render (number, sub) as a label: (10, 1) -> "第十条之一", (102, 0) -> "第一百零二条"."""
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ValueError(f"article number must be an int >= 1, got {number!r}")
    if isinstance(sub, bool) or not isinstance(sub, int) or sub < 0:
        raise ValueError(f"article sub-number must be an int >= 0, got {sub!r}")
    label = f"第{int_to_cn(number)}条"
    return f"{label}之{int_to_cn(sub)}" if sub else label
