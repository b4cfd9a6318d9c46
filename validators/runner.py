"""``lawset validate``: run every suite of a release through Great Expectations checkpoints.

Flow: resolve the paths (relative to the working folder, ``~``), open the release (a usage error
when ``DIR`` is not one), read the recipe and thresholds, then check every file ``manifest.json``
lists against its sha256 and read it through (:mod:`.integrity`): a file that changed after the
build, is missing or does not read fails the validation here, before any expectation. Then count
ids (for uniqueness across files) once and validate each parquet file as one batch: build its
frame (:mod:`.frames`) and run the checkpoint of its config and split (``stage1.train``) on it,
while a :class:`~.metrics.Collector` keeps what the release-level checks need. Files run in this
process, or in ``workers`` processes that send their suite results back as JSON. Then the
``release`` checkpoint runs once on a one-row frame of release metrics; its
``UpdateDataDocsAction`` and a final full build write the Data Docs of every run (all results are
in this process's context store). The results of all runs are merged per (suite, check) into
``validation.json``: a check passes when it passed on every file, its counts are summed, and up
to five failing ids are kept.

Everything is written into ``DIR/reports/.validation.tmp-<pid>/`` and swapped in for
``DIR/reports/validation/`` when the run completes, passed or failed: an error, an interrupt or a
usage error leaves the results of an earlier run byte for byte (a killed run's folder is removed
by the next run).

The Great Expectations context is ephemeral (nothing written but the Data Docs site), its own
progress bars are off (lawset prints a status line per phase and a bar over files), and
``great_expectations`` is imported only here, so ``lawset build`` never pays for its import.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lawset.builders import console
from lawset.builders.manifest import files_digest

from .config import (
    RecipeFacts,
    Thresholds,
    ValidateError,
    answer_bounds,
    load_thresholds,
    recipe_facts,
)
from .frames import QUERY_CONFIGS, Release, open_release, read_manifest
from .integrity import FileCheck, check_files, listed_files
from .metrics import Collector

DOCS_DIR = Path("reports") / "validation"
SUMMARY_FILE = "validation.json"
#: a run writes into reports/.validation.tmp-<pid> and swaps it in when it completes
TMP_PREFIX = ".validation.tmp-"
OLD_PREFIX = ".validation.old-"

MAX_IDS = 5
MIX_COLUMNS = ("task", "level", "domain")
ROW_RESULT_FORMAT = {
    "result_format": "SUMMARY",
    "unexpected_index_column_names": ["id"],
    "partial_unexpected_count": MAX_IDS,
}


@dataclass
class CheckResult:
    suite: str
    check: str
    expectation: str
    description: str
    passed: bool = True
    rows: int = 0
    unexpected: int = 0
    observed: Any = None
    failing: list[str] = field(default_factory=list)
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = {
            "suite": self.suite,
            "check": self.check,
            "expectation": self.expectation,
            "description": self.description,
            "passed": self.passed,
            "observed": self.observed_text(),
            "failing_ids": self.failing[:MAX_IDS],
        }
        if self.error:
            out["error"] = self.error
        return out

    def observed_text(self) -> Any:
        if self.observed is not None:
            return self.observed
        return f"{self.unexpected:,} of {self.rows:,} rows unexpected"


@dataclass
class Outcome:
    passed: bool
    results: list[CheckResult]
    docs: Path
    summary: Path
    seconds: float
    rows: dict[str, dict[str, int]]
    #: files that differ from manifest.json, are missing or do not read (then no expectation ran)
    problems: list[str] = field(default_factory=list)
    files: FileCheck | None = None


class _Gx:
    """An ephemeral Great Expectations context; with ``docs``, a Data Docs site there."""

    def __init__(self, docs: Path | None) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        # Great Expectations fingerprints every in-memory batch below HASH_THRESHOLD bytes of
        # *shallow* memory (object columns count 8 bytes a row) by hashing all its values: for a
        # 200k-row file of conversations that is 3 s of the file's 7, for a batch marker nobody
        # reads. 0 turns the fingerprint off.
        pandas_execution_engine.HASH_THRESHOLD = 0
        self.gx = gx
        self.ctx = gx.get_context(mode="ephemeral")
        self.ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
        for site in list(self.ctx.list_data_docs_sites()):
            self.ctx.delete_data_docs_site(site)
        self.docs = docs
        if docs is not None:
            self.ctx.add_data_docs_site(
                "lawset",
                {
                    "class_name": "SiteBuilder",
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(docs),
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
        self.source = self.ctx.data_sources.add_pandas("lawset")
        self.checkpoints: dict[str, Any] = {}

    def checkpoint(self, suite_name: str, make: Any, index_ids: bool, docs: bool = False) -> Any:
        """The checkpoint running ``suite_name`` (its checks made by ``make()`` on first use:
        an expectation belongs to one suite) on a dataframe given at run time; with ``docs``,
        it updates the Data Docs site when it runs."""
        if suite_name in self.checkpoints:
            return self.checkpoints[suite_name]
        gx = self.gx
        # all expectations at once: add_expectation re-serializes the whole suite every time
        suite = self.ctx.suites.add(
            gx.ExpectationSuite(name=suite_name, expectations=[c.expectation for c in make()])
        )
        batch = self.source.add_dataframe_asset(suite_name).add_batch_definition_whole_dataframe(
            "file"
        )
        vd = self.ctx.validation_definitions.add(
            gx.ValidationDefinition(name=suite_name, data=batch, suite=suite)
        )
        actions = []
        if docs and self.docs is not None:
            actions.append(gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=["lawset"]))
        cp = self.ctx.checkpoints.add(
            gx.Checkpoint(
                name=suite_name,
                validation_definitions=[vd],
                actions=actions,
                result_format=ROW_RESULT_FORMAT if index_ids else {"result_format": "SUMMARY"},
            )
        )
        self.checkpoints[suite_name] = cp
        return cp

    def run(self, cp: Any, frame: Any, run_name: str) -> list[tuple[tuple, Any]]:
        """Run a checkpoint on ``frame``: [(validation result id as a tuple, suite result)]."""
        from great_expectations.core.run_identifier import RunIdentifier

        res = cp.run(
            batch_parameters={"dataframe": frame},
            run_id=RunIdentifier(run_name=run_name, run_time=datetime.now(UTC)),
        )
        return [(vid.to_tuple(), vr) for vid, vr in res.run_results.items()]

    def store(self, vid: tuple, result: dict[str, Any]) -> None:
        """Keep a suite result made in a worker process, for the Data Docs build."""
        from great_expectations.core.expectation_validation_result import (
            ExpectationSuiteValidationResultSchema,
        )
        from great_expectations.data_context.types.resource_identifiers import (
            ValidationResultIdentifier,
        )

        self.ctx.validation_results_store.set(
            ValidationResultIdentifier.from_tuple(vid),
            ExpectationSuiteValidationResultSchema().load(result),
        )

    def build_docs(self) -> None:
        self.ctx.build_data_docs(site_names=["lawset"])


def _plain(suite: str, vr: Any) -> list[dict[str, Any]]:
    """The per-expectation facts the summary needs, as plain (picklable) data."""
    out = []
    for r in vr.results:
        cfg = r.expectation_config
        res = r.result or {}
        exc = r.exception_info or {}
        ids = []
        for item in res.get("partial_unexpected_index_list") or []:
            rid = item.get("id") if isinstance(item, dict) else item
            if str(rid) not in ids:
                ids.append(str(rid))
        out.append(
            {
                "suite": suite,
                "check": (cfg.meta or {}).get("check", cfg.type),
                "type": cfg.type,
                "description": cfg.description or "",
                "success": bool(r.success),
                "observed": res.get("observed_value"),
                "has_observed": "observed_value" in res,
                "rows": int(res.get("element_count") or 0),
                "unexpected": int(res.get("unexpected_count") or 0),
                "ids": ids[:MAX_IDS],
                "error": str(exc.get("exception_message", ""))[:300]
                if exc.get("raised_exception")
                else "",
            }
        )
    return out


class _Merger:
    """Merges the per-file results of each (suite, check)."""

    def __init__(self) -> None:
        self.results: dict[tuple[str, str], CheckResult] = {}

    def add(self, plain: list[dict[str, Any]]) -> None:
        for r in plain:
            key = (r["suite"], r["check"])
            out = self.results.get(key)
            if out is None:
                out = CheckResult(r["suite"], r["check"], r["type"], r["description"])
                self.results[key] = out
            if r["error"]:
                out.error = r["error"]
            out.passed = out.passed and r["success"]
            if r["has_observed"]:
                out.observed = r["observed"]
            out.rows += r["rows"]
            out.unexpected += r["unexpected"]
            for rid in r["ids"]:
                if len(out.failing) < MAX_IDS and rid not in out.failing:
                    out.failing.append(rid)


@dataclass
class _Setup:
    """What a worker needs to validate files of the release (picklable)."""

    root: Path
    recipe_path: Path | None
    thresholds_path: Path | None
    sample: int | None
    duplicated: dict[str, Counter]  # config -> ids seen more than once


@dataclass
class _FileOutcome:
    config: str
    split: str
    name: str
    rows: int
    plain: list[dict[str, Any]]
    results: list[tuple[tuple, Any]]  # (validation result id, suite result or its JSON)
    collector: Collector | None


class _Validator:
    """Validates single files; one per process (the main one, or each worker)."""

    def __init__(self, setup: _Setup, gx: _Gx | None = None) -> None:
        from lawset.builders.recipe import load_recipe

        from . import expectations as _custom  # noqa: F401  (registers the custom expectations)
        from .formats import answer_format
        from .frames import FrameSpec, statute_keys

        self.setup = setup
        self.release = open_release(setup.root)
        self.recipe = load_recipe(setup.recipe_path)
        self.th = load_thresholds(setup.thresholds_path)
        self.facts = recipe_facts(self.recipe)
        self.gx = gx if gx is not None else _Gx(None)
        # A --limit or --only build writes the statute files it read, while its citations were
        # verified against the whole statute index: check citations against the written index
        # only for a full build.
        options = self.release.manifest.get("options") or {}
        full = not options.get("limit") and not options.get("only")
        self.index = statute_keys(self.release) if full else None
        self.specs = {
            config: FrameSpec(
                tasks=frozenset(self.facts.tasks),
                sources=frozenset(self.facts.licenses),
                per_task={
                    "answer_tail": [t for t in self.facts.tasks if answer_format(t, config)],
                    "answer_chars": [t for t in answer_bounds(self.th) if t in self.facts.tasks],
                },
                cjk_domains=tuple(self.th.text.cjk_domains),
                html_domains=tuple(self.th.text.html_domains),
            )
            for config in QUERY_CONFIGS
        }

    def query_checks(self, config: str) -> list[Any]:
        from .suites import query_checks

        return query_checks(
            config,
            self.facts,
            self.th,
            self.recipe.stage2.sources,
            has_statutes=self.index is not None,
        )

    def statute_checks(self) -> list[Any]:
        from .suites import statute_checks

        return statute_checks(self.facts, self.th)

    def file(self, k: int, serialize: bool) -> _FileOutcome:
        from .frames import query_frame, sample_rate, statute_frame

        f = self.release.files[k]
        suite = f"{f.config}.{f.split}"
        dup = self.setup.duplicated.get(f.config, Counter())
        collector = None
        if f.config in QUERY_CONFIGS:
            cp = self.gx.checkpoint(suite, lambda: self.query_checks(f.config), index_ids=True)
            rate = sample_rate(self.release.rows(f.config, f.split), self.setup.sample)
            index = self.index if f.config == "stage2" else None
            qr = query_frame(f, dup, index, rate, self.specs[f.config])
            frame = qr.frame
            collector = self.collector(f.config)
            collector.add(
                f.split,
                {k: frame[k].tolist() for k in ("id", "task", "level", "domain")},
                qr.users,
                qr.texts,
            )
            del qr
        else:
            cp = self.gx.checkpoint(suite, self.statute_checks, index_ids=True)
            frame = statute_frame(f, dup, frozenset(self.facts.licenses))
        results = self.gx.run(cp, frame, f"{f.config}:{f.path.stem}") if len(frame) else []
        plain = [p for _, vr in results for p in _plain(suite, vr)]
        if serialize:
            results = [(vid, vr.to_json_dict()) for vid, vr in results]
        return _FileOutcome(f.config, f.split, f.path.name, len(frame), plain, results, collector)

    def collector(self, config: str) -> Collector:
        th = self.th
        return Collector(
            config,
            distinct_sample=th.diversity.distinct_sample,
            near_sample=th.leakage.near_sample,
            contamination_sample=th.contamination.sample if config == "stage1" else 0,
        )


_WORKER: dict[str, _Validator] = {}


def _init_worker(setup: _Setup) -> None:
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    _WORKER["v"] = _Validator(setup)


def _worker_file(k: int) -> _FileOutcome:
    return _WORKER["v"].file(k, serialize=True)


def _release_metrics(
    release: Release,
    facts: RecipeFacts,
    th: Thresholds,
    collectors: dict[str, Collector],
) -> list[Any]:
    """The release-level metrics with their bounds (computed here, asserted by the suite)."""
    from . import crosscut
    from .suites import Metric

    d = th.diversity
    out: list[Metric] = []
    for config, col in collectors.items():
        for split in d.splits:
            if not col.rows.get(split):
                continue
            scope = f"{config}.{split}"
            if config in d.min_task_entropy:
                out.append(
                    Metric(
                        f"diversity.task_entropy[{scope}]",
                        col.entropy(split),
                        d.min_task_entropy[config],
                        None,
                        "Shannon entropy (bits) of the task distribution",
                        [],
                    )
                )
            if config in d.min_distinct_2:
                out.append(
                    Metric(
                        f"diversity.distinct_2[{scope}]",
                        col.distinct_2(split),
                        d.min_distinct_2[config],
                        None,
                        f"distinct character bigrams / bigrams of {d.distinct_sample} sampled user "
                        "turns",
                        [],
                    )
                )
            if config in d.max_task_share:
                shares = {t: col.share(split, "task", t) for t in col.tasks[split]}
                top = max(shares.values(), default=0.0)
                over = sorted(t for t, s in shares.items() if s > d.max_task_share[config])
                out.append(
                    Metric(
                        f"diversity.task_mix[{scope}]",
                        round(top, 4),
                        None,
                        d.max_task_share[config],
                        "largest share of one task in the split",
                        over,
                    )
                )
            for level, (lo, hi) in sorted(d.level_share.get(config, {}).items()):
                if level in facts.tasks.values():
                    out.append(
                        Metric(
                            f"diversity.level_share[{scope}:{level}]",
                            round(col.share(split, "level", level), 4),
                            lo,
                            hi,
                            f"share of {level}-level queries",
                            [],
                        )
                    )
        if config == "stage1":
            total = sum(col.rows.values())
            general = sum(c.get("general", 0) for c in col.domains.values())
            if any(lv == "general" for lv in facts.tasks.values()):
                out.append(
                    Metric(
                        "diversity.general_share[stage1]",
                        round(general / total, 4) if total else 0.0,
                        d.min_general_share,
                        facts.general_ratio + d.general_share_tolerance,
                        f"general-domain share of stage 1 (recipe target {facts.general_ratio})",
                        [],
                    )
                )
            if not (release.manifest.get("options") or {}).get("only"):
                present = {t for c in col.tasks.values() for t in c}
                missing = sorted(set(facts.tasks) - set(d.optional_tasks) - present)
                out.append(
                    Metric(
                        "diversity.tasks_present[stage1]",
                        len(missing),
                        0,
                        0,
                        "task steps of the recipe that made no query in stage 1",
                        missing,
                    )
                )
        pairs = col.cross_split_exact()
        out.append(
            Metric(
                f"leakage.exact_recomputed[{config}]",
                len(pairs),
                0,
                0,
                "rows whose user turns or conversation equal a row of another split (every "
                "validated row)",
                [f"{a}~{b}" for a, b in pairs[:MAX_IDS]],
            )
        )
        n, note, ids = crosscut.near_duplicates(col)
        out.append(
            Metric(
                f"leakage.near_recomputed[{config}]",
                n,
                0,
                0,
                f"near-duplicate clusters across splits, recomputed ({note})",
                ids,
            )
        )
    n, note, ids = crosscut.leakage_report(release.root)
    out.append(
        Metric(
            "leakage.report",
            n,
            0,
            0,
            f"cross-split exact + near duplicates in reports/leakage.json ({note})",
            ids,
        )
    )
    n, note, ids = crosscut.contamination_report(release.root)
    has_index = (release.root / crosscut.EVAL_INDEX).is_file()
    if not has_index:
        note += "; no reports/eval_index.npz in the release, so not recomputed"
    out.append(
        Metric(
            "contamination.report",
            n,
            0,
            0,
            f"reports/contamination.json: every row checked by the build ({note})",
            ids,
        )
    )
    if "stage1" in collectors and has_index:
        n, note, ids = crosscut.contamination(release.root, collectors["stage1"])
        out.append(
            Metric(
                "contamination.recomputed[stage1]",
                n,
                0,
                0,
                f"sampled rows that copy a benchmark item ({note})",
                ids,
            )
        )
    built = (release.manifest.get("recipe") or {}).get("sha256")
    out.append(
        Metric(
            "provenance.recipe",
            1 if built == facts.sha256 else 0,
            1,
            1,
            f"the release was built with the recipe validated against ({facts.name})",
            [] if built == facts.sha256 else [f"built with {built}"],
        )
    )
    return out


def validate_release(
    root: Path,
    recipe_path: Path | None = None,
    thresholds_path: Path | None = None,
    sample: int | None = None,
    workers: int = 1,
    log: Callable[[str], None] | None = None,
) -> Outcome:
    """Validate the release in ``root``; raise ValidateError for usage errors.

    Paths may be relative (to the working folder) or start with ``~``: they are resolved first.
    Every file of ``manifest.json`` is re-hashed and read before any expectation runs; a file
    that differs, is missing or does not read fails the validation (``Outcome.problems``) and no
    expectation runs. With ``workers`` > 1, files are validated in that many processes (each
    with its own ephemeral context and no Data Docs site); their suite results come back as JSON
    and go into this process's context, which builds the Data Docs once at the end. ``log``
    gets one line per validated file (default: printed with ``--verbose``).

    The results go to a temporary folder beside ``DIR/reports/validation/`` and replace it only
    when the run completes (passed or failed): an error or an interrupt leaves the results of
    an earlier run as they were.
    """
    from lawset.builders.recipe import RecipeError, load_recipe

    started = time.time()
    root = Path(root).expanduser().resolve()
    recipe_path = Path(recipe_path).expanduser().resolve() if recipe_path else None
    thresholds_path = Path(thresholds_path).expanduser().resolve() if thresholds_path else None
    manifest = read_manifest(root)
    try:
        recipe = load_recipe(recipe_path)
    except RecipeError as exc:
        raise ValidateError(str(exc)) from None
    load_thresholds(thresholds_path)  # usage errors before any work
    if sample is not None and sample < 1:
        raise ValidateError("--sample must be at least 1")
    if workers < 1:
        raise ValidateError("--workers must be at least 1")
    facts = recipe_facts(recipe)
    del recipe

    listed = listed_files(root, manifest)
    console.info(
        f"validating {root}: {len(listed)} files"
        + (f", about {sample:,} rows per config and split" if sample else "")
    )
    console.info(f"checking {len(listed)} files against manifest.json (sha256, readable) ...")
    files = check_files(root, manifest)
    console.info(
        f"{files.files} files, {files.bytes / 2**20:,.1f} MiB checked in {files.seconds:.1f} s "
        f"({files.mb_per_s:,.0f} MiB/s)"
        + (f": {len(files.problems)} differ or do not read" if files.problems else ": all match")
    )

    reports = root / DOCS_DIR.parent
    _clear_stale(reports)
    tmp = reports / f"{TMP_PREFIX}{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        if files.problems:
            results: list[CheckResult] = []
            rows: dict[str, dict[str, int]] = {}
            passed = False
        else:
            results, rows, facts = _expectations(
                root, recipe_path, thresholds_path, sample, workers, tmp, log or console.debug
            )
            passed = all(r.passed for r in results)
        seconds = round(time.time() - started, 1)
        (tmp / SUMMARY_FILE).write_text(
            json.dumps(
                {
                    "passed": passed,
                    "release": root.name,
                    "recipe": {"name": facts.name, "sha256": facts.sha256},
                    "thresholds": str(thresholds_path) if thresholds_path else "default",
                    "sample": sample,
                    # every file of manifest.json re-hashed and read before the expectations
                    "files_checked": files.to_dict(),
                    "rows_validated": rows,
                    # what was validated, exactly: lawset release compares it with the manifest
                    "files_sha256": files_digest(manifest),
                    "expectations_total": len(results),
                    "expectations_failed": sum(not r.passed for r in results),
                    "seconds": seconds,
                    "data_docs": None if files.problems else "index.html",
                    "expectations": [r.to_dict() for r in results],
                },
                ensure_ascii=False,
                indent=2,
                default=str,
            )
            + "\n",
            encoding="utf-8",
        )
        _swap(tmp, root / DOCS_DIR)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    docs = root / DOCS_DIR
    return Outcome(
        passed,
        results,
        docs / "index.html",
        docs / SUMMARY_FILE,
        seconds,
        rows,
        problems=files.problems,
        files=files,
    )


def _expectations(
    root: Path,
    recipe_path: Path | None,
    thresholds_path: Path | None,
    sample: int | None,
    workers: int,
    docs: Path,
    log: Callable[[str], None],
) -> tuple[list[CheckResult], dict[str, dict[str, int]], RecipeFacts]:
    """Run every suite on the release (files known to match the manifest) with the Data Docs
    site in ``docs``: the merged results, the rows validated per config and split, the
    recipe's facts."""
    from tqdm import tqdm

    release = open_release(root)
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with console.phase("starting Great Expectations"):
            import pandas as pd

            from .frames import id_counts
            from .suites import release_checks

            setup = _Setup(
                root,
                recipe_path,
                thresholds_path,
                sample,
                {c: id_counts(release.files_of(c)) for c in release.configs()},
            )
            gx = _Gx(docs)
            main = _Validator(setup, gx)
        merger = _Merger()
        rows: dict[str, dict[str, int]] = {}
        collectors: dict[str, Collector] = {}
        jobs = list(range(len(release.files)))

        def take(out: _FileOutcome, stored: bool) -> None:
            merger.add(out.plain)
            if not stored:
                suite = f"{out.config}.{out.split}"
                maker = main.statute_checks
                if out.config in QUERY_CONFIGS:

                    def maker(c: str = out.config) -> list[Any]:
                        return main.query_checks(c)

                gx.checkpoint(suite, maker, index_ids=True)  # the suite, for its docs page
                for vid, result in out.results:
                    gx.store(vid, result)
            if out.collector is not None:
                if out.config in collectors:
                    collectors[out.config].merge(out.collector)
                else:
                    collectors[out.config] = out.collector
            rows.setdefault(out.config, {}).setdefault(out.split, 0)
            rows[out.config][out.split] += out.rows
            log(f"  {out.config}/{out.name}: {out.rows:,} rows")

        total = sum(f.rows for f in release.files)
        console.info(
            f"running the expectation suites on {len(jobs)} files ({total:,} rows"
            + (f", {workers} workers)" if workers > 1 else ")")
        )
        # --verbose prints a line per file instead of the bar
        bar = tqdm(
            total=len(jobs),
            unit="file",
            desc="expectations",
            file=sys.stderr,
            disable=not console.progress_enabled() or console.level() >= console.VERBOSE,
        )
        with bar:
            if workers == 1:
                for k in jobs:
                    take(main.file(k, serialize=False), stored=True)
                    bar.update(1)
            else:
                import multiprocessing as mp
                from concurrent.futures import ProcessPoolExecutor

                with ProcessPoolExecutor(
                    max_workers=workers,
                    mp_context=mp.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(setup,),
                ) as pool:
                    for out in pool.map(_worker_file, jobs):
                        take(out, stored=False)
                        bar.update(1)
        import pyarrow.parquet as pq

        with console.phase("release metrics (mix, diversity, leakage, contamination)"):
            for config in QUERY_CONFIGS:
                if config in release.configs() and config not in collectors:
                    collectors[config] = main.collector(config)
                for f in release.files_of(config):
                    names = set(pq.ParquetFile(f.path).schema_arrow.names)
                    t = pq.read_table(f.path, columns=[c for c in MIX_COLUMNS if c in names])
                    collectors[config].count_mix(
                        f.split,
                        *(
                            t.column(c).to_pylist() if c in t.column_names else [None] * len(t)
                            for c in MIX_COLUMNS
                        ),
                    )
            metrics = _release_metrics(release, main.facts, main.th, collectors)
            frame = pd.DataFrame({m.name: [m.value] for m in metrics})
            cp = gx.checkpoint(
                "release", lambda: release_checks(metrics), index_ids=False, docs=True
            )
            merger.add([p for _, vr in gx.run(cp, frame, "release") for p in _plain("release", vr)])
            for m in metrics:
                merger.results[("release", m.name)].failing = m.failing[:MAX_IDS]
        with console.phase("writing Data Docs"):
            gx.build_docs()  # every page: the file runs' results are in this context's store
    return list(merger.results.values()), rows, main.facts


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0
    return True


