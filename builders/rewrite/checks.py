"""Fidelity checks on a rewritten answer, against the gold answer and the statute index.

Every rewrite passes all of them or is not used. Each check returns ``None`` (pass) or a reason
in Chinese that is sent back to the model on the one retry; the check's name is what the stats
count (``check_pass:<name>`` / ``check_fail:<name>``) and what a fallback or reject records.

| check | passes when |
| --- | --- |
| ``length`` | ``min_chars <= len(answer) <= max_chars`` |
| ``cjk_ratio`` | the share of Han characters is at least ``min_cjk_ratio`` |
| ``format`` | the last line carries the gold's label (``正确答案：``, ``罪名：``, ``刑期：``, ``法条：``...) and reasoning comes before it |
| ``gold`` | the last line's value equals the gold's (as a set for ``、``-lists); a choice answer names no other option letter anywhere (LawBench reads a second letter as a second choice); a prison term parses, by LawBench's rule, to the gold's months; every amount in 元 appears in the question or the gold |
| ``citations_exist`` | every article the answer cites exists in the current version of a law in the statute index |
| ``citations_grounded`` | every cited article was given in the prompt, or is cited by the gold, or is referred to (第N条) by the text of a given article of the same law |
| ``quotes`` | every quotation in “”/「」 of 6 or more characters is a verbatim part of a given or cited article, or of the question |
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..citations import find_citations, render
from ..normalize import cjk_ratio
from ..numerals import cn_to_int

CHECKS = (
    "json",
    "length",
    "cjk_ratio",
    "format",
    "gold",
    "citations_exist",
    "citations_grounded",
    "quotes",
)

_LABEL = re.compile(r"^(?P<label>[^：:\n]{1,12})[：:]\s*(?P<value>.*)$")
_OPTION_TOKEN = re.compile(r"(?<![A-Za-z0-9])([A-H])(?![A-Za-z0-9])")
_CN_NUM = "零〇一二两三四五六七八九十百千万"
_MONTHS = re.compile(rf"([0-9]+|[{_CN_NUM}]+)个?月")
_YEARS = re.compile(rf"([0-9]+|[{_CN_NUM}]+)年")
_AMOUNT = re.compile(rf"([0-9][0-9,，]*(?:\.[0-9]+)?|[{_CN_NUM}]+)(万)?元")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_QUOTE = re.compile(r"“([^”]{6,})”|「([^」]{6,})」")
_ARTICLE_REF = re.compile(
    r"第([零〇一二两三四五六七八九十百千0-9]+)条(?:之([一二三四五六七八九十]+))?"
)
_NOT_TEXT = re.compile(r"[\s，,。；;：:、“”「」‘’\"'（）()《》]")


@dataclass
class Grounding:
    """What the prompt gave the model, and what the answer is checked against."""

    #: (law, article, sub) -> the article's text (latest version), as given in the prompt
    articles: dict[tuple[str, int, int], str] = field(default_factory=dict)
    #: further (law, article, sub) a rewrite may cite: the gold's own citations, and articles
    #: the given articles refer to (本法第N条)
    related: set[tuple[str, int, int]] = field(default_factory=set)


@dataclass(frozen=True)
class Bounds:
    min_chars: int
    max_chars: int
    min_cjk_ratio: float


def final_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _label_value(line: str) -> tuple[str, str] | None:
    m = _LABEL.match(line)
    return None if m is None else (m.group("label").strip(), m.group("value").strip())


def _items(value: str) -> frozenset[str]:
    return frozenset(
        v.strip().rstrip("。.") for v in re.split(r"[、，,；;]", value) if v.strip().rstrip("。.")
    )


def _to_number(token: str) -> float | None:
    token = token.replace(",", "").replace("，", "")
    if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", token):
        return float(token)
    try:
        return float(cn_to_int(token))
    except ValueError:
        return None


def lawbench_months(text: str) -> float | None:
    """LawBench 3-4/3-5's reading of a prediction: the first ``N个月``/``N月``, else the first
    ``N年`` × 12 (numerals converted); None when neither is there."""
    for rx, scale in ((_MONTHS, 1), (_YEARS, 12)):
        for m in rx.finditer(text):
            n = _to_number(m.group(1))
            if n is not None:
                return n * scale
    return None


def _amounts(text: str) -> list[float]:
    out = []
    for m in _AMOUNT.finditer(text):
        n = _to_number(m.group(1))
        if n is not None:
            out.append(n * (10_000 if m.group(2) else 1))
    return out


def _numbers(text: str) -> set[float]:
    found = {float(x) for x in _NUMBER.findall(text.replace(",", "").replace("，", ""))}
    return found | set(_amounts(text))


def _squash(text: str) -> str:
    return _NOT_TEXT.sub("", text)


def check_length(answer: str, bounds: Bounds) -> str | None:
    n = len(answer)
    if n < bounds.min_chars:
        return f"回答只有{n}字，少于{bounds.min_chars}字；请写出完整的推理过程"
    if n > bounds.max_chars:
        return f"回答有{n}字，超过{bounds.max_chars}字；请精简"
    return None


def check_cjk(answer: str, bounds: Bounds) -> str | None:
    ratio = cjk_ratio(answer)
    if ratio < bounds.min_cjk_ratio:
        return f"中文字符比例为{ratio:.2f}，低于{bounds.min_cjk_ratio}；请用简体中文回答"
    return None


def check_format(answer: str, gold: str) -> str | None:
    want = final_line(gold)
    gold_lv = _label_value(want)
    last = final_line(answer)
    if gold_lv is not None:
        lv = _label_value(last)
        if lv is None or lv[0] != gold_lv[0]:
            return f"最后一行必须是“{gold_lv[0]}：…”格式，原样写出：{want}"
    elif last != want:
        return f"最后一行必须原样写出：{want}"
    body = answer.strip()[: -len(last)].strip() if last else ""
    if not body:
        return "最后一行之前必须写出推理过程"
    return None


def check_gold(answer: str, gold: str, question: str, task: str) -> str | None:
    want, last = final_line(gold), final_line(answer)
    gold_lv, lv = _label_value(want), _label_value(last)
    if gold_lv is not None and lv is not None:
        label, gold_value = gold_lv
        value = lv[1]
        if label == "正确答案":
            letters = set(re.sub(r"[^A-H]", "", gold_value))
            if set(re.sub(r"[^A-H]", "", value)) != letters:
                return f"答案应为{''.join(sorted(letters))}，与标准答案不一致"
            others = sorted(set(_OPTION_TOKEN.findall(answer)) - letters)
            if others:
                return (
                    f"回答中出现了选项字母{'、'.join(others)}，评分时会被当作另选；"
                    "讨论其他选项时请引用选项内容而不是字母"
                )
        elif label == "刑期":
            if value.rstrip("。") != gold_value.rstrip("。"):
                return f"刑期应为{gold_value}，与标准答案不一致"
            gold_months = lawbench_months(gold_value)
            if gold_months is not None and lawbench_months(answer) != gold_months:
                return f"回答中先出现了其他刑期；除最后一行“{want}”外不要写出以月或年计的刑期"
        elif _items(value) != _items(gold_value):
            return f"“{label}”应为{gold_value}，与标准答案不一致"
    elif last != want:
        return f"最后一行应为：{want}"
    allowed = _numbers(question) | _numbers(gold)
    wrong = [a for a in _amounts(answer) if a not in allowed]
    if wrong:
        return f"回答中的金额{wrong[0]:g}元在问题和标准答案中都没有出现"
    return None


def cited_keys(
    answer: str, catalog: Any
) -> tuple[list[tuple[tuple[str, int, int], dict[str, Any]]], list[str]]:
    """The resolved citations of an answer: ((law, article, sub), resolution) in order, and the
    references that do not resolve to a current article (as written)."""
    cited, _ = find_citations(answer)
    ok: list[tuple[tuple[str, int, int], dict[str, Any]]] = []
    bad: list[str] = []
    for c in cited:
        r = catalog.resolve(c) if catalog is not None else {"status": "unknown_law"}
        if r.get("status") != "current":
            bad.append(c.cited_as)
            continue
        ok.append(((r["law"], r["article"], r["sub"]), r))
    return ok, bad


def check_citations_exist(bad: list[str]) -> str | None:
    if bad:
        return f"引用的{bad[0]}不是现行有效法律中存在的条文；只能引用给出的法条"
    return None


def check_citations_grounded(
    cited: list[tuple[tuple[str, int, int], dict[str, Any]]], grounding: Grounding
) -> str | None:
    for key, _ in cited:
        if key not in grounding.articles and key not in grounding.related:
            return f"引用了未提供的{render(*key)}；只能引用“相关法条”中给出的条文"
    return None


def check_quotes(
    answer: str,
    question: str,
    cited: list[tuple[tuple[str, int, int], dict[str, Any]]],
    grounding: Grounding,
    text_of: Callable[[tuple[str, int, int]], str | None],
) -> str | None:
    quotes = [a or b for a, b in _QUOTE.findall(answer)]
    if not quotes:
        return None
    sources = [_squash(t) for t in grounding.articles.values()]
    for key, _ in cited:
        if key not in grounding.articles:
            text = text_of(key)
            if text:
                sources.append(_squash(text))
    sources.append(_squash(question))
    for q in quotes:
        sq = _squash(q)
        if sq and not any(sq in s for s in sources):
            return f"引号中的“{q[:30]}”与给出的法条原文不一致；引用法条必须逐字照录"
    return None


def related_articles(law: str, text: str) -> set[tuple[str, int, int]]:
    """Articles of ``law`` that ``text`` (an article of that law) refers to by number."""
    out: set[tuple[str, int, int]] = set()
    for num, sub in _ARTICLE_REF.findall(text):
        try:
            out.add((law, cn_to_int(num), cn_to_int(sub) if sub else 0))
        except ValueError:
            continue
    return out


def run_checks(
    answer: str,
    *,
    gold: str,
    question: str,
    task: str,
    grounding: Grounding,
    catalog: Any,
    bounds: Bounds,
    text_of: Callable[[tuple[str, int, int]], str | None],
) -> list[tuple[str, str | None]]:
    """Every check in order: (name, None or the reason it failed). All are run, so the stats
    count each check on every rewrite; the first failure is the one reported."""
    cited, bad = cited_keys(answer, catalog)
    return [
        ("length", check_length(answer, bounds)),
        ("cjk_ratio", check_cjk(answer, bounds)),
        ("format", check_format(answer, gold)),
        ("gold", check_gold(answer, gold, question, task)),
        ("citations_exist", check_citations_exist(bad)),
        ("citations_grounded", check_citations_grounded(cited, grounding)),
        ("quotes", check_quotes(answer, question, cited, grounding, text_of)),
    ]
