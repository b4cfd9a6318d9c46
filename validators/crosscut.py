"""Checks that need the whole release: duplicates across splits and benchmark contamination.

Each is asserted twice: from the build's own report (``reports/leakage.json``,
``reports/contamination.json``: every row, written by ``lawset build``) and recomputed here:

- exact duplicates across splits on every validated row (:meth:`.metrics.Collector.cross_split_exact`);
- near duplicates across splits with ``lawset.builders.dedup.near_duplicate_clusters`` (MinHash
  LSH, the build's own configuration) on a deterministic sample of ``leakage.near_sample`` rows
  per split. A full recomputation costs what the build's dedup phase costs (signatures of every
  row: minutes for a 1M-row release), so validation spot-checks the report instead: a pair is
  found when both rows are in the sample;
- contamination with the build's evaluation index (``reports/eval_index.npz``,
  ``lawset.builders.decontam.EvalIndex``) on a sample of train and validation rows (every
  benchmark item counts) and of test rows (LawBench items only: held-out evaluation records are
  in test by design), the same rule as the build's ``decontaminate`` step.

The dedup and decontam modules are imported only when these checks run.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from .integrity import first_line
from .metrics import Collector, text_key

#: observed value of a check that could not run (a missing report): never passes
MISSING = -1


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def leakage_report(root: Path) -> tuple[int, str, list[str]]:
    """(cross-split duplicates the build reported, note, example ids); MISSING without report."""
    report = _read_json(root / "reports" / "leakage.json")
    if report is None:
        return MISSING, "reports/leakage.json missing or unreadable", []
    try:
        n = int(report["cross_split_exact"]) + int(report["cross_split_near"])
    except (KeyError, TypeError, ValueError):
        return MISSING, "reports/leakage.json has no cross_split_exact/cross_split_near", []
    examples = [f"{e.get('a')}~{e.get('b')}" for e in report.get("examples", [])[:5]]
    note = f"{report.get('rows_checked', '?')} rows checked by the build"
    return n, note, examples


def contamination_report(root: Path) -> tuple[int, str, list[str]]:
    """(0 when the build checked every row against the benchmarks, else MISSING), note, []."""
    report = _read_json(root / "reports" / "contamination.json")
    if report is None:
        return MISSING, "reports/contamination.json missing or unreadable", []
    if not report.get("rule"):
        return MISSING, report.get("note") or "the build ran no decontaminate step", []
    removed = report.get("removed", {}).get("total", 0)
    benchmarks = len(report.get("benchmarks", {}))
    return 0, f"{benchmarks} benchmarks checked, {removed} records removed by the build", []


def near_duplicates(collector: Collector) -> tuple[int, str, list[str]]:
    """Pairs of the near-duplicate sample in two splits whose texts are near duplicates.

    Clusters are transitive (A~B in train, B~C in validation puts A and C together even when A
    and C are not alike), so each cross-split pair of a cluster is confirmed with the true
    Jaccard of its shingle sets, as the build's leakage check does. Exact copies are left to
    ``leakage.exact_recomputed``.
    """
    from lawset.builders.dedup import (
        NearDedupConfig,
        near_duplicate_clusters,
        quoting_tasks,
        shingle_set,
        true_jaccard,
    )

    # The build's definition (see lawset.builders.dedup.check_leakage): conversations shorter
    # than 100 characters are compared exactly only, and two queries that both quote statute
    # text are distinct provisions, not copies.
    quoting = quoting_tasks()
    items = [(i, s, task, t) for i, s, task, t in collector.near_items() if len(t) >= 100]
    split_of = {i: s for i, s, _, _ in items}
    text_of = {i: t for i, _, _, t in items}
    quoted = {i for i, _, task, _ in items if task in quoting}
    cfg = NearDedupConfig()
    clusters = near_duplicate_clusters(lambda: ((i, t) for i, _, _, t in items), cfg)
    pairs = []
    for c in clusters:
        for k, a in enumerate(c):
            for b in c[k + 1 :]:
                if split_of[a] == split_of[b] or text_key(text_of[a]) == text_key(text_of[b]):
                    continue
                if a in quoted and b in quoted:
                    continue
                sa = shingle_set(text_of[a], cfg.ngram, cfg.max_chars)
                sb = shingle_set(text_of[b], cfg.ngram, cfg.max_chars)
                if true_jaccard(sa, sb) >= cfg.threshold:
                    pairs.append(f"{a}~{b}")
    note = f"{len(items)} sampled rows, threshold {cfg.threshold}"
    return len(pairs), note, pairs[:5]


EVAL_INDEX = Path("reports") / "eval_index.npz"


def contamination(root: Path, collector: Collector) -> tuple[int, str, list[str]]:
    """Sampled rows that hit an item of the build's evaluation index (``EVAL_INDEX``, which
    the caller checked exists)."""
    path = root / EVAL_INDEX
    try:
        from lawset.builders.decontam import EvalIndex
    except ImportError:
        return MISSING, "lawset.builders.decontam not available: not recomputed", []
    try:
        index = EvalIndex.load(path)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        why = first_line(exc)
        return MISSING, f"{EVAL_INDEX} does not read ({why}): rebuild the release", []
    items = collector.contamination_items()
    hits: list[str] = []
    for held in (False, True):
        part = [(i, t) for i, s, t in items if (s == "test") == held]
        if not part:
            continue
        skip = ("heldout/",) if held else ()
        found = index.hits_batch([t for _, t in part], skip)
        hits += [f"{i}:{h[0][0]}" for (i, _), h in zip(part, found, strict=True) if h]
    note = f"{len(items)} sampled rows against {len(index.item_ids)} benchmark items"
    return len(hits), note, hits[:5]
