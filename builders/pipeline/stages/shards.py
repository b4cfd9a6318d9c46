"""Stage ``shards``: the recipe's steps over every work unit, one shard at a time.

Units are dealt to ``execution.shards`` shards by the hash of (source, unit key), so a unit's
shard never depends on the others. A shard runs its units through the steps and writes, into its
own folder, sorted runs per sink (``runs.py``), its rejects and its dedup features
(``dedup_phase.py``); last, atomically, its completion marker: the :class:`ShardResult`. A shard
with a marker is done; any other is redone from scratch, which is all that resuming needs.

The executor (local processes or Ray) only decides where :func:`run_shard` runs; a shard's files
are the same either way.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa
from tqdm import tqdm

from ... import console
from ...recipe import Recipe
from ...schema import QUERY_SCHEMA, STATUTE_SCHEMA, stable_hash
from ...sources import ADAPTERS
from ..base import Batch, Context, Record
from ..dedup_phase import FEATURES, FeatureWriter
from ..options import BuildError, BuildOptions
from ..runs import HELD_OUT, KEY, RunWriter
from ..work import WORK, WorkFolder
from .indexes import Indexes, load_catalog, load_eval_index
from .plan import BuildPlan, Unit
from .split import query_split

if TYPE_CHECKING:
    from ..executor import Executor

#: sink (release config) -> Arrow schema. Queries go to stage1 (and, when the recipe's stage2
#: rule selects them, to stage2); articles to statutes.
SINKS: dict[str, pa.Schema] = {
    "stage1": QUERY_SCHEMA,
    "stage2": QUERY_SCHEMA,
    "statutes": STATUTE_SCHEMA,
}


@dataclass(frozen=True)
class ShardSpec:
    """What one shard runs: its units, and where it reads and writes."""

    shard: int
    units: list[Unit]
    recipe: Recipe
    sources: Path
    #: the shard's own folder in the work folder (cleared first: leftovers of a killed attempt)
    folder: Path
    #: the completion marker, written last
    marker: Path
    catalog: Path | None
    eval_index: Path | None
    #: the build's output folder (steps keep state beside it, e.g. the rewrite cache)
    out: Path
    #: shards in flight across the build: a step sharing a global budget divides it by this
    workers: int


@dataclass
class ShardResult:
    """A finished shard: its completion marker, saved as JSON in the work folder.

    The values the release reads are fields here; ``stats`` is the shard's report (step counts
    and counters), merged into ``reports/stats.json`` and never read back as data.
    """

    shard: int
    units: int
    #: sink -> the shard's sorted run files (names in its folder), in order
    runs: dict[str, list[str]]
    #: sink -> rows in those runs
    rows: dict[str, int]
    #: source -> records its adapter yielded (a source that yields none stops the build)
    records_read: dict[str, int]
    #: domain -> stage 1 queries (the general mix's sample rate is known before the merge)
    queries_by_domain: dict[str, int]
    #: source -> its queries that are held-out evaluation material (sent to test)
    held_out_queries: dict[str, int]
    #: the groups of those queries, sorted: their twins from other sources go to test too
    held_out_groups: list[str]
    #: benchmark items a query of this shard copied (contamination report), sorted
    contamination_items: list[str]
    stats: dict[str, Any]

    def save(self, path: Path) -> None:
        """Write the marker atomically: a shard is done exactly when its marker exists."""
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(asdict(self), ensure_ascii=False, sort_keys=True), "utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> ShardResult:
        data = json.loads(path.read_text("utf-8"))
        return cls(**{f.name: data[f.name] for f in fields(cls)})


class Shards:
    """Runs every shard without a marker on the executor; returns every shard's result."""

    name: ClassVar[str] = "shards"

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    def run(
        self, opts: BuildOptions, plan: BuildPlan, work: WorkFolder, indexes: Indexes
    ) -> list[ShardResult]:
        n_shards = opts.recipe.execution.shards
        specs = [
            ShardSpec(
                shard=i,
                units=units,
                recipe=opts.recipe,
                sources=opts.sources,
                folder=work.shard_folder(i),
                marker=work.marker(i),
                catalog=indexes.catalog,
                eval_index=indexes.eval_index,
                out=opts.out,
                workers=self.executor.workers,
            )
            for i, units in enumerate(deal_units(plan.units, n_shards))
            if not work.marker(i).exists()
        ]
        done_units = len(plan.units) - sum(len(s.units) for s in specs)
        if work.resumed and done_units:
            console.info(f"resuming: {n_shards - len(specs)} of {n_shards} shards already done")
        bar = tqdm(
            total=len(plan.units),
            initial=done_units,
            desc="build",
            unit="unit",
            disable=not console.progress_enabled(opts.progress),
            file=sys.stderr,
        )
        self.executor.run_shards(specs, lambda spec: bar.update(len(spec.units)))
        bar.close()
        results = [ShardResult.load(work.marker(i)) for i in range(n_shards)]
        _check_records_read(plan, results, opts)
        return results


