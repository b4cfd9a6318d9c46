"""Custom Great Expectations expectations for Chinese instruction data.

Both are column map expectations (a metric provider answers yes/no per row, the expectation
counts the noes), so Data Docs show the failing values and ``unexpected_index_column_names``
gives the failing ids like any built-in map expectation.

- :class:`ExpectColumnValuesToHaveCjkRatioAtLeast`: the share of CJK ideographs among the
  non-space characters of a text (the ``cjk_ratio`` step's measure, ``builders/normalize.py``) is
  at least ``min_ratio``. Counted with two regex substitutions per text, which run in C: 1M
  answers take seconds, where a per-character Python loop takes minutes.
- :class:`ExpectColumnValuesToHaveNoUnmaskedPii`: no ID card or phone number (or the other kinds
  ``lawset.builders.pii`` masks) left in a text. The patterns are the masking step's own
  (``_PATTERNS``): what validation calls personal data is exactly what the build masks. A cheap
  digit-run pre-check skips texts that cannot hold a number of the kind at all (an ID card
  number has 15 or 18 digits in a row; every phone pattern starts with 3 digits in a row), so
  the full patterns run on a few texts only.

Importing this module registers both with Great Expectations (metric providers register
themselves when their class is created).
"""

from __future__ import annotations

import re
from typing import ClassVar

import pandas as pd
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)
from lawset.builders.pii import _PATTERNS

#: the CJK ranges of ``lawset.builders.normalize._CJK``
_NOT_CJK = re.compile(r"[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
_SPACE = re.compile(r"\s+")

PII_PATTERNS: dict[str, re.Pattern[str]] = dict(_PATTERNS)
#: a run of digits every match of the kind contains (None: no cheap pre-check)
_NEEDS: dict[str, re.Pattern[str] | None] = {
    "id_card": re.compile(r"\d{15}"),
    "phone": re.compile(r"\d{3}"),
    "bank_card": re.compile(r"\d{4}"),
    "email": re.compile("@"),
    "licence_plate": None,
}
DEFAULT_PII_KINDS = ("id_card", "phone")


def cjk_ratio(text: str) -> float:
    """Share of non-space characters that are CJK ideographs (0.0 for an empty text)."""
    if not isinstance(text, str):
        return 0.0
    chars = len(text) - sum(len(m) for m in _SPACE.findall(text))
    if chars <= 0:
        return 0.0
    return len(_NOT_CJK.sub("", text)) / chars


def pii_kinds_in(text: str, kinds: tuple[str, ...] = DEFAULT_PII_KINDS) -> list[str]:
    """The kinds of unmasked personal data found in ``text``."""
    if not isinstance(text, str):
        return []
    found = []
    for kind in kinds:
        need = _NEEDS.get(kind)
        if need is not None and need.search(text) is None:
            continue
        if PII_PATTERNS[kind].search(text):
            found.append(kind)
    return found


class ColumnValuesCjkRatioAtLeast(ColumnMapMetricProvider):
    condition_metric_name = "column_values.lawset_cjk_ratio_at_least"
    condition_value_keys = ("min_ratio",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, min_ratio: float, **kwargs: object) -> pd.Series:
        return column.map(lambda s: cjk_ratio(s) >= min_ratio).astype(bool)


class ExpectColumnValuesToHaveCjkRatioAtLeast(ColumnMapExpectation):
    """Expect each text to be at least ``min_ratio`` CJK ideographs (spaces not counted)."""

    min_ratio: float
    map_metric = "column_values.lawset_cjk_ratio_at_least"
    success_keys = ("min_ratio", "mostly")
    args_keys = ("column", "min_ratio")
    library_metadata: ClassVar[dict] = {"tags": ["lawset", "text"], "contributors": ["lawset"]}


class ColumnValuesNoUnmaskedPii(ColumnMapMetricProvider):
    condition_metric_name = "column_values.lawset_no_unmasked_pii"
    condition_value_keys = ("kinds",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, kinds: list[str], **kwargs: object) -> pd.Series:
        kinds_t = tuple(kinds)
        return column.map(lambda s: not pii_kinds_in(s, kinds_t)).astype(bool)


class ExpectColumnValuesToHaveNoUnmaskedPii(ColumnMapExpectation):
    """Expect no text to hold an unmasked ID card or phone number (``lawset.builders.pii``)."""

    kinds: list[str] = list(DEFAULT_PII_KINDS)
    map_metric = "column_values.lawset_no_unmasked_pii"
    success_keys = ("kinds", "mostly")
    args_keys = ("column", "kinds")
    library_metadata: ClassVar[dict] = {"tags": ["lawset", "pii"], "contributors": ["lawset"]}
