"""Metric primitives for the LawBench-compatible scorer (:mod:`lawset.sft.lawbench`).

Written from LawBench's published scoring rules (../shared/docs/FACTS.md section 3) and checked
against the published per-task scores; no LawBench code is reused. Every function here works on
one item (or one pair of strings); :mod:`lawset.sft.lawbench` averages them per task.

Decisions worth knowing:

* **ROUGE-L** follows the ``rouge_chinese`` package (version 1.0.3) that LawBench calls: both texts
  are segmented with jieba's default dictionary and joined with spaces; the package's sentence
  splitter then cuts after ``。！？?`` and newlines, whitespace inside every non-empty piece is
  collapsed and the pieces are split on single spaces. A piece made only of whitespace therefore
  yields one empty token, which counts as a word (a quirk that moves published scores, so it is
  kept). The score is the summary-level LCS F1 over the flattened token lists,
  ``2PR / (P + R + 1e-8)``. An empty hypothesis becomes ``无内容`` first, as in LawBench. The LCS
  length uses the bit-parallel algorithm of Hyyrö (2004), exact and fast enough for 2,000 long
  answers in a few seconds.
* jieba's tokenizer here is a private ``jieba.Tokenizer()`` with the default dictionary, so a
  legal user dictionary loaded elsewhere in the process (the builders do that) cannot shift scores.
* **Chinese numerals in free text** are converted run by run (``有期徒刑三年六个月`` ->
  ``有期徒刑3年6个月``), like ``cn2an.transform(text, "cn2an")``: canonical numerals through
  :func:`lawset.builders.numerals.cn_to_int`, digit strings digit by digit (``二〇一六`` -> 2016),
  colloquial forms leniently (``一百二`` -> 120); a run that is no number at all (a bare ``万``)
  is left alone.
* **Character F1** is the CJRC/CAIL reading-comprehension F1: lower-case, keep letters and digits
  only (Chinese characters count as letters), multiset overlap of characters; two empty strings
  score 1, one empty string 0.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

from lawset.builders.numerals import cn_to_int

__all__ = [
    "char_f1",
    "choice_judge",
    "lcs_length",
    "numerals_to_arabic",
    "rouge_l_f",
    "rouge_tokens",
    "segment",
    "set_f1",
]

# --------------------------------------------------------------------------- numerals in text

_NUMERAL_RUN = re.compile("[零〇一二两三四五六七八九十百千万亿]+")
_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_DIGIT.update({"五": 5, "六": 6, "七": 7, "八": 8, "九": 9})
_UNIT = {"十": 10, "百": 100, "千": 1000}
_BIG = {"万": 10**4, "亿": 10**8}


def _lenient(run: str) -> int | None:
    """Parse a colloquial numeral (``一百二`` = 120, ``三千五`` = 3500); None if it is none."""
    total = section = 0
    pending: int | None = None
    last_unit = 0
    zero = False
    for ch in run:
        if ch in _DIGIT:
            if pending is not None and _DIGIT[ch] != 0:
                return None
            if _DIGIT[ch] == 0:
                zero = True
            else:
                pending = _DIGIT[ch]
        elif ch in _UNIT:
            if pending is None and (section or total or zero):
                return None
            section += (pending if pending is not None else 1) * _UNIT[ch]
            last_unit, pending, zero = _UNIT[ch], None, False
        else:  # 万 / 亿
            if pending is None and section == 0:
                return None
            section += pending or 0
            total = (total + section) * _BIG[ch]
            section, pending, last_unit, zero = 0, None, _BIG[ch], False
    if pending is not None:
        # a trailing digit right after a unit is colloquial shorthand for the next place down
        factor = last_unit // 10 if (last_unit >= 100 and not zero) else 1
        section += pending * max(factor, 1)
    value = total + section
    return value if value or run[0] in "零〇" else None


def _convert_run(match: re.Match[str]) -> str:
    run = match.group()
    if all(ch in _DIGIT for ch in run):  # 二〇一六, 一二: read digit by digit
        return "".join(str(_DIGIT[ch]) for ch in run)
    try:
        return str(cn_to_int(run))
    except ValueError:
        value = _lenient(run)
        return run if value is None else str(value)


def numerals_to_arabic(text: str) -> str:
    """Replace every run of Chinese numerals in ``text`` by Arabic digits (see module notes)."""
    return _NUMERAL_RUN.sub(_convert_run, text)


# --------------------------------------------------------------------------- set and choice


def set_f1(predicted: set, gold: set) -> float:
    """F1 of two sets; 0 when either is empty (nothing predicted is simply wrong)."""
    if not predicted or not gold:
        return 0.0
    hit = len(predicted & gold)
    if hit == 0:
        return 0.0
    precision, recall = hit / len(predicted), hit / len(gold)
    return 2 * precision * recall / (precision + recall)


def choice_judge(
    prediction: str, options: list[str] | tuple[str, ...], gold: str
) -> tuple[int, int]:
    """LawBench's single-choice rule: ``(correct, abstained)``.

    An option counts as chosen when its token occurs anywhere in the prediction (several
    occurrences count once). Correct only if the gold option is the one and only option chosen;
    abstained when none is chosen. A long answer that discusses several options is wrong.
    """
    chosen = [option for option in options if option in prediction]
    if not chosen:
        return 0, 1
    return int(chosen == [gold]), 0


# --------------------------------------------------------------------------- character F1


def _char_tokens(text: str) -> list[str]:
    return [ch for ch in text.lower() if ch.isalpha() or ch.isdigit()]


def char_f1(gold: str, predicted: str) -> float:
    """CJRC-style character F1 (see module notes)."""
    gold_tokens, pred_tokens = _char_tokens(gold), _char_tokens(predicted)
    if not gold_tokens or not pred_tokens:
        return float(gold_tokens == pred_tokens)
    same = sum((Counter(gold_tokens) & Counter(pred_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


# --------------------------------------------------------------------------- ROUGE-L


@lru_cache(maxsize=1)
def _tokenizer() -> Any:  # a jieba.Tokenizer (jieba has no type hints)
    import jieba

    jieba.setLogLevel(60)  # silence "Building prefix dict" on stderr
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def segment(text: str) -> str:
    """jieba (default dictionary, HMM on) segmentation joined by single spaces."""
    return " ".join(_tokenizer().cut(text))


_SENT_END = re.compile(r"([。！？?])([^”’])")
_DOTS6 = re.compile(r"(\.{6})([^”’])")
_ELLIPSIS2 = re.compile(r"(…{2})([^”’])")
_QUOTE_END = re.compile(r"([。！？?][”’])([^，。！？?])")


def rouge_tokens(spaced: str) -> list[str]:
    """Tokens of a space-segmented text as rouge_chinese's sentence split and flatten give them."""
    for pattern in (_SENT_END, _DOTS6, _ELLIPSIS2, _QUOTE_END):
        spaced = pattern.sub("\\1\n\\2", spaced)
    tokens: list[str] = []
    for piece in spaced.rstrip().split("\n"):
        if piece:
            tokens.extend(" ".join(piece.split()).split(" "))
    return tokens


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two token lists (bit-parallel, exact)."""
    if len(a) < len(b):
        a, b = b, a
    masks: dict[str, int] = {}
    for i, token in enumerate(b):
        masks[token] = masks.get(token, 0) | (1 << i)
    full = (1 << len(b)) - 1
    v = full
    for token in a:
        m = masks.get(token, 0)
        if m:
            u = v & m
            v = ((v + u) | (v - u)) & full
    return len(b) - v.bit_count()


def rouge_l_f(hypothesis: str, reference: str) -> float:
    """ROUGE-L F of two raw texts as LawBench computes it (jieba + rouge_chinese, module notes)."""
    hyp = segment(hypothesis)
    if not hyp.strip():
        hyp = "无内容"
    hyp_tokens, ref_tokens = rouge_tokens(hyp), rouge_tokens(segment(reference))
    if not hyp_tokens or not ref_tokens:
        return 0.0  # rouge_chinese raises on an empty reference; no overlap is possible anyway
    lcs = lcs_length(ref_tokens, hyp_tokens)
    recall, precision = lcs / len(ref_tokens), lcs / len(hyp_tokens)
    return 2.0 * (precision * recall / (precision + recall + 1e-8))
