"""The local executor: plan, run shards on worker processes, resume, then write the release.

Work state lives in ``OUT/.lawset-work/``: ``plan.json`` (the fingerprint of sources + recipe +
options), one folder of sorted runs and rejects per shard, and one completion marker per finished
shard. A rerun with the same fingerprint skips every shard with a marker and redoes the others from
scratch, so a build killed at any moment (kill -9 included) finishes with the same files as an
uninterrupted one. The work folder is removed after a successful build unless ``keep_work``.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .. import __version__, console
from ..errors import UsageError
from ..recipe import CATEGORIES, Recipe, RecipeError, resolve_source_path
from ..schema import QUERY_SCHEMA, STATUTE_SCHEMA, stable_hash
from ..sources import ADAPTERS, Problem, check_source_plan
from .base import Batch, Context, Record
from .dedup_phase import FEATURES, FeatureWriter, find_duplicates, near_config
from .outdir import OutputFolder
from .runs import KEY, SPLIT, RunWriter
from .setup_cache import catalog_key, eval_index_key, materialize

WORK = ".lawset-work"
#: sink (release config) -> Arrow schema. Queries go to stage1 (and, when the recipe's stage2
#: rule selects them, to stage2); articles to statutes.
SINKS = {"stage1": QUERY_SCHEMA, "stage2": QUERY_SCHEMA, "statutes": STATUTE_SCHEMA}
CATALOG = "catalog.pkl"
EVAL_INDEX = "eval_index.npz"


class BuildError(UsageError):
    """A build that cannot start (bad options, unsafe output folder, nothing to build)."""


@dataclass
class BuildOptions:
    sources: Path
    out: Path
    recipe: Recipe
    only: list[str] | None = None
    limit: int | None = None
    workers: int | None = None
    progress: bool = True
    keep_work: bool = False
    #: benchmarks folder for decontamination (default: ``<sources>/../benchmarks``)
    benchmarks: Path | None = None
    #: ``local`` or ``ray`` (None: the recipe's ``execution.executor``); same output either way
    executor: str | None = None
    #: a Ray cluster to join (None: the recipe's ``execution.ray_address``; neither: a private
    #: local Ray). Only with the ray executor.
    ray_address: str | None = None

    def benchmarks_dir(self) -> Path:
        return (
            self.benchmarks if self.benchmarks is not None else self.sources.parent / "benchmarks"
        )


@dataclass
class BuildPlan:
    units: list[tuple[str, dict[str, Any]]]  # (source name, unit)
    problems: list[Problem]
    fingerprint: str
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)


def split_of(group: str, recipe: Recipe) -> str:
    """Deterministic, group-aware split: a group's hash decides, so a group never straddles."""
    s = recipe.splits
    x = stable_hash(s.salt + "\x1f" + group) / 2**64
    if x < s.test:
        return "test"
    if x < s.test + s.validation:
        return "validation"
    return "train"


def selected_sources(recipe: Recipe, only: list[str] | None) -> list[str]:
    if only is None:
        return sorted(recipe.sources)
    bad = [c for c in only if c not in CATEGORIES]
    if bad:
        raise BuildError(
            f"--only: unknown categor{'ies' if len(bad) > 1 else 'y'} {', '.join(bad)}; "
            f"use names of the sources tree's folders: {', '.join(CATEGORIES)}"
        )
    names = sorted(n for n, s in recipe.sources.items() if s.category in only)
    if not names:
        have = sorted({s.category for s in recipe.sources.values()})
        raise BuildError(
            f"--only {','.join(only)}: the recipe has no source of that category "
            f"(it has: {', '.join(have)})"
        )
    return names


