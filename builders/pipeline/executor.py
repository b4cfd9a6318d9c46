"""A build, stage by stage, and the executors its shards and dedup run on.

``build()`` is the list of stages (``stages/``): plan → indexes → shards → dedup → mix → split →
write → report → leakage check → card. Each takes and returns typed values; the stages after the
shards drop rows through the release's stats and rejects (``stages/release.py``), as steps do
through ``Context.reject``.

Where the heavy stages run is the :class:`Executor`'s business: :class:`LocalExecutor` (worker
processes on this machine) or ``RayExecutor`` (``ray_executor.py``, imported only when chosen).
Both run the same ``run_shard`` and find the same duplicates, so the files are the same.

Work state lives in ``OUT/.lawset-work/`` (``work.py``): a build killed at any moment (kill -9
included) resumes to the same files as an uninterrupted one.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Protocol

from .. import __version__, console
from ..recipe import Recipe, RecipeError
from .dedup_phase import find_duplicates
from .options import BuildError, BuildOptions
from .outdir import OutputFolder
from .stages.card import Card
from .stages.dedup import Dedup, FirstOfId
from .stages.indexes import PrepareIndexes, build_eval_index_for
from .stages.leakage import LeakageCheck
from .stages.mix import Mix
from .stages.plan import BuildPlan, Plan, decontaminate_params, uses_catalog
from .stages.release import ReleaseContext
from .stages.report import Report
from .stages.shards import SINKS, Shards, ShardSpec, run_shard
from .stages.split import Split, split_of
from .stages.write import QUERY_SINKS, Write
from .work import WorkFolder


class Executor(Protocol):
    """Where shards and the dedup stage run. Same inputs, same results, on any executor."""

    #: ``local`` or ``ray`` (reported in timings.json)
    name: str
    #: shards in flight at once (a step with a global budget divides it by this)
    workers: int

    def run_shards(self, specs: list[ShardSpec], on_done: Callable[[ShardSpec], None]) -> None:
        """Run every shard; ``on_done(spec)`` after each. A failing shard stops the build: the
        shards not yet started are cancelled and its error is raised (its marker is absent, so
        a rerun redoes it)."""
        ...

    def find_duplicates(
        self, feature_files: list[Path], run_files: list[Path], recipe: Recipe
    ) -> dict[str, dict[str, Any]]:
        """id -> {"reason", "kept", "jaccard"} for every query a duplicate replaces."""
        ...

    def close(self) -> None: ...


class LocalExecutor:
    """Worker processes on this machine (one process per shard in flight)."""

    name = "local"

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def run_shards(self, specs: list[ShardSpec], on_done: Callable[[ShardSpec], None]) -> None:
        if self.workers <= 1 or len(specs) <= 1:
            for spec in specs:
                run_shard(spec)
                on_done(spec)
            return
        with ProcessPoolExecutor(
            max_workers=self.workers, initializer=_die_with_parent, initargs=(os.getpid(),)
        ) as pool:
            futures = {pool.submit(run_shard, s): s for s in specs}
            for fut in as_completed(futures):
                try:
                    fut.result()
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)  # queued shards: not started
                    raise
                on_done(futures[fut])

    def find_duplicates(
        self, feature_files: list[Path], run_files: list[Path], recipe: Recipe
    ) -> dict[str, dict[str, Any]]:
        return find_duplicates(feature_files, run_files, recipe)

    def close(self) -> None:
        pass


def open_executor(opts: BuildOptions) -> Executor:
    """The executor ``opts`` ask for. Ray is imported on its path only."""
    recipe = opts.recipe
    if opts.executor_name() == "ray":
        from .ray_executor import RayExecutor

        return RayExecutor(
            opts.ray_address or recipe.execution.ray_address,
            opts.workers,
            recipe.execution.workers,
            _rewrite_env(recipe),
        )
    return LocalExecutor(opts.workers or recipe.execution.workers)


class _Clock:
    """Wall time per stage, for ``reports/timings.json`` (kept out of the byte-identical files)."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, status: str | None = None) -> Iterator[None]:
        t = time.monotonic()
        if status is None:
            yield
        else:
            with console.phase(status):
                yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - t

    def total(self) -> float:
        return time.monotonic() - self.t0