def _clear_stale(reports: Path) -> None:
    """Remove the temporary folders of validate runs that were killed (their process is gone);
    put back earlier results a run killed between its two renames had moved aside."""
    if not reports.is_dir():
        return
    final = reports / DOCS_DIR.name
    for p in sorted(reports.iterdir()):
        for prefix in (TMP_PREFIX, OLD_PREFIX):
            if not p.name.startswith(prefix) or not p.is_dir():
                continue
            pid = p.name[len(prefix) :]
            if pid.isdigit() and _pid_alive(int(pid)):
                continue
            if prefix == OLD_PREFIX and not final.exists():
                os.replace(p, final)
            else:
                shutil.rmtree(p, ignore_errors=True)


def _swap(new: Path, final: Path) -> None:
    """Put the folder ``new`` in the place of ``final`` (two renames on one file system)."""
    old = final.parent / f"{OLD_PREFIX}{os.getpid()}"
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    try:
        os.replace(new, final)
    except BaseException:
        if old.exists() and not final.exists():
            os.replace(old, final)
        raise
    shutil.rmtree(old, ignore_errors=True)


def format_table(outcome: Outcome, root: Path) -> str:
    """A short report: pass counts per suite and category, then every failing check (with
    ``--quiet``: the verdict and where the output went). ``root`` is the release (the paths
    printed are the outcome's, resolved)."""
    lines = []
    where = [f"Data Docs: {outcome.docs}", f"summary:   {outcome.summary}"]
    if outcome.problems:
        checked = outcome.files.files if outcome.files is not None else len(outcome.problems)
        lines.append(
            f"FAILED: {len(outcome.problems)} of {checked} files differ from manifest.json or do "
            f"not read; no expectation was run ({outcome.seconds:.1f} s)"
        )
        lines += [f"  {p}" for p in outcome.problems]
        lines.append(where[1])
        return "\n".join(lines)
    failed = [r for r in outcome.results if not r.passed]
    verdict = "PASSED" if outcome.passed else "FAILED"
    total = len(outcome.results)
    head = (
        f"{verdict}: {total - len(failed)} of {total} expectations passed ({outcome.seconds:.1f} s)"
    )
    if console.level() <= console.QUIET:
        return "\n".join([head, *where])
    cats: dict[tuple[str, str], list[CheckResult]] = {}
    for r in outcome.results:
        cats.setdefault((r.suite, r.check.split(".")[0].split("[")[0]), []).append(r)
    suites = sorted({s for s, _ in cats})
    names = sorted({c for _, c in cats})
    lines.append(f"{'suite':22s}" + "".join(f"{c:>14s}" for c in names))
    for s in suites:
        row = f"{s:22s}"
        for c in names:
            rs = cats.get((s, c), [])
            cell = f"{sum(r.passed for r in rs)}/{len(rs)}" if rs else "-"
            row += f"{cell:>14s}"
        lines.append(row)
    lines.append("")
    lines.append(head)
    for r in failed:
        ids = f"  e.g. {', '.join(r.failing[:3])}" if r.failing else ""
        err = f"  error: {r.error}" if r.error else ""
        lines.append(f"  FAIL {r.suite:20s} {r.check:44s} {r.observed_text()}{ids}{err}")
    lines += where
    return "\n".join(lines)
