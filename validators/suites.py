"""The expectation suites of a release, as plain lists of named checks.

Every expectation carries ``meta.check``, a stable name (``schema.id_unique``,
``format[prison_term]``, ``diversity.task_entropy[stage1.train]``) that ``validation.json``, the
printed table and the tests use. Suites:

- ``<config>.<split>`` for each query config (stage1, stage2) and split: row checks, run once per
  parquet file (schema, text quality, answer format, citations, provenance);
- ``statutes.<split>``: the statute index (schema, text, provenance);
Per-task checks run on per-task columns (``answer_tail[prison_term]`` holds the answer ends of
that task's rows and nulls elsewhere, which map expectations skip) rather than on row conditions:
a row condition costs a pandas ``query`` per metric, which made row checks several times slower.

- ``release``: one row of release-level metrics computed in lawset (diversity, the mix, duplicates
  across splits, contamination), asserted with column aggregate expectations so Data Docs show
  each observed value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import great_expectations.expectations as gxe
from lawset.builders.schema import LEVELS
from lawset.builders.steps import task_generators

from .config import RecipeFacts, Thresholds, answer_bounds
from .expectations import (
    ExpectColumnValuesToHaveCjkRatioAtLeast,
    ExpectColumnValuesToHaveNoUnmaskedPii,
)
from .formats import answer_format, structured_tasks

ROLES_RE = r"^(?:system|user|assistant)(?:\|(?:system|user|assistant))*$"
ALTERNATING_RE = r"^(?:system\|)?user\|assistant(?:\|user\|assistant)*$"
ID_RE = r"^[0-9a-f]{32}$"
REQUIRED = (
    "id",
    "messages",
    "task",
    "level",
    "domain",
    "source",
    "source_id",
    "license",
    "citations",
    "group",
    "quality",
)
STATUTE_REQUIRED = ("id", "law", "article", "text", "source", "license")


def pair(a: object, b: object) -> str:
    """The value of a two-column derived column (``source_license``, ``level_domain``).

    Pairs are checked as one string column with ``ExpectColumnValuesToBeInSet``: Great
    Expectations' pandas ``ExpectColumnPairValuesToBeInSet`` walks the frame with ``iterrows``
    (about 100 s per million rows).
    """
    return f"{a} | {b}"


@dataclass
class Check:
    name: str
    expectation: Any


def _meta(name: str) -> dict[str, str]:
    return {"check": name}


def query_checks(
    config: str, facts: RecipeFacts, th: Thresholds, stage2_sources: list[str], has_statutes: bool
) -> list[Check]:
    """Row checks of a query config (the same for each of its splits)."""
    checks: list[Check] = []

    def add(name: str, cls: type, description: str, **kwargs: Any) -> None:
        checks.append(Check(name, cls(meta=_meta(name), description=description, **kwargs)))

    # -- schema ---------------------------------------------------------------------------------
    add(
        "schema.types",
        gxe.ExpectColumnValuesToBeInSet,
        "every file has the query schema's columns and Arrow types (value: what differs)",
        column="schema_mismatch",
        value_set=[""],
    )
    for col in REQUIRED:
        add(
            f"schema.not_null[{col}]",
            gxe.ExpectColumnValuesToNotBeNull,
            f"{col} is never null",
            column=col,
        )
    add(
        "schema.id_format",
        gxe.ExpectColumnValuesToMatchRegex,
        "id is the 32-hex-digit content hash",
        column="id",
        regex=ID_RE,
    )
    add(
        "schema.id_unique",
        gxe.ExpectColumnValuesToBeBetween,
        "each id occurs once in the config (all files and splits)",
        column="id_count",
        min_value=1,
        max_value=1,
    )
    add(
        "schema.roles",
        gxe.ExpectColumnValuesToMatchRegex,
        "message roles are system, user or assistant",
        column="role_seq",
        regex=ROLES_RE,
    )
    add(
        "schema.messages_alternate",
        gxe.ExpectColumnValuesToMatchRegex,
        "messages: an optional system turn, then user/assistant pairs, ending with the answer",
        column="role_seq",
        regex=ALTERNATING_RE,
    )
    add(
        "schema.messages_non_empty",
        gxe.ExpectColumnValuesToBeBetween,
        "no message is empty or whitespace",
        column="min_content_chars",
        min_value=1,
    )
    add(
        "schema.task",
        gxe.ExpectColumnValuesToBeInSet,
        "task is a task step of the recipe",
        column="task",
        value_set=sorted(facts.tasks),
    )
    generators = task_generators()
    task_levels = sorted(pair(t, lv) for t in facts.tasks for lv in generators[t].levels())
    add(
        "schema.level",
        gxe.ExpectColumnValuesToBeInSet,
        "level is a level the task's step declares (LexEval items: the level of their LexEval "
        "task)",
        column="task_level",
        value_set=task_levels,
    )
    domain_pairs = [pair(lv, "legal") for lv in LEVELS if lv != "general"]
    if config != "stage2":
        domain_pairs.append(pair("general", "general"))
    add(
        "schema.domain",
        gxe.ExpectColumnValuesToBeInSet,
        "domain is general exactly for general-level queries (stage 2: legal only)",
        column="level_domain",
        value_set=sorted(domain_pairs),
    )

    # -- text quality ---------------------------------------------------------------------------
    add(
        "text.user_length",
        gxe.ExpectColumnValuesToBeBetween,
        "user turns within the recipe's text_length bounds (characters)",
        column="user_chars",
        min_value=facts.min_user_chars,
        max_value=facts.max_user_chars,
    )
    add(
        "text.answer_length",
        gxe.ExpectColumnValuesToBeBetween,
        "answers within the recipe's text_length bounds (characters)",
        column="answer_chars",
        min_value=facts.min_answer_chars,
        max_value=facts.max_answer_chars,
    )
    for task, (lo, hi) in sorted(answer_bounds(th).items()):
        if task in facts.tasks:
            add(
                f"text.answer_length[{task}]",
                gxe.ExpectColumnValuesToBeBetween,
                f"{task} answers are {lo}-{hi} characters",
                column=f"answer_chars[{task}]",
                min_value=lo,
                max_value=hi,
            )
    if facts.min_cjk_ratio is not None:
        add(
            "text.cjk_ratio",
            ExpectColumnValuesToHaveCjkRatioAtLeast,
            f"answers of {', '.join(th.text.cjk_domains)} queries are at least "
            f"{facts.min_cjk_ratio:.0%} Chinese characters (the recipe's cjk_ratio)",
            column="answer_checked_cjk",
            min_ratio=facts.min_cjk_ratio,
        )
    add(
        "text.no_replacement_char",
        gxe.ExpectColumnValuesToNotMatchRegex,
        "no U+FFFD replacement character (a decoding error upstream)",
        column="text",
        regex="\ufffd",
    )
    add(
        "text.no_html",
        gxe.ExpectColumnValuesToNotMatchRegex,
        f"no HTML tags or character entities left by scraping ({', '.join(th.text.html_domains)}"
        " queries)",
        column="text_checked_html",
        regex=th.text.html_pattern,
    )
    add(
        "text.no_unmasked_pii",
        ExpectColumnValuesToHaveNoUnmaskedPii,
        f"no unmasked {', '.join(th.text.pii_kinds)} (lawset.builders.pii patterns)",
        column="text",
        kinds=list(th.text.pii_kinds),
    )

    # -- answer format --------------------------------------------------------------------------
    for task in sorted(facts.tasks):
        pattern = answer_format(task, config)
        if pattern is not None:
            add(
                f"format[{task}]",
                gxe.ExpectColumnValuesToMatchRegex,
                f"{task} answers end in the task's machine-parseable line",
                column=f"answer_tail[{task}]",
                regex=pattern,
            )
    if config == "stage2":
        add(
            "format.structured_tasks",
            gxe.ExpectColumnValuesToBeInSet,
            "stage 2 holds only tasks with a structured answer format",
            column="task",
            value_set=sorted(structured_tasks()),
        )

    # -- citations ------------------------------------------------------------------------------
    if config == "stage2":
        add(
            "citations.verified",
            gxe.ExpectColumnValuesToBeBetween,
            "every cited article is verified and current (or mapped to the provision in force)",
            column="unverified_citations",
            max_value=0,
        )
        if has_statutes:
            add(
                "citations.in_statute_index",
                gxe.ExpectColumnValuesToBeBetween,
                "every cited article is in the release's statute index",
                column="citations_not_in_index",
                max_value=0,
            )
    if config == "stage2" or facts.repealed_policy != "flag":
        add(
            "citations.no_repealed_as_current",
            gxe.ExpectColumnValuesToBeBetween,
            "no answer cites a repealed or superseded law as current (statute quotations excepted)",
            column="repealed_cited_as_current",
            max_value=0,
        )

    # -- provenance -----------------------------------------------------------------------------
    add(
        "provenance.source",
        gxe.ExpectColumnValuesToBeInSet,
        "source is a source of the recipe",
        column="source",
        value_set=sorted(facts.licenses),
    )
    add(
        "provenance.license",
        gxe.ExpectColumnValuesToBeInSet,
        "license is the recipe's license of the row's source (value: source | license)",
        column="source_license",
        value_set=sorted(pair(*kv) for kv in facts.licenses.items()),
    )
    if config == "stage2" and stage2_sources:
        add(
            "provenance.stage2_source",
            gxe.ExpectColumnValuesToBeInSet,
            "stage 2 rows come from the recipe's stage2.sources",
            column="source",
            value_set=sorted(stage2_sources),
        )
    return checks


def statute_checks(facts: RecipeFacts, th: Thresholds) -> list[Check]:
    checks: list[Check] = []

    def add(name: str, cls: type, description: str, **kwargs: Any) -> None:
        checks.append(Check(name, cls(meta=_meta(name), description=description, **kwargs)))

    add(
        "schema.types",
        gxe.ExpectColumnValuesToBeInSet,
        "every file has the statute schema's columns and Arrow types",
        column="schema_mismatch",
        value_set=[""],
    )
    for col in STATUTE_REQUIRED:
        add(
            f"schema.not_null[{col}]",
            gxe.ExpectColumnValuesToNotBeNull,
            f"{col} is never null",
            column=col,
        )
    add(
        "schema.id_unique",
        gxe.ExpectColumnValuesToBeBetween,
        "each statute id occurs once",
        column="id_count",
        min_value=1,
        max_value=1,
    )
    add(
        "schema.article_number",
        gxe.ExpectColumnValuesToBeBetween,
        "article numbers are positive",
        column="article",
        min_value=1,
    )
    add(
        "text.article_non_empty",
        gxe.ExpectColumnValuesToBeBetween,
        "no empty article text",
        column="text_chars",
        min_value=1,
    )
    add(
        "text.no_replacement_char",
        gxe.ExpectColumnValuesToNotMatchRegex,
        "no U+FFFD replacement character",
        column="text",
        regex="\ufffd",
    )
    add(
        "text.no_html",
        gxe.ExpectColumnValuesToNotMatchRegex,
        "no HTML tags or character entities",
        column="text",
        regex=th.text.html_pattern,
    )
    add(
        "provenance.source",
        gxe.ExpectColumnValuesToBeInSet,
        "source is a source of the recipe",
        column="source",
        value_set=sorted(facts.licenses),
    )
    add(
        "provenance.license",
        gxe.ExpectColumnValuesToBeInSet,
        "license is the recipe's license of the row's source (value: source | license)",
        column="source_license",
        value_set=sorted(pair(*kv) for kv in facts.licenses.items()),
    )
    return checks


@dataclass
class Metric:
    """One release-level value and its bounds (None: unbounded on that side)."""

    name: str
    value: float
    min_value: float | None
    max_value: float | None
    description: str
    failing: list[str]


def release_checks(metrics: list[Metric]) -> list[Check]:
    """One expectation per metric on the one-row metrics frame (column = metric name)."""
    return [
        Check(
            m.name,
            gxe.ExpectColumnMaxToBeBetween(
                column=m.name,
                min_value=m.min_value,
                max_value=m.max_value,
                meta=_meta(m.name),
                description=m.description,
            ),
        )
        for m in metrics
    ]