def build(opts: BuildOptions) -> dict[str, Any]:
    """Run a whole build; returns the summary that is also written to reports/stats.json."""
    clock = _Clock()
    recipe = opts.recipe
    folder = OutputFolder(opts.out)
    folder.check()
    WorkFolder.refuse_if_busy(opts.out)  # a build may be writing there: refuse before work
    opts.check_executor()
    with clock.stage("plan", Plan.status):
        plan = Plan().run(opts)
    if folder.up_to_date(plan.fingerprint):
        return _up_to_date(opts.out)
    work = _start_work(opts, folder, plan)
    indexes = PrepareIndexes().run(opts, work)
    work.record_plan(plan.fingerprint, recipe.execution.shards)
    with closing(open_executor(opts)) as executor:
        with clock.stage("shards"):
            shards = Shards(executor).run(opts, plan, work, indexes)
        with clock.stage("dedup", Dedup.status):
            duplicates = Dedup(executor).run(shards, work, recipe)
    with clock.stage("release"):
        release = ReleaseContext.open(opts, plan, work, shards)
        mix = Mix().run(shards, recipe.mix.general_ratio)
        splits = Split().run(shards, recipe)
        filters = {sink: [FirstOfId(), duplicates, mix] for sink in QUERY_SINKS}
        written = Write(filters, splits).run(opts, plan, work, shards, release)
        release.close()
        summary = Report().run(opts, plan, work, shards, release, mix, written)
        _rewrite_client_report(opts.out, work, summary)
    with clock.stage("leakage_check", LeakageCheck.status):
        summary["leakage"] = LeakageCheck().run(opts.out, recipe)
    with clock.stage("card"):
        Card().run(opts.out, written.manifest, summary, recipe)

    summary["timings"] = _timings(clock, executor, work, indexes.cache_hits)
    folder.finish(plan.fingerprint, __version__)
    work.finish(keep=opts.keep_work)
    return summary


def _start_work(opts: BuildOptions, folder: OutputFolder, plan: BuildPlan) -> WorkFolder:
    """Lock the work folder, mark the output folder as a build in progress, and keep the
    finished shards of an interrupted build of the same plan (or start over)."""
    work = WorkFolder(opts.out)
    work.lock()
    if folder.changed(plan.fingerprint):
        console.info(
            f"{opts.out} holds a build of other sources, recipe or options: starting over (the "
            "files that build wrote are replaced; reports/validation/, plots and a release "
            "stamp, if any, are kept but describe the old build: validate again)"
        )
    folder.begin(plan.fingerprint, __version__)
    work.resume_or_start_over(plan.fingerprint, opts.recipe.execution.shards)
    return work


def _rewrite_client_report(out: Path, work: WorkFolder, summary: dict[str, Any]) -> None:
    """``reports/rewrite_client.json``: requests, cache hits, retries, tokens and wall time of
    the rewrite step. They vary between runs, so they stay out of stats.json (which stays
    byte-identical), like timings.json."""
    from ..rewrite.client import aggregate_client_reports

    client = aggregate_client_reports(work.root)
    if client:
        (out / "reports" / "rewrite_client.json").write_text(
            json.dumps(client, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        summary["rewrite_client"] = client


def _timings(
    clock: _Clock, executor: Executor, work: WorkFolder, cache_hits: dict[str, bool]
) -> dict[str, Any]:
    s = clock.seconds
    timings = {
        "plan_s": round(s["plan"], 3),
        "shards_s": round(s["shards"], 3),
        "dedup_s": round(s["dedup"], 3),
        "release_s": round(s["release"], 3),
        "leakage_check_s": round(s["leakage_check"] + s["card"], 3),
        "total_s": round(clock.total(), 3),
        "workers": executor.workers,
        "executor": executor.name,
        "resumed": work.resumed,
        "index_cache_hits": cache_hits,
    }
    (work.out / "reports" / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    return timings


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


def _die_with_parent(parent: int) -> None:
    """Worker initializer: end with the parent (kill -9 included) instead of lingering."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: workers then end when they next find the parent gone
        pass
    if os.getppid() != parent:
        os._exit(1)


__all__ = [
    "BuildError",
    "BuildOptions",
    "BuildPlan",
    "Executor",
    "LocalExecutor",
    "RecipeError",
    "SINKS",
    "build",
    "build_eval_index_for",
    "decontaminate_params",
    "open_executor",
    "split_of",
    "uses_catalog",
]
