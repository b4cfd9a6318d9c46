"""What ``lawset build`` is asked to do: its options, and the error of a build that cannot start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..recipe import Recipe

EXECUTORS = ("local", "ray")


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

    def executor_name(self) -> str:
        """``local`` or ``ray``: the option, else the recipe's ``execution.executor``."""
        return self.executor or self.recipe.execution.executor

    def check_executor(self) -> None:
        """Refuse (exit 2) an unknown executor, or a Ray address without the Ray executor."""
        if self.executor_name() not in EXECUTORS:
            raise BuildError(f"--executor {self.executor}: use local or ray")
        if self.ray_address and self.executor_name() != "ray":
            raise BuildError("--ray-address: only with --executor ray (or execution.executor: ray)")