def make_plan(opts: BuildOptions) -> BuildPlan:
    if not opts.sources.is_dir():
        raise BuildError(f"--sources {opts.sources}: folder not found (point it at ../shared/raw)")
    recipe = opts.recipe
    units: list[tuple[str, dict[str, Any]]] = []
    problems: list[Problem] = []
    prints: list[Any] = [__version__, recipe.digest(), opts.only, opts.limit]
    sources: dict[str, dict[str, Any]] = {}
    selected = selected_sources(recipe, opts.only)
    for name in sorted(recipe.sources):
        cfg = recipe.sources[name]
        adapter = ADAPTERS[cfg.adapter]()
        root = resolve_source_path(opts.sources, name, cfg.path)  # confined to --sources
        if name not in selected:
            if adapter.statutes and uses_catalog(recipe):  # citations are checked against it
                sp = adapter.plan(name, cfg, root, None)
                check_source_plan(name, cfg, root, sp)
                prints.append([name, "catalog", sp.fingerprint])
            continue
        sp = adapter.plan(name, cfg, root, opts.limit)
        check_source_plan(name, cfg, root, sp)
        units += [(name, u) for u in sp.units]
        problems += sp.problems
        prints.append([name, sp.fingerprint])
        sources[name] = {**cfg.model_dump(), "units": len(sp.units), **sp.counters}
    if not units:
        detail = "; ".join(p.message for p in problems[:3])
        raise BuildError(f"nothing to build: no usable input found. {detail}")
    if decontaminate_params(recipe) is not None:
        bench = opts.benchmarks_dir()
        if not (bench / "lawbench" / "data" / "zero_shot").is_dir():
            raise BuildError(
                f"--benchmarks {bench}: no lawbench/data/zero_shot there; point --benchmarks at "
                "../shared/benchmarks (decontamination is a gate: the recipe's decontaminate step "
                "needs it)"
            )
        prints.append(["benchmarks", benchmark_fingerprint(bench)])
    digest = hashlib.sha256(json.dumps(prints, ensure_ascii=False).encode()).hexdigest()
    return BuildPlan(units=units, problems=problems, fingerprint=digest, sources=sources)


def uses_catalog(recipe: Recipe) -> bool:
    return recipe.needs("catalog")


def decontaminate_params(recipe: Recipe) -> Any:
    steps = recipe.steps_needing("eval_index")
    return steps[0].build().params if steps else None


def benchmark_fingerprint(root: Path) -> list[str]:
    from ..decontam import LAWBENCH

    bench = root / LAWBENCH.name if (root / LAWBENCH.name).is_dir() else root
    return [
        f"{p.relative_to(root).as_posix()}:{hashlib.sha256(p.read_bytes()).hexdigest()}"
        for p in sorted(bench.glob("data/*/*.json"))
    ]


def build_eval_index_for(recipe: Recipe, sources: Path, benchmarks: Path) -> Any:
    """The decontamination index of a recipe: LawBench items and held-out source records, with
    statute and boilerplate shingles taken out (see builders/decontam.py)."""
    from ..decontam import (
        build_eval_index,
        held_out_items,
        lawbench_items,
        statute_shingles,
    )

    p = decontaminate_params(recipe)
    items = lawbench_items(benchmarks / "lawbench")
    if p.held_out_sources:
        items += held_out_items(recipe, sources)
    return build_eval_index(
        items,
        statute_shingles(recipe, sources, p.shingle_chars),
        shingle_chars=p.shingle_chars,
        min_coverage=p.min_coverage,
        min_shingles=p.min_shingles,
        min_shingles_held_out=p.min_shingles_held_out,
        max_item_share=p.max_item_share,
        paraphrase_jaccard=p.paraphrase_jaccard,
        paraphrase_min_chars=p.paraphrase_min_chars,
    )


_LOADED: dict[str, Any] = {}


def _load_once(path: str | None, load: Any) -> Any:
    """A work-folder file (catalog, eval index) loaded once per worker process and file version."""
    if path is None:
        return None
    key = f"{path}:{Path(path).stat().st_mtime_ns}"
    if key not in _LOADED:
        for old in [k for k in _LOADED if k.startswith(f"{path}:")]:
            del _LOADED[old]
        _LOADED[key] = load(Path(path))
    return _LOADED[key]