def deal_units(units: list[Unit], n_shards: int) -> list[list[Unit]]:
    """Each unit to the shard its (source, key) hash names."""
    shards: list[list[Unit]] = [[] for _ in range(n_shards)]
    for name, unit in units:
        shards[stable_hash(f"{name}\x1f{unit['key']}") % n_shards].append((name, unit))
    return shards


def _batches(records: Iterator[Record], size: int) -> Iterator[Batch]:
    batch: Batch = []
    for r in records:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_shard(spec: ShardSpec) -> ShardResult:
    """Run every unit of one shard through the recipe's steps; write runs, rejects and marker."""
    recipe = spec.recipe
    folder = spec.folder
    if folder.exists():
        shutil.rmtree(folder)  # leftovers of an interrupted attempt
    folder.mkdir(parents=True)
    ctx = Context(spec.shard, folder / "rejects.jsonl")
    ctx.catalog = load_catalog(spec.catalog)
    ctx.eval_index = load_eval_index(spec.eval_index)
    ctx.out = spec.out
    ctx.workers = spec.workers
    ctx.sources = spec.sources
    ctx.recipe = recipe
    steps = recipe.build_steps()
    writers = {
        sink: RunWriter(folder, sink, schema, recipe.execution.run_size)
        for sink, schema in SINKS.items()
    }

    records_read: dict[str, int] = {name: 0 for name, _ in spec.units}

    def source_records() -> Iterator[Record]:
        for name, unit in spec.units:
            cfg = recipe.sources[name]
            adapter = ADAPTERS[cfg.adapter]()
            for r in adapter.read(name, cfg, spec.sources / cfg.path, unit, ctx):
                records_read[name] += 1
                yield r

    by_domain: Counter[str] = Counter()
    held_out_queries: Counter[str] = Counter()
    held_out_groups: set[str] = set()
    features = FeatureWriter(folder / FEATURES, recipe)
    stream: Iterator[Batch] = _batches(source_records(), recipe.execution.batch_size)
    for step in steps:
        stream = step.run(stream, ctx)
    for batch in chain(stream, [[]]):  # the last, empty batch drains the final side outputs
        for r in batch:
            if r["kind"] != "query":
                continue
            held_out = r.get("_held_out") == "test"
            r[KEY], r[HELD_OUT] = r["id"], held_out
            # the split as this shard sees it (the release also moves held-out twins): a report
            split = query_split(r["group"], held_out, recipe)
            ctx.stats.count("stage1_rows", f"{r['domain']}:{split}")
            by_domain[r["domain"]] += 1
            if held_out:
                ctx.stats.count("held_out_test", r["source"])
                held_out_queries[r["source"]] += 1
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
    # The decontaminate step names the benchmark items it found as a counter; they are data
    # for the contamination report, not part of stats.json.
    items = ctx.stats.counters.pop("contamination_items", Counter())
    result = ShardResult(
        shard=spec.shard,
        units=len(spec.units),
        runs={sink: [p.name for p in w.paths] for sink, w in writers.items()},
        rows={sink: w.rows for sink, w in writers.items()},
        records_read=records_read,
        queries_by_domain=dict(sorted(by_domain.items())),
        held_out_queries=dict(sorted(held_out_queries.items())),
        held_out_groups=sorted(held_out_groups),
        contamination_items=sorted(items),
        stats=ctx.stats.to_dict(),
    )
    result.save(spec.marker)
    return result


def _statute_row(r: Record) -> Record:
    version, number, sub, path, ordinal = r["_order"]
    row = dict(r)
    row[KEY] = f"{r['law']}\x1f{version}\x1f{number:06d}\x1f{sub:03d}\x1f{path}\x1f{ordinal:06d}"
    row[HELD_OUT] = False
    return row


def _check_records_read(plan: BuildPlan, results: list[ShardResult], opts: BuildOptions) -> None:
    """A source that yielded no record at all (every file rejected, or files of another format)
    stops the build (exit 2) unless the recipe marks it optional; a ``--limit`` sample may
    legitimately read nothing from a source and is not checked."""
    if opts.limit is not None:
        return
    read: Counter[str] = Counter()
    for r in results:
        read.update(r.records_read)
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
