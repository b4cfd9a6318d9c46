"""The work folder ``OUT/.lawset-work/``: what makes a killed build resume.

It holds ``plan.json`` (the plan's fingerprint and the shard count), one folder of sorted runs,
rejects and dedup features per shard, one completion marker per finished shard
(``markers/NNNNN.json``, written last and atomically), the indexes the shards read and a lock. A
rerun with the same fingerprint and shard count skips every shard with a marker and redoes the
others from scratch, so a build killed at any moment (kill -9 included) finishes with the same
files as an uninterrupted one; any other rerun starts over. The folder is removed after a
successful build unless ``--keep-work``.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import IO

from .. import console
from .options import BuildError

WORK = ".lawset-work"


#: the layout of the shards' runs and markers: a work folder of another layout (left by an
#: older lawset) is never resumed, its shards are redone
WORK_FORMAT = 2


class WorkFolder:
    """The work state of one output folder, and its lock (one build per output folder)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.root = out / WORK
        #: True when this build goes on from an interrupted one with the same plan
        self.resumed = False
        self._lock: IO[str] | None = None

    @classmethod
    def refuse_if_busy(cls, out: Path) -> None:
        """Refuse before any work when another build holds the folder's lock."""
        if (out / WORK / "lock").exists():
            probe = cls(out)
            probe.lock()
            probe.unlock()

    def lock(self) -> None:
        """Take the folder's lock. Worker processes inherit it, so a rerun cannot start while
        workers of a killed build are still writing."""
        self.root.mkdir(parents=True, exist_ok=True)
        f = open(self.root / "lock", "w")  # noqa: SIM115 - the lock lives as long as the file
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise BuildError(
                f"--out {self.out}: another lawset build is writing there; wait for it to finish"
            ) from None
        self._lock = f

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def resume_or_start_over(self, fingerprint: str, shards: int) -> bool:
        """Keep the finished shards of an interrupted build of the same plan; otherwise clear
        them. Returns whether this build resumes."""
        plan_file = self.root / "plan.json"
        self.resumed = False
        if plan_file.exists():
            old = json.loads(plan_file.read_text("utf-8"))
            if (
                old.get("fingerprint") == fingerprint
                and old.get("shards") == shards
                and old.get("format") == WORK_FORMAT
            ):
                self.resumed = True
            else:
                console.info(
                    "sources, recipe or options changed since the interrupted build: starting over"
                )
        if not self.resumed:
            for old_state in ("shards", "markers"):
                shutil.rmtree(self.root / old_state, ignore_errors=True)
        (self.root / "markers").mkdir(parents=True, exist_ok=True)
        return self.resumed

    def record_plan(self, fingerprint: str, shards: int) -> None:
        """Write ``plan.json``: from now on a rerun of the same plan resumes."""
        plan_file = self.root / "plan.json"
        tmp = plan_file.with_suffix(".tmp")
        plan = {"fingerprint": fingerprint, "shards": shards, "format": WORK_FORMAT}
        tmp.write_text(json.dumps(plan))
        os.replace(tmp, plan_file)

    def shard_folder(self, shard: int) -> Path:
        return self.root / "shards" / f"{shard:05d}"

    def marker(self, shard: int) -> Path:
        """The completion marker of a shard: present only once the shard is done."""
        return self.root / "markers" / f"{shard:05d}.json"

    def finish(self, keep: bool) -> None:
        """Release the lock; remove the work state unless ``keep`` (``--keep-work``)."""
        self.unlock()
        if not keep:
            shutil.rmtree(self.root)