def _load_eval_index(path: str | None) -> Any:
    """The decontamination index, loaded once per worker process."""
    from ..decontam import EvalIndex

    return _load_once(path, EvalIndex.load)


def _load_catalog(path: str | None) -> Any:
    """The statute catalog, loaded once per worker process."""
    from ..citations import StatuteCatalog

    catalog = _load_once(path, StatuteCatalog.load)
    if catalog is not None:
        catalog.activate()
    return catalog


def query_split(record: Record, recipe: Recipe) -> str:
    """Held-out (evaluation) material always goes to test; the rest by group hash."""
    if record.get("_held_out") == "test":
        return "test"
    return split_of(record["group"], recipe)


def _batches(records: Iterator[Record], size: int) -> Iterator[Batch]:
    batch: Batch = []
    for r in records:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_shard(spec: dict[str, Any]) -> dict[str, Any]:
    """Run every unit of one shard through the recipe's steps; write runs, rejects and marker."""
    recipe: Recipe = spec["recipe"]
    shard, folder = spec["shard"], Path(spec["folder"])
    if folder.exists():
        shutil.rmtree(folder)  # leftovers of an interrupted attempt
    folder.mkdir(parents=True)
    ctx = Context(shard, folder / "rejects.jsonl")
    ctx.catalog = _load_catalog(spec.get("catalog"))
    ctx.eval_index = _load_eval_index(spec.get("eval_index"))
    ctx.out = Path(spec["out"]) if spec.get("out") else None
    ctx.workers = int(spec.get("workers") or 1)
    ctx.sources = Path(spec["sources"])
    ctx.recipe = recipe
    steps = recipe.build_steps()
    writers = {
        sink: RunWriter(folder, sink, schema, recipe.execution.run_size)
        for sink, schema in SINKS.items()
    }

    records_read: dict[str, int] = {name: 0 for name, _ in spec["units"]}

    def source_records() -> Iterator[Record]:
        for name, unit in spec["units"]:
            cfg = recipe.sources[name]
            adapter = ADAPTERS[cfg.adapter]()
            root = Path(spec["sources"]) / cfg.path
            for r in adapter.read(name, cfg, root, unit, ctx):
                records_read[name] += 1
                yield r

    held_out_groups: set[str] = set()
    features = FeatureWriter(folder / FEATURES, recipe)
    stream: Iterator[Batch] = _batches(source_records(), recipe.execution.batch_size)
    for step in steps:
        stream = step.run(stream, ctx)
    for batch in chain(stream, [[]]):  # the last, empty batch drains the final side outputs
        for r in batch:
            if r["kind"] != "query":
                continue
            split = query_split(r, recipe)
            r[KEY], r[SPLIT] = r["id"], split
            ctx.stats.count("stage1_rows", f"{r['domain']}:{split}")
            if r.get("_held_out") == "test":
                ctx.stats.count("held_out_test", r["source"])
                held_out_groups.add(r["group"])
            writers["stage1"].add(r)
            features.add(r, split)
            if recipe.stage2.selects(r):
                writers["stage2"].add(r)
        for r in ctx.side_outputs.pop("statutes", []):
            writers["statutes"].add(_statute_row(r))
    for w in writers.values():
        w.flush()
    features.close()
    ctx.close()
    # Groups of evaluation material: the release sends their twins from other sources (the same
    # exam question in JEC-QA and ChatLaw) to test too, so no held-out item has a train copy.
    tmp_groups = folder / "held_out_groups.txt.tmp"
    tmp_groups.write_text("".join(g + "\n" for g in sorted(held_out_groups)), encoding="utf-8")
    os.replace(tmp_groups, folder / "held_out_groups.txt")
    marker = {
        "shard": shard,
        "units": len(spec["units"]),
        "stats": ctx.stats.to_dict(),
        "runs": {sink: [p.name for p in w.paths] for sink, w in writers.items()},
        "rows": {sink: w.rows for sink, w in writers.items()},
        # kept out of stats (which stay byte-identical): a source that yields nothing is an error
        "records_read": records_read,
    }
    tmp = Path(spec["marker"] + ".tmp")
    tmp.write_text(json.dumps(marker, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    os.replace(tmp, spec["marker"])
    return marker


def _statute_row(r: Record) -> Record:
    version, number, sub, path, ordinal = r["_order"]
    row = dict(r)
    row[KEY] = f"{r['law']}\x1f{version}\x1f{number:06d}\x1f{sub:03d}\x1f{path}\x1f{ordinal:06d}"
    row[SPLIT] = "train"
    return row


def build(opts: BuildOptions) -> dict[str, Any]:
    """Run a whole build; returns the summary that is also written to reports/stats.json."""
    from .writer import write_release

    t0 = time.monotonic()
    folder = OutputFolder(opts.out)
    folder.check()
    if (opts.out / WORK / "lock").exists():  # a build may be writing there: refuse before work
        _lock(opts.out / WORK, opts.out).close()
    if (opts.executor or opts.recipe.execution.executor) not in ("local", "ray"):
        raise BuildError(f"--executor {opts.executor}: use local or ray")
    if opts.ray_address and (opts.executor or opts.recipe.execution.executor) != "ray":
        raise BuildError("--ray-address: only with --executor ray (or execution.executor: ray)")
    recipe = opts.recipe
    with console.phase("plan (reading and fingerprinting the sources)"):
        plan = make_plan(opts)
    t_plan = time.monotonic() - t0
    if folder.up_to_date(plan.fingerprint):
        return _up_to_date(opts.out)
    work = opts.out / WORK
    plan_file = work / "plan.json"
    n_shards = recipe.execution.shards
    work.mkdir(parents=True, exist_ok=True)
    lock = _lock(work, opts.out)
    if folder.changed(plan.fingerprint):
        console.info(
            f"{opts.out} holds a build of other sources, recipe or options: starting over (the "
            "files that build wrote are replaced; reports/validation/, plots and a release "
            "stamp, if any, are kept but describe the old build: validate again)"
        )
    folder.begin(plan.fingerprint, __version__)
    resumed = False
    if plan_file.exists():
        old = json.loads(plan_file.read_text("utf-8"))
        if old.get("fingerprint") == plan.fingerprint and old.get("shards") == n_shards:
            resumed = True
        else:
            _say("sources, recipe or options changed since the interrupted build: starting over")
    if not resumed:
        for old_state in ("shards", "markers"):
            shutil.rmtree(work / old_state, ignore_errors=True)
    (work / "markers").mkdir(parents=True, exist_ok=True)
    cache_hits: dict[str, bool] = {}  # index -> taken from the cache shared between builds
    catalog = None
    if uses_catalog(recipe):
        catalog = work / CATALOG
        if not (resumed and catalog.exists()):
            from ..citations import build_catalog

            with console.phase("statute catalog (citations are checked against it)"):
                cache_hits["catalog"] = materialize(
                    catalog,
                    "catalog",
                    catalog_key(recipe, opts.sources),
                    lambda path: build_catalog(recipe, opts.sources).save(path),
                )
    eval_index = None
    if decontaminate_params(recipe) is not None:
        eval_index = work / EVAL_INDEX
        if not (resumed and eval_index.exists()):
            bench = opts.benchmarks_dir()
            with console.phase("decontamination index (LawBench and held-out items)"):
                cache_hits["eval_index"] = materialize(
                    eval_index,
                    "eval_index",
                    eval_index_key(recipe, opts.sources, benchmark_fingerprint(bench)),
                    lambda path: build_eval_index_for(recipe, opts.sources, bench).save(path),
                )
    tmp = plan_file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"fingerprint": plan.fingerprint, "shards": n_shards}))
    os.replace(tmp, plan_file)

    shards: list[list[tuple[str, dict[str, Any]]]] = [[] for _ in range(n_shards)]
    for name, unit in plan.units:
        shards[stable_hash(f"{name}\x1f{unit['key']}") % n_shards].append((name, unit))
    executor = opts.executor or recipe.execution.executor
    ray_session = None
    if executor == "ray":  # Ray is imported on this path only
        from .ray_executor import RaySession

        ray_session = RaySession(
            opts.ray_address or recipe.execution.ray_address,
            opts.workers,
            recipe.execution.workers,
            _rewrite_env(recipe),
        )
        # shards in flight on the whole cluster: steps with a global budget divide by it
        workers = ray_session.workers
    else:
        workers = opts.workers or recipe.execution.workers
    specs = []
    for i, units in enumerate(shards):
        marker = work / "markers" / f"{i:05d}.json"
        if marker.exists():
            continue
        specs.append(
            {
                "shard": i,
                "units": units,
                "recipe": recipe,
                "sources": str(opts.sources),
                "folder": str(work / "shards" / f"{i:05d}"),
                "marker": str(marker),
                "catalog": None if catalog is None else str(catalog),
                "eval_index": None if eval_index is None else str(eval_index),
                "out": str(opts.out),
                "workers": workers,
            }
        )
    done_units = len(plan.units) - sum(len(s["units"]) for s in specs)
    if resumed and done_units:
        _say(f"resuming: {n_shards - len(specs)} of {n_shards} shards already done")
    t1 = time.monotonic()
    bar = tqdm(
        total=len(plan.units),
        initial=done_units,
        desc="build",
        unit="unit",
        disable=not console.progress_enabled(opts.progress),
        file=sys.stderr,
    )
    if ray_session is not None:
        ray_session.run_shards(specs, lambda spec: bar.update(len(spec["units"])))
    elif workers <= 1 or len(specs) <= 1:
        for spec in specs:
            run_shard(spec)
            bar.update(len(spec["units"]))
    else:
        with ProcessPoolExecutor(
            max_workers=workers, initializer=_die_with_parent, initargs=(os.getpid(),)
        ) as pool:
            futures = {pool.submit(run_shard, s): s for s in specs}
            for fut in as_completed(futures):
                try:
                    fut.result()
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)  # queued shards: not started
                    raise
                bar.update(len(futures[fut]["units"]))
    bar.close()
    t_shards = time.monotonic() - t1
    markers = [
        json.loads((work / "markers" / f"{i:05d}.json").read_text("utf-8")) for i in range(n_shards)
    ]
    _check_records_read(plan, markers, opts)
    t2 = time.monotonic()
    shard_dirs = [work / "shards" / f"{i:05d}" for i in range(n_shards)]
    with console.phase("dedup (exact and near duplicates across all sources)"):
        drops = (find_duplicates if ray_session is None else ray_session.find_duplicates)(
            [d / FEATURES for d in shard_dirs],
            [
                d / name
                for d, m in zip(shard_dirs, markers, strict=True)
                for name in m["runs"]["stage1"]
            ],
            recipe,
        )
    t_dedup = time.monotonic() - t2
    if ray_session is not None:
        ray_session.close()
    summary = write_release(opts, plan, work, markers, drops)
    from ..rewrite.client import aggregate_client_reports

    # Requests, cache hits, retries, tokens and wall time vary between runs: kept out of
    # stats.json (which stays byte-identical), like timings.json.
    client = aggregate_client_reports(work)
    if client:
        (opts.out / "reports" / "rewrite_client.json").write_text(
            json.dumps(client, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        summary["rewrite_client"] = client
    t3 = time.monotonic()
    from ..dedup import check_leakage

    with console.phase("leakage check (duplicates across splits)"):
        leakage = check_leakage(
            opts.out,
            configs=("stage1",),
            cfg=near_config(recipe),
            near_min_chars=recipe.dedup.near_min_chars,
        )
    (opts.out / "reports" / "leakage.json").write_text(
        json.dumps(leakage, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    summary["leakage"] = leakage
    if not leakage["passed"]:
        _say(
            f"leakage check FAILED: {leakage['cross_split_exact']} exact and "
            f"{leakage['cross_split_near']} near duplicates across splits "
            f"(see {opts.out}/reports/leakage.json)"
        )
    from ...cards.render import render_card

    manifest = json.loads((opts.out / "manifest.json").read_text("utf-8"))
    (opts.out / "README.md").write_text(render_card(manifest, summary, recipe), encoding="utf-8")
    t_leak = time.monotonic() - t3
    timings = {
        "plan_s": round(t_plan, 3),
        "shards_s": round(t_shards, 3),
        "dedup_s": round(t_dedup, 3),
        "release_s": round(t3 - t2 - t_dedup, 3),
        "leakage_check_s": round(t_leak, 3),
        "total_s": round(time.monotonic() - t0, 3),
        "workers": workers,
        "executor": executor,
        "resumed": resumed,
        "index_cache_hits": cache_hits,
    }
    (opts.out / "reports" / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    summary["timings"] = timings
    folder.finish(plan.fingerprint, __version__)
    lock.close()
    if not opts.keep_work:
        shutil.rmtree(work)
    return summary


def _check_records_read(plan: BuildPlan, markers: list[dict[str, Any]], opts: BuildOptions) -> None:
    """A source that yielded no record at all (every file rejected, or files of another format)
    stops the build (exit 2) unless the recipe marks it optional; a ``--limit`` sample may
    legitimately read nothing from a source and is not checked."""
    if opts.limit is not None or any("records_read" not in m for m in markers):
        return
    read: dict[str, int] = {}
    for m in markers:
        for name, n in m["records_read"].items():
            read[name] = read.get(name, 0) + n
    empty = [
        n for n in sorted(plan.sources) if not read.get(n) and not opts.recipe.sources[n].optional
    ]
    if empty:
        cfg = opts.recipe.sources[empty[0]]
        raise BuildError(
            f"source {empty[0]} ({cfg.adapter}, folder {cfg.path} under --sources) yielded no "
            f"record{' (nor did ' + ', '.join(empty[1:]) + ')' if empty[1:] else ''}: every "
            "file was rejected or holds another format; the reasons are in "
            f"{opts.out}/{WORK}/shards/*/rejects.jsonl (step read). Fix the files or "
            "sources.<name>.path, or mark the source `optional: true` in the recipe"
        )


def _rewrite_env(recipe: Recipe) -> dict[str, str]:
    """The environment variables the rewrite step reads (its API key, URL credentials), for
    workers that do not inherit this process's environment (a remote Ray cluster)."""
    from ..rewrite.client import USERINFO_ENV

    names = {USERINFO_ENV}.union(*(step.environment() for step in recipe.build_steps()))
    return {n: os.environ[n] for n in sorted(names) if n in os.environ}


def _up_to_date(out: Path) -> dict[str, Any]:
    """The summary of a finished build that a rerun leaves as it is."""
    console.info(
        f"{out} is already built from these sources, recipe and options: nothing to do (its "
        "files, validation results, plots and release stamp are kept). To build it again from "
        "scratch, remove the folder or build into a new --out"
    )
    try:
        summary = json.loads((out / "reports" / "stats.json").read_text("utf-8"))
    except (OSError, ValueError):
        summary = {"configs": {}, "steps": {}, "problems": []}
    summary["up_to_date"] = True
    summary["timings"] = {"total_s": 0.0}
    return summary


def _lock(work: Path, out: Path):  # noqa: ANN202 - an open file whose lock lives with it
    """One build per output folder. Worker processes inherit the lock, so a rerun cannot start
    while workers of a killed build are still writing."""
    f = open(work / "lock", "w")  # noqa: SIM115
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise BuildError(
            f"--out {out}: another lawset build is writing there; wait for it to finish"
        ) from None
    return f


def _die_with_parent(parent: int) -> None:
    """Worker initializer: end with the parent (kill -9 included) instead of lingering."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: workers then end when they next find the parent gone
        pass
    if os.getppid() != parent:
        os._exit(1)


def _say(msg: str) -> None:
    console.info(msg)


__all__ = ["BuildError", "BuildOptions", "RecipeError", "build", "split_of", "SINKS"]
