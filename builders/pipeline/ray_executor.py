"""The Ray executor: the shards and the dedup stage, run as Ray tasks on a cluster.

What runs where (``docs/ray.md``):

- **Driver** (the ``lawset build`` process): the plan, the statute catalog and decontamination
  index (written once into ``OUT/.lawset-work/``), the resume markers' bookkeeping, union-find over
  the confirmed duplicate pairs, and every stage after dedup (mix, split, write, leakage check,
  card). Exactly the code a local build runs.
- **Ray tasks**: one task per unfinished shard, calling the very same
  :func:`~lawset.builders.pipeline.stages.shards.run_shard` with the same
  :class:`~lawset.builders.pipeline.stages.shards.ShardSpec` (the same steps, unchanged), so a
  shard's runs, rejects, features and marker are byte for byte what a local worker writes; and
  the dedup stage's heavy parts (see :mod:`.ray_dedup`).

Decisions:

- Ray is imported here only, and this module only when ``--executor ray`` is chosen: the local
  executor never imports Ray. A missing Ray is a :class:`BuildError` naming
  ``pip install 'lawset[ray]'``.
- Without an address, a private Ray is started on this machine: ``num_cpus`` = workers, no
  dashboard, loopback only (every Ray server bound to ``127.0.0.1``, see :func:`import_ray`),
  usage stats off; it is shut down when the build ends.
  With an address, the driver joins that cluster and leaves it running.
- At most ``workers`` shards are in flight across the whole cluster (``ray.wait`` keeps the
  window full). ``ShardSpec.workers`` carries that number, so a step that shares a global budget
  (the rewrite step divides its concurrency per endpoint by ``ctx.workers``) keeps its bound on
  the cluster as a whole. On a cluster without ``--workers``, the window is the cluster's CPU
  count.
- Tasks read the sources and write the work folder by path: sources and ``--out`` must be on
  storage that every node sees at the same path (NFS, a shared volume).
- Resume is the local executor's: a marker is written (atomically) by the task when its shard is
  done; a rerun submits only the shards without a marker. ``run_shard`` clears a shard's folder
  first, so a task that Ray retries after a lost node, or a shard left half done by a killed job,
  is simply redone.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .options import BuildError
from .stages.shards import ShardResult, ShardSpec, run_shard

if TYPE_CHECKING:
    from ..recipe import Recipe

RAY_MISSING = (
    "--executor ray needs Ray, which is an optional extra: pip install 'lawset[ray]' "
    "(on every node of the cluster)"
)


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def import_ray(loopback: bool = False) -> Any:
    """The ``ray`` module, with usage statistics off; a clear error when it is not installed.

    ``loopback``: this process starts (or joins) a Ray on this machine only. On Linux Ray takes
    the machine's address even when told ``_node_ip_address="127.0.0.1"``, and its servers listen
    on every interface; ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (read when Ray is first imported,
    inherited by the processes it starts) makes it use and bind 127.0.0.1 only.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if loopback and "ray" not in sys.modules:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise BuildError(RAY_MISSING) from None
    return ray


def _run_shard_task(spec: ShardSpec) -> ShardResult:
    """Ray task: ``run_shard``, as a local worker runs it. A Ray worker is a fresh process (no fork of
    the driver), so the step registry is filled first, as ``parse_recipe`` does on the driver."""
    from .. import steps as _steps  # noqa: F401  (registers the built-in steps)

    return run_shard(spec)


def _token_available() -> bool:
    """A Ray authentication token where Ray looks for one (``ray get-auth-token``)."""
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"):
        return True
    return (Path.home() / ".ray" / "auth_token").is_file()


class RayExecutor:
    """Ray for one build: joins ``address`` or starts a private local Ray; ``workers`` is the
    number of shards (and dedup tasks) in flight."""

    name = "ray"

    def __init__(
        self,
        address: str | None,
        workers: int | None,
        default_workers: int,
        env_vars: dict[str, str] | None = None,
    ) -> None:
        host = (address or "").rsplit(":", 1)[0].strip("[]")
        if address and "RAY_AUTH_MODE" not in os.environ and _token_available():
            # Ray turns token authentication on by itself only for address=auto; a cluster
            # started with `ray start --head` (token auth on by default) needs it for any address.
            os.environ["RAY_AUTH_MODE"] = "token"
        ray = import_ray(loopback=not address or host in LOOPBACK)
        self.ray = ray
        self.started = False
        if not ray.is_initialized():
            if address:
                try:
                    ray.init(
                        address=address,
                        logging_level=logging.WARNING,
                        log_to_driver=True,
                        # remote workers do not inherit this process's environment: the rewrite
                        # server's key and credentials travel in the job's runtime env
                        runtime_env={"env_vars": env_vars} if env_vars else None,
                    )
                except (ConnectionError, RuntimeError, ValueError) as exc:
                    raise BuildError(
                        f"--ray-address {address}: cannot connect to a Ray cluster there ({exc}); "
                        "start one with `ray start --head` and pass the address it prints; a "
                        "cluster with token authentication needs its token here too (Ray reads "
                        "~/.ray/auth_token or RAY_AUTH_TOKEN)"
                    ) from None
            else:
                ray.init(
                    num_cpus=workers or default_workers,
                    include_dashboard=False,
                    _node_ip_address="127.0.0.1",
                    logging_level=logging.WARNING,
                    log_to_driver=True,
                )
            self.started = True
        local = self.started and not address
        if workers:
            self.workers = workers
        elif local:
            self.workers = default_workers
        else:  # a cluster (joined here or by the caller): as many shards as it has CPUs
            self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._run_shard = ray.remote(num_cpus=1)(_run_shard_task)

    def run_shards(self, specs: list[ShardSpec], on_done: Callable[[ShardSpec], None]) -> None:
        """Run ``specs`` as Ray tasks, at most ``workers`` at a time; ``on_done(spec)`` after each.

        A failing shard stops the build: the other tasks are cancelled and the shard's own error
        is raised (its marker is absent, so a rerun redoes it).
        """
        ray = self.ray
        queue = list(specs)
        pending: dict[Any, ShardSpec] = {}
        try:
            while queue or pending:
                while queue and len(pending) < self.workers:
                    spec = queue.pop(0)
                    pending[self._run_shard.remote(spec)] = spec
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    spec = pending.pop(ref)
                    try:
                        ray.get(ref)
                    except ray.exceptions.RayTaskError as exc:
                        raise exc.as_instanceof_cause() from None
                    on_done(spec)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def find_duplicates(
        self, feature_files: list[Path], run_files: list[Path], recipe: Recipe
    ) -> dict[str, dict[str, Any]]:
        """The dedup stage on Ray: the same drops as ``dedup_phase.find_duplicates``."""
        from .ray_dedup import find_duplicates_ray

        return find_duplicates_ray(feature_files, run_files, recipe, parallelism=self.workers)

    def close(self) -> None:
        """Shut down the private Ray this session started, or disconnect from the cluster it
        joined (the cluster keeps running); a Ray the caller initialized is left alone."""
        if self.started and self.ray.is_initialized():
            self.ray.shutdown()
        self.started = False
